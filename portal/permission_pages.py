"""権限設定 (SB-1..SB-8): the list, 副ID 新規登録 and 副ID 情報変更, each with 副ID 設定内容確認
and 「ログインユーザ情報変更を完了しました。」. The download plan shows neither 所属組織 nor
操作権限設定 (SB-6): the fields come from the application's own table for the plan."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from application import screens
from application.outcomes import Completed, Confirmation, Form, Session, TopPage
from domain.accounts import SubID
from domain.fields import Field, FieldError, InvalidInput
from domain.forms import PERMISSIONS
from portal.confirm_pages import (
    FormLink,
    confirmation_page,
    confirmed,
    done_page,
    form_again,
    submitted,
)
from portal.fields import unplaced, views
from portal.web import member, members_only, portal, render, run

TITLES = {True: "副ID 新規登録", False: "副ID 情報変更"}

NEW_URL = "/permission-settings/new"  # 副ID 新規登録
CHANGE_OK = "/permission-settings/change/ok"  # 副ID 情報変更's 「OK」


def _change_url(login_id: str) -> str:
    """A sub ID's 情報変更."""
    return f"/permission-settings/sub-ids/{quote(login_id)}"


@members_only
async def permission_settings(request: Request, session: Session, top: TopPage) -> Response:
    """SB-4: the registered sub IDs, 新規追加 and 変更."""
    sub_ids = await run(portal(request).station.permission_settings, session)
    return render(request, "permission_settings.html", {"sub_ids": sub_ids},
                  session=session, top=top)


async def _form(request: Request, session: Session, top: TopPage, login_id: str | None,
                values: dict[str, str], errors: list[FieldError],
                status_code: int = 200, retype: Collection[str] = (),
                fields: Mapping[str, Field] | None = None) -> Response:
    """The 副ID form; its ``fields`` read for it unless the caller read them already."""
    new = login_id is None
    if fields is None:
        fields = await run(portal(request).station.sub_id_fields, session, new)
    permissions = {k: f for k, f in fields.items() if k in PERMISSIONS}
    others = {k: f for k, f in fields.items() if k not in PERMISSIONS}
    return render(request, "sub_id.html", {
        "title": TITLES[new], "login_id": login_id,
        "action": NEW_URL if login_id is None else _change_url(login_id),
        "fields": views(others, values, errors, retype),
        "permissions": views(permissions, values, errors),
        "unplaced": unplaced(fields, errors), "error_count": len(errors),
    }, status_code=status_code, session=session, top=top)


@members_only
async def new_sub_id(request: Request, session: Session, top: TopPage) -> Response:
    """副ID 新規登録; as its last 「確認」 left it, when asked (form_again)."""
    values, errors, retype = form_again(request, NEW_URL)
    return await _form(request, session, top, None, values, errors, 200, retype)


@members_only
async def confirm_new(request: Request, session: Session, top: TopPage) -> Response:
    station = portal(request).station
    return await confirmed(
        request, session, top, functools.partial(_form, request, session, top, None),
        functools.partial(station.confirm_new_sub_id, session), NEW_URL, f"{NEW_URL}/ok")


@members_only
async def confirmation_new(request: Request, session: Session, top: TopPage) -> Response:
    """副ID 新規登録's 確認, where its 「確認」 redirects."""
    return await confirmation_page(request, session, top, Form.SUB_ID,
                                   f"{NEW_URL}/ok", NEW_URL, new=True)


@members_only
async def sub_id(request: Request, session: Session, top: TopPage) -> Response:
    """A sub ID's 情報変更; as its last 「確認」 left it, when asked (form_again)."""
    login_id = request.path_params["login_id"]
    try:
        screen = await run(portal(request).station.sub_id_information, session, login_id)
    except InvalidInput as e:  # not a sub ID of this customer
        return render(request, "error.html", {"message": e.errors[0].message},
                      status_code=404, session=session, top=top)
    values, errors, retype = form_again(request, _change_url(login_id))
    return await _form(request, session, top, login_id, dict(screen.values) | values, errors,
                       200, retype, screen.fields)


@members_only
async def confirm_change(request: Request, session: Session, top: TopPage) -> Response:
    login_id, station = request.path_params["login_id"], portal(request).station
    return await confirmed(
        request, session, top, functools.partial(_form, request, session, top, login_id),
        functools.partial(station.confirm_sub_id_change, session, login_id),
        _change_url(login_id), CHANGE_OK, login_id)


@members_only
async def confirmation_change(request: Request, session: Session, top: TopPage) -> Response:
    """A sub ID's 情報変更 確認, where its 「確認」 redirects."""
    login_id = request.path_params["login_id"]
    return await confirmation_page(request, session, top, Form.SUB_ID,
                                   CHANGE_OK, _change_url(login_id),
                                   new=False, login_id=login_id)


def _form_link(request: Request, new: bool) -> FormLink:
    """The form a sub ID's confirmation came from: 新規登録, or 情報変更 of its sub ID."""
    def link(confirmation: Confirmation) -> tuple[str, str]:
        if new:
            return NEW_URL, f"{TITLES[new]}へ"
        login_id = portal(request).station.get(confirmation.target_id, SubID).login_id
        return _change_url(login_id), f"{TITLES[new]}へ"
    return link


def _submit(new: bool) -> Callable[[Request], Any]:
    async def ok(request: Request, session: Session, top: TopPage) -> Response:
        station = portal(request).station
        apply = station.submit_new_sub_id if new else station.submit_sub_id_change
        return await submitted(request, session, top, Form.SUB_ID, apply,
                               "/permission-settings/done", _form_link(request, new),
                               new=new, form_page=(
                                   functools.partial(_form, request, session, top, None)
                                   if new else None))

    ok.__name__ = f"submit_{'new' if new else 'change'}"
    return members_only(ok)


@members_only
async def done(request: Request, session: Session, top: TopPage) -> Response:
    """「ログインユーザ情報変更を完了しました。」, where OK redirects; back to 権限設定."""
    return done_page(request, session, top, Form.SUB_ID, screens.COMPLETED[Completed.SUB_ID],
                     ("/permission-settings", "権限設定へ戻る"))


async def help_sub_ids(request: Request) -> Response:
    """「副ID 新規登録 ヘルプ」 (SB-1, SB-3, SB-6, SB-7), opened beside the form (its input
    stays): the manual's own sentences on sub IDs and their notify key, for anyone; a
    logged-in main ID keeps the session's header and is offered the form (a sub ID, the
    top page)."""
    session, top = await member(request) or (None, None)
    return render(request, "help_sub_ids.html",
                  {"main_id_only": screens.MAIN_ID_ONLY_PERMISSIONS}, session=session, top=top)


ROUTES = [
    Route("/permission-settings", permission_settings),
    Route("/permission-settings/new", new_sub_id),
    Route("/permission-settings/new", confirm_new, methods=["POST"]),
    Route("/permission-settings/new/confirm", confirmation_new),
    Route("/permission-settings/new/ok", _submit(True), methods=["POST"]),
    Route(CHANGE_OK, _submit(False), methods=["POST"]),
    Route("/permission-settings/done", done),
    Route("/permission-settings/sub-ids/{login_id}", sub_id),
    Route("/permission-settings/sub-ids/{login_id}", confirm_change, methods=["POST"]),
    Route("/permission-settings/sub-ids/{login_id}/confirm", confirmation_change),
    Route("/help/sub-ids", help_sub_ids),
]
