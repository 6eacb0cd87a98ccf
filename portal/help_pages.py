"""The help pages (LG-8, D-10, D-12, D-14): whom to contact, a key mail that does not come,
the notes on keys and sessions; for anyone, a logged-in reader keeping the session's
header."""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from application import screens
from application.japan_time import span
from domain.login_attempt import LoginAttempt
from domain.portal_sessions import IDLE_TIMEOUT
from portal.login_pages import signed_attempt
from portal.web import member, portal, render, run


async def help_forgot(request: Request) -> Response:
    """The login screen's help: whom to contact (LG-8's people: the manual names no other).
    A logged-in reader, as on every help page, keeps the session's header and is led back
    to the top page (the login form would only send it there)."""
    session, top = await member(request) or (None, None)
    return render(request, "help_forgot.html", {
        "operator": screens.OPERATOR, "main_id_person": screens.MAIN_ID_PERSON},
        session=session, top=top)


async def help_key_mail(request: Request) -> Response:
    """「通知キーのメールが届かない場合」 (LG-8): reached from a 通知キー照合 screen, the contact
    for the login ID of that pending attempt; else both."""
    session, top = await member(request) or (None, None)
    return render(request, "help_key_mail.html", {
        "operator": screens.OPERATOR, "main_id_person": screens.MAIN_ID_PERSON,
        "key_not_received": screens.KEY_NOT_RECEIVED,
        "contact": await _attempt_contact(request)}, session=session, top=top)


async def _attempt_contact(request: Request) -> str | None:
    """screens.contact for the login ID of this browser's signed attempt, if there is one."""
    attempt = signed_attempt(request)
    if attempt is None:
        return None
    station = portal(request).station
    found = await run(station.find, UUID(attempt), LoginAttempt)
    if found is None or found.account_id is None:
        return None
    return screens.contact(await run(station.key_mail_contact, found.login_id))


async def help_notes(request: Request) -> Response:
    """The notes on keys and sessions, for anyone; a logged-in reader keeps the session's
    header and menu, and is led back to the top page, not to a login form."""
    policy = portal(request).station.policy
    session, top = await member(request) or (None, None)
    return render(request, "help_notes.html", {
        "policy": policy, "spans": {  # LG-5, D-10: as a person reads a span
            "key_valid": span(policy.validity.total_seconds()),
            "key_window": span(policy.key_window.total_seconds())},
        "sessions": {  # D-14, D-12: as enforced
            "failure_window": span(policy.address_window.total_seconds()),
            "failure_limit": policy.address_failure_limit,
            "idle_minutes": int(IDLE_TIMEOUT.total_seconds() // 60)}},
        session=session, top=top)


ROUTES = [
    Route("/help/forgot", help_forgot),
    Route("/help/key-mail", help_key_mail),
    Route("/help/notes", help_notes),
]
