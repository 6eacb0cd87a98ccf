"""What every page needs: the station, signatures, templates, and who is logged in. The
application's calls block (scrypt, the store), so they run in a pool of threads."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from application import screens
from application.billing_station import BillingStation
from application.outcomes import Session, TopPage
from application.portal_sessions import Member
from portal.config import PortalConfig
from portal.cookies import cookie, drop_cookie, set_cookie, set_cookie_header
from portal.menu import TOP, current, menu_for
from portal.security import (
    BROWSER_COOKIE,
    SEEN_COOKIE,
    SESSION_COOKIE,
    Signer,
    new_browser_value,
)

T = TypeVar("T")
log = logging.getLogger("portal")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# Templates are part of the release, not edited while it serves: no stat() of each template
# (and of the one it extends) at every page to see whether it changed.
TEMPLATES.env.auto_reload = False
STATIC = str(Path(__file__).parent / "static")


class Portal:
    """The portal's collaborators, kept on the Starlette app's state."""

    def __init__(self, station: BillingStation, config: PortalConfig):
        self.station, self.config, self.signer = station, config, Signer(config.secret)


def portal(request: Request) -> Portal:
    found: Portal = request.app.state.portal
    return found


DEADLINE: ContextVar[float] = ContextVar("DEADLINE", default=8.0)
REQUEST_THREADS = 40  # (as many as Starlette's own threadpool allows)


async def run(function: Callable[..., T], *args: Any) -> T:
    """``function`` in a worker thread; past the request's deadline (PortalConfig's) the
    request stops waiting with TimeoutError (a 503 page). The thread is left to finish:
    what it commits is whole (one transaction per save), and the store library's own
    retries end it when the store stays away. (asyncio's executor, of its own threads,
    not anyio's thread runner, which Starlette keeps for its static files: a third of the
    CPU on the event loop, which every request shares with the digests' cores.)"""
    call = functools.partial(contextvars.copy_context().run, function, *args)
    async with asyncio.timeout(DEADLINE.get()):
        return await asyncio.get_running_loop().run_in_executor(_threads(), call)


@functools.cache
def _threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(REQUEST_THREADS, "request")


def binding(request: Request) -> str | None:
    """What a form's CSRF token is bound to: the session, or before login the browser."""
    return cookie(request, SESSION_COOKIE) or cookie(request, BROWSER_COOKIE)


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status_code: int = 200, session: Session | None = None,
           top: TopPage | None = None) -> Response:
    """A page; a browser without its random binding cookie (CSRF before login, and the
    login attempt's signature) gets one."""
    browser = cookie(request, BROWSER_COOKIE)
    fresh = None if browser else new_browser_value()
    bound = cookie(request, SESSION_COOKIE) or browser or fresh or ""
    menu = menu_for(session) if session else None
    values = {"csrf": portal(request).signer.csrf(bound), "session": session,
              "header": screens.header(top) if top else None, "menu": menu,
              "current": current(request.scope["path"], menu) if menu else None, "top_url": TOP,
              "dev_mailbox": portal(request).config.dev_mailbox is not None}
    response = TEMPLATES.TemplateResponse(request, template, values | (context or {}),
                                          status_code=status_code)
    if fresh:
        set_cookie(request, response, BROWSER_COOKIE, fresh)
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def member(request: Request) -> tuple[Session, TopPage] | None:
    """The logged-in session (read from the store: who, and main or sub ID) and the
    header's values; None when there is none, it ended, or it idled out (D-12, SC-4). A
    live one is kept on ``request.state.member`` for ``seen_cookie``."""
    token = cookie(request, SESSION_COOKIE)
    if not token:
        return None
    vouched = portal(request).signer.seen_of(cookie(request, SEEN_COOKIE), token)
    found = await run(portal(request).station.member, token, vouched)
    if found is None:
        return None
    request.state.member = found
    return found.session, found.top


def seen_cookie(request: Request) -> bytes | None:
    """D-12: a response to a live session's request carries that request's instant, signed
    for the session, instead of the store recording every request: the next request brings
    it back, and its idle time runs from there. The Set-Cookie header's value, or None
    when this request found no live session (``member``). Guard adds it to every answer:
    a page, a redirect, an error page."""
    found: Member | None = getattr(request.state, "member", None)
    token = cookie(request, SESSION_COOKIE)
    if found is None or not token:
        return None
    return set_cookie_header(request, SEEN_COOKIE,
                             portal(request).signer.seen(found.seen_at, token)).encode("latin-1")


def to_login(request: Request) -> Response:
    """SC-4: the login screen, saying why when the browser had a session that is gone (D-12:
    ended, idled out) or posts a member's form with none (another tab's ログアウト dropped
    its cookie): what the person was doing is lost, and a bare login screen said nothing."""
    ended = bool(cookie(request, SESSION_COOKIE)) or request.method == "POST"
    response = redirect("/login?ended=1" if ended else "/login")
    drop_cookie(request, response, SESSION_COOKIE)
    drop_cookie(request, response, SEEN_COOKIE)
    return response


async def checked_form(request: Request) -> dict[str, str] | None:
    """The posted form without its CSRF token, or None if the token is not right (D-13)."""
    form = await request.form()
    values = {k: _unicode(v) for k, v in form.items() if isinstance(v, str)}
    token = values.pop("csrf", None)
    return values if portal(request).signer.csrf_ok(binding(request), token) else None


def _unicode(value: str) -> str:
    """A value as Unicode text: one decoded by a charset the client named may hold lone
    surrogates (no text typed does), each made U+FFFD, as an undecodable byte is."""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


MemberPage = Callable[[Request, Session, TopPage], Any]


def members_only(page: MemberPage) -> Callable[[Request], Any]:
    """A page behind the login: without a live session it shows the login screen (SC-4)."""

    async def endpoint(request: Request) -> Response:
        found = await member(request)
        if found is None:
            return to_login(request)
        response: Response = await page(request, *found)
        return response

    endpoint.__name__ = page.__name__
    return endpoint
