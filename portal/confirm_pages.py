"""The 確認 screen and its 「OK」 (CI-4, SB-8): the confirmation goes to the browser sealed
(encrypted and authenticated) and bound to the session, so OK applies exactly what was
shown, in this session only, and the browser reads nothing of it (no password's digest).
Each step answers a POST with a redirect (Post/Redirect/Get): 確認 and 完了 are pages the
browser can reload and go back to without sending a form again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Protocol
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from application import screens
from application.outcomes import (
    Completed,
    Confirmation,
    Form,
    Refusal,
    Refused,
    Session,
    TopPage,
)
from domain import clock
from domain.fields import FieldError, InvalidInput
from domain.forms import SECRET_FIELDS
from domain.portal_sessions import IDLE_TIMEOUT
from portal.cookies import cookie, drop_cookie, set_cookie
from portal.security import SHOWN_COOKIE, Shown
from portal.web import binding, checked_form, portal, redirect, render, run


def refused_form(request: Request, session: Session | None = None,
                 top: TopPage | None = None) -> Response:
    """D-13: a form without the right token changes nothing."""
    return render(request, "error.html", {
        "message": "画面の有効期限が切れました。もう一度操作してください。"},
        status_code=403, session=session, top=top)


BACK = "back"  # 「戻る」 on 確認: the form's URL with it, what 確認 accepted again
ERRORS = "errors"  # 「確認」 refused: the form's URL with it, the input and its errors
SHOWN_MAX_AGE = IDLE_TIMEOUT  # a 確認 screen lives as its session may
COOKIE_ROOM = 3900  # bytes of a cookie's value a browser keeps (4,096 with its name, flags)


def _without_secrets(values: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The values but the passwords, and the names of the passwords given (a page shows
    the one, and asks for the others again)."""
    return ({k: v for k, v in values.items() if k not in SECRET_FIELDS},
            [k for k, v in values.items() if k in SECRET_FIELDS and v])


class FormPage(Protocol):
    """A form's page again: with these values and errors, at this status, asking again for
    the passwords ``retype`` names."""

    def __call__(self, values: dict[str, str], errors: list[FieldError], status_code: int,
                 retype: Collection[str] = ..., /) -> Awaitable[Response]: ...


async def confirmed(request: Request, session: Session, top: TopPage, form_page: FormPage,
                    confirm: Callable[[dict[str, str]], Confirmation], back: str,
                    action: str, login_id: str | None = None) -> Response:
    """「確認」 on the form at ``back`` answers with a redirect (Post/Redirect/Get): to its
    確認 screen (``back``/confirm), or to the form again with every error beside its field
    (``back``?errors; CI-4, SB-8). A cookie sealed for the session carries the screen
    there, or the errors and the input typed (never a password); 確認's 「戻る」 refills the
    form from its checked values. One cookie serves a browser's tabs: a 確認 made in one
    replaces another's, though each OK already shown applies exactly what it shows. What
    would not fit a cookie (input padded far past the fields' lengths) is the POST's own
    answer, as before: the form with its errors (422), or the 確認 screen."""
    form = await checked_form(request)
    if form is None:
        return refused_form(request, session, top)
    typed, secrets = _without_secrets(form)
    try:
        confirmation = await run(confirm, form)
    except InvalidInput as e:
        carried = _carried(request, Shown(back, typed, tuple(secrets), errors=tuple(e.errors)),
                           f"{back}?{ERRORS}")
        return carried or await form_page(form, e.errors, 422, secrets)
    carried = _carried(request, Shown(back, {}, tuple(secrets), confirmation),
                       f"{back}/confirm")
    return carried or _screen(request, session, top, confirmation, action, back, login_id)


def _carried(request: Request, shown: Shown, url: str) -> Response | None:
    """A redirect to ``url`` with ``shown`` in its cookie; None if it would not fit."""
    sealed = portal(request).signer.shown(shown, binding(request) or "", clock.now())
    if len(sealed) > COOKIE_ROOM:
        return None
    response = redirect(url)
    set_cookie(request, response, SHOWN_COOKIE, sealed, max_age=SHOWN_MAX_AGE)
    return response


def form_again(request: Request, url: str) -> tuple[dict[str, str], list[FieldError],
                                                     frozenset[str]]:
    """The form at ``url`` as its last 「確認」 left it: after 「戻る」 on its 確認
    (``?back``) the values it accepted; refused (``?errors``) the input and its errors;
    each password typed to be asked for again (they are not kept). Else nothing."""
    asked = request.query_params
    shown = _shown(request, url) if BACK in asked or ERRORS in asked else None
    if shown is None:
        return {}, [], frozenset()
    typed = (_without_secrets(shown.confirmation.values)[0] if shown.confirmation
             else shown.typed)  # (what 確認 accepted, or what was typed and refused)
    return (typed, list(shown.errors) if ERRORS in asked else [],
            frozenset(shown.retype) & SECRET_FIELDS)


def _shown(request: Request, url: str) -> Shown | None:
    """What the last 「確認」 of the form at ``url`` answered, sealed for this session."""
    shown = portal(request).signer.shown_of(cookie(request, SHOWN_COOKIE), binding(request),
                                            clock.now(), SHOWN_MAX_AGE)
    return shown if shown is not None and shown.url == url else None


# Whose screens they are: a sub ID's session is refused on them (CI-1, SB-2)
MAIN_ID_ONLY = {Form.CUSTOMER_INFORMATION: Refusal.MAIN_ID_ONLY_INFORMATION,
                Form.SUB_ID: Refusal.MAIN_ID_ONLY_PERMISSIONS}


async def confirmation_page(request: Request, session: Session, top: TopPage, kind: Form,
                            action: str, back: str, new: bool | None = None,
                            login_id: str | None = None) -> Response:
    """The 確認 screen a 「確認」 redirected to, reloadable, and where the browser's back
    button returns from 完了: its 「OK」 posts the confirmation to ``action``, its 「戻る」
    goes to the form at ``back``. Without a 確認 of that form sealed for this session (its
    OK done, or none made here), the form itself."""
    await run(portal(request).station.main_id, session.account_id, MAIN_ID_ONLY[kind])
    shown = _shown(request, back)
    if shown is None or shown.confirmation is None or not _of(shown.confirmation, kind, new):
        return redirect(back)
    return _screen(request, session, top, shown.confirmation, action, back, login_id)


def _screen(request: Request, session: Session, top: TopPage, confirmation: Confirmation,
            action: str, back: str, login_id: str | None) -> Response:
    signed = portal(request).signer.confirmation(confirmation, binding(request) or "")
    return render(request, "confirm.html", {
        "title": screens.title(confirmation),
        "lines": screens.confirmation_lines(confirmation), "confirmation": signed,
        "action": action, "back": back, "back_name": BACK, "login_id": login_id,
    }, session=session, top=top)


def _of(confirmation: Confirmation, kind: Form, new: bool | None) -> bool:
    """A confirmation of ``kind``; ``new`` tells a 新規登録 one (it has a login ID) from a
    情報変更 one."""
    return confirmation.form is kind and (
        new is None or ("login_id" in confirmation.values) is new)


def done_token(request: Request, kind: Form) -> str:
    """What a 完了 page's URL carries: this form's completion, signed for this session, so
    the page can be reloaded (Post/Redirect/Get) and never says so for nothing."""
    return portal(request).signer.sign("done", kind.name, binding(request) or "")


def done_ok(request: Request, kind: Form) -> bool:
    return portal(request).signer.unsign(
        "done", request.query_params.get("done"), binding(request)) == kind.name


# Where a confirmation's form is shown again, and the link's words: (URL, label)
FormLink = Callable[[Confirmation], tuple[str, str]]


async def submitted(request: Request, session: Session, top: TopPage, kind: Form,
                    apply: Callable[[Session, Confirmation], Completed], done_url: str,
                    again: FormLink, new: bool | None = None,
                    form_page: FormPage | None = None) -> Response:
    """「OK」 (``new``: as ``_of`` says). What 確認 accepted may no longer hold at OK (a
    login ID another customer took since): its form again with the errors (passwords to
    type again), or, for a form that cannot be shown without what it changes, a page of the
    errors; nothing is recorded. Another change since 確認: the conflict's page, with a link
    to the form ``again`` (its message asks to show it again)."""
    form = await checked_form(request)
    confirmation = form and portal(request).signer.confirmation_of(
        form.get("confirmation"), binding(request))
    if not confirmation or not _of(confirmation, kind, new):
        return refused_form(request, session, top)
    response = await _applied(request, session, top, kind, apply, confirmation, done_url,
                              again, form_page)
    drop_cookie(request, response, SHOWN_COOKIE)  # (done or refused: back shows the form)
    return response


async def _applied(request: Request, session: Session, top: TopPage, kind: Form,
                   apply: Callable[[Session, Confirmation], Completed],
                   confirmation: Confirmation, done_url: str, again: FormLink,
                   form_page: FormPage | None) -> Response:
    try:
        await run(apply, session, confirmation)
    except Refused as e:
        if e.refusal is not Refusal.CONFLICT:
            raise
        return render(request, "error.html", {
            "message": screens.REFUSALS[e.refusal], "again": await run(again, confirmation)},
            status_code=409, session=session, top=top)
    except InvalidInput as e:
        if form_page is None:
            return render(request, "error.html", {
                "message": " ".join(error.message for error in e.errors)},
                status_code=422, session=session, top=top)
        kept, secrets = _without_secrets(confirmation.values)
        return await form_page(kept, e.errors, 422, secrets)
    return redirect(f"{done_url}?{urlencode({'done': done_token(request, kind)})}")


def done_page(request: Request, session: Session, top: TopPage, kind: Form, message: str,
              back: tuple[str, str]) -> Response:
    """The 完了 page an OK redirects to; a URL not signed for this session's OK goes to
    ``back`` (its form or list) instead of saying something was done."""
    if not done_ok(request, kind):
        return redirect(back[0])
    return render(request, "done.html", {"message": message, "back": back},
                  session=session, top=top)
