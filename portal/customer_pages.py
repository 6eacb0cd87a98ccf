"""お客様情報変更 → お客様情報変更確認 → 「お客様情報変更を完了しました。」 (CI-1..CI-5)."""

from __future__ import annotations

import functools
from collections.abc import Collection

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from application import screens
from application.outcomes import Completed, Form, Session, TopPage
from domain.fields import FieldError
from portal.confirm_pages import (
    confirmation_page,
    confirmed,
    done_page,
    form_again,
    submitted,
)
from portal.fields import unplaced, views
from portal.web import members_only, portal, render, run

SHOWN = ("BSお客様番号", "会社名", "会社名フリガナ")  # shown, not editable (CI-2)
FORM_URL = "/customer-information"
FORM_LINK = (FORM_URL, "お客様情報変更へ")


async def _form(request: Request, session: Session, top: TopPage, values: dict[str, str],
                errors: list[FieldError], status_code: int = 200,
                retype: Collection[str] = ()) -> Response:
    screen = await run(portal(request).station.customer_information, session)
    return render(request, "customer_information.html", {
        "shown": [(label, screen.shown[label]) for label in SHOWN],
        "plan": screen.shown["BS基本サービス"],
        "fields": views(screen.fields, dict(screen.values) | values, errors, retype),
        "unplaced": unplaced(screen.fields, errors),
        "error_count": len(errors),
    }, status_code=status_code, session=session, top=top)


@members_only
async def customer_information(request: Request, session: Session, top: TopPage) -> Response:
    """The form; as its last 「確認」 left it, when asked (form_again)."""
    values, errors, retype = form_again(request, FORM_URL)
    return await _form(request, session, top, values, errors, 200, retype)


@members_only
async def confirm(request: Request, session: Session, top: TopPage) -> Response:
    station = portal(request).station
    return await confirmed(
        request, session, top, functools.partial(_form, request, session, top),
        functools.partial(station.confirm_customer_information, session), FORM_URL,
        f"{FORM_URL}/ok")


@members_only
async def confirmation(request: Request, session: Session, top: TopPage) -> Response:
    """お客様情報変更確認, where 「確認」 redirects."""
    return await confirmation_page(request, session, top, Form.CUSTOMER_INFORMATION,
                                   f"{FORM_URL}/ok", FORM_URL)


@members_only
async def submit(request: Request, session: Session, top: TopPage) -> Response:
    """「OK」: applies exactly what was confirmed."""
    return await submitted(request, session, top, Form.CUSTOMER_INFORMATION,
                           portal(request).station.submit_customer_information,
                           "/customer-information/done", lambda _: FORM_LINK,
                           form_page=functools.partial(_form, request, session, top))


@members_only
async def done(request: Request, session: Session, top: TopPage) -> Response:
    """「お客様情報変更を完了しました。」, where OK redirects (a reload shows it again)."""
    return done_page(request, session, top, Form.CUSTOMER_INFORMATION,
                     screens.COMPLETED[Completed.CUSTOMER_INFORMATION],
                     FORM_LINK)


ROUTES = [
    Route("/customer-information", customer_information),
    Route("/customer-information", confirm, methods=["POST"]),
    Route("/customer-information/confirm", confirmation),
    Route("/customer-information/ok", submit, methods=["POST"]),
    Route("/customer-information/done", done),
]
