"""The 確認 screen and its 「OK」 (CI-4, SB-8): the confirmation goes to the browser signed
and bound to the session, so OK applies exactly what was shown, in this session only."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from application import screens
from application.outcomes import Completed, Confirmation, Form, Session, TopPage
from portal.web import binding, checked_form, portal, render, run


def refused_form(request: Request, session: Session | None = None,
                 top: TopPage | None = None) -> Response:
    """D-13: a form without the right token changes nothing."""
    return render(request, "error.html", {
        "message": "画面の有効期限が切れました。もう一度操作してください。"},
        status_code=403, session=session, top=top)


def confirmation_page(request: Request, session: Session, top: TopPage,
                      confirmation: Confirmation, action: str, back: str) -> Response:
    signed = portal(request).signer.confirmation(confirmation, binding(request) or "")
    return render(request, "confirm.html", {
        "title": screens.title(confirmation), "lines": screens.confirmation_lines(confirmation),
        "confirmation": signed, "action": action, "back": back,
    }, session=session, top=top)


async def submitted(request: Request, session: Session, top: TopPage, kind: Form,
                    apply: Callable[[Session, Confirmation], Completed], done: str,
                    new: bool | None = None) -> Response:
    """「OK」; ``new`` tells a 新規登録 confirmation (it has a login ID) from a 情報変更 one."""
    form = await checked_form(request)
    confirmation = form and portal(request).signer.confirmation_of(
        form.get("confirmation"), binding(request))
    if not confirmation or confirmation.form is not kind or (
            new is not None and ("login_id" in confirmation.values) is not new):
        return refused_form(request, session, top)
    await run(apply, session, confirmation)
    return render(request, "done.html", {"message": done}, session=session, top=top)
