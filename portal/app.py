"""The portal as an ASGI app: the pages, Japanese error pages (never a traceback), and the
headers every response carries (no caching anywhere, so no key page is ever cached: D-15).
A store that cannot be reached is a 503 page (the store's transaction either committed
whole or not at all); a body over ``MAX_BODY`` is a 413 page, never read whole."""

from __future__ import annotations

import logging
import sqlite3

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application import screens
from application.billing_station import BillingStation
from application.outcomes import Refusal, Refused
from portal import mailbox_pages
from portal.access_log import logged_path
from portal.config import PortalConfig
from portal.cookies import cookie_name, https
from portal.pages import PAGES
from portal.security import SEEN_COOKIE
from portal.web import DEADLINE, STATIC, Portal, member, render, seen_cookie

log = logging.getLogger("portal")

HEADERS = {
    "Cache-Control": "no-store",  # D-15, and nothing of a session is worth caching
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # No inline script, no plugin, no framing, forms only to ourselves.
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; object-src 'none'; "
                                "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
}
HSTS = (b"strict-transport-security", b"max-age=31536000")  # behind HTTPS: a year of it only
HTTP_ERRORS = {
    400: "リクエストの形式が正しくありません。",
    404: "ページが見つかりません。",
    405: "この操作はできません。",
    413: "送信された内容が大きすぎます。",
}
UNAVAILABLE = ("ただいまサービスをご利用いただけません。しばらく時間をおいてから再度お試しください。"
               "（処理は行われていないか、完了しています。）")
SERVER_ERROR = "システムエラーが発生しました。しばらく時間をおいてから再度お試しください。"
MAX_BODY = 64 * 1024  # the largest form (副ID 新規登録) is a few kB
RETRY_AFTER = "5"


class BodyTooLarge(Exception):
    """A request body past MAX_BODY, found while it was being read."""


def store_unavailable(exc: BaseException) -> bool:
    """The store's server is down or restarting, a SQLite file is locked too long, or no
    answer came within the request's deadline: what was committed is whole (one
    transaction a save), so the request may be tried again."""
    chain: BaseException | None = exc
    while chain is not None:
        if isinstance(chain, TimeoutError | OperationalError | InterfaceError | psycopg.OperationalError
                      | psycopg.InterfaceError | sqlite3.OperationalError):
            return True
        chain = chain.__cause__ or chain.__context__
    return False


class Guard:
    """The outermost layer of the app (inside Starlette's last-resort handler, which it
    never lets reach): every response gets HEADERS, and a live session's answer its signed
    last request (D-12); a body is refused past MAX_BODY; any exception becomes a Japanese
    page (503 when the store is unavailable, else 500) and one log line naming its type
    and the page as the access log names it, never a traceback nor a value from the request
    (a client gone mid-body: an info line, and no page)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        scope.setdefault("state", {})  # before anything copies the scope: one request.state

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = message.get("headers", [])
                present = {k.lower() for k, _ in headers}
                message["headers"] = [*headers, *(
                    (k.lower().encode(), v.encode()) for k, v in HEADERS.items()
                    if k.lower().encode() not in present), *_seen(request, headers),
                    *([HSTS] if https(request) else [])]
            await send(message)

        request = Request(scope)
        DEADLINE.set(request.app.state.portal.config.deadline)
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            await self._page(request, 413, HTTP_ERRORS[413], send_with_headers)
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, bounded_receive, send_with_headers)
        except Exception as exc:
            where = f"{scope.get('method')} {logged_path(str(scope.get('path')))}"
            if isinstance(exc, ClientDisconnect):  # (its body cut off: nobody to answer)
                log.info("client gone before its request's body ended on %s", where)
                return
            if isinstance(exc, BodyTooLarge):
                status, message = 413, HTTP_ERRORS[413]
                log.warning("body over %d bytes on %s: refused", MAX_BODY, where)
            elif store_unavailable(exc):
                status, message = 503, UNAVAILABLE
                log.warning("store unavailable on %s: %s", where, type(exc).__name__)
            else:
                status, message = 500, SERVER_ERROR
                log.error("error on %s: %s", where, type(exc).__name__)
            if started:  # the page was on its way: the connection is closed short
                return
            await self._page(request, status, message, send_with_headers)

    @staticmethod
    async def _page(request: Request, status: int, message: str, send: Send) -> None:
        """The error page; a body too large keeps a live session's header and menu, as a
        refusal's page does (the store may be what failed otherwise: none is asked)."""
        response = None
        if status == 413:
            try:
                response = await _error_page(request, message, status)
            except Exception as exc:  # (the store failing too: the page, without the session)
                log.warning("session not read for the page of a body too large on %s: %s",
                            logged_path(request.url.path), type(exc).__name__)
        if response is None:
            response = render(request, "error.html", {"message": message}, status_code=status)
        if status == 503:
            response.headers["Retry-After"] = RETRY_AFTER
        await response(request.scope, _no_body, send)


def _seen(request: Request, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """D-12's signed last-request cookie for a live session's answer, unless the answer
    already sets or drops it (a new session at login, a logout)."""
    seen = seen_cookie(request)
    mine = cookie_name(request, SEEN_COOKIE).encode() + b"="
    if seen is None or any(k.lower() == b"set-cookie" and v.startswith(mine)
                           for k, v in headers):
        return []
    return [(b"set-cookie", seen)]


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


async def _refused(request: Request, exc: Exception) -> Response:
    """CI-1, SB-2: a sub ID that types a main ID's URL; or a conflict no page handled itself
    (an OK's is shown by confirm_pages.submitted, with a link to its form)."""
    assert isinstance(exc, Refused)
    status = 409 if exc.refusal is Refusal.CONFLICT else 403
    return await _error_page(request, screens.REFUSALS[exc.refusal], status)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Its page; a 405's with Allow: every method the URL takes (Starlette names only those
    of the first route of the path, and GET and POST are routes apart; its static files
    name none)."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and (bare := _without_slash(request)) is not None:
        return RedirectResponse(bare, status_code=308)  # (relative: it names no Host)
    response = await _error_page(request, HTTP_ERRORS.get(exc.status_code, "エラーが発生しました。"),
                                 exc.status_code)
    if exc.status_code == 405:  # (a route's methods; the static files' are GET and HEAD)
        response.headers["Allow"] = ", ".join(sorted(
            method for route in request.app.router.routes
            if route.matches(request.scope)[0] is not Match.NONE
            for method in getattr(route, "methods", None) or ())) or "GET, HEAD"
    return response


def _without_slash(request: Request) -> str | None:
    """A page's URL typed with a slash at its end (/top/, or a BS_LOGIN_URL ending so in
    every key mail): the page's own, or None."""
    path = request.url.path
    if path == "/" or not path.endswith("/"):
        return None
    bare = path.rstrip("/")
    scope = {**request.scope, "path": bare}
    routes = request.app.router.routes
    return bare if any(route.matches(scope)[0] is not Match.NONE for route in routes
                       if isinstance(route, Route)) else None


async def _error_page(request: Request, message: str, status: int) -> Response:
    """An error page that keeps the session's header, menu and ログアウト when there is a
    live one (a refusal, a conflict, a page not found are no reason to look logged out)."""
    found = await member(request)
    session, top = found if found else (None, None)
    return render(request, "error.html", {"message": message}, status_code=status,
                  session=session, top=top)


async def _server_error(request: Request, exc: Exception) -> Response:
    """Not reached while Guard stands outside the routes; kept as the last resort."""
    log.error("error on %s %s: %s", request.method, logged_path(request.url.path),
              type(exc).__name__)
    return render(request, "error.html", {"message": SERVER_ERROR}, status_code=500)


def create_app(station: BillingStation, config: PortalConfig) -> Starlette:
    routes: list[Route | Mount] = [
        *PAGES, Mount("/static", StaticFiles(directory=STATIC), name="static")]
    if config.dev_mailbox is not None:  # development only, never by default
        routes += mailbox_pages.ROUTES
    app = Starlette(
        routes=routes, middleware=[Middleware(Guard)],
        exception_handlers={Refused: _refused, HTTPException: _http_error,
                            Exception: _server_error},
    )
    app.router.redirect_slashes = False  # (its redirect named the request's Host: see _http_error)
    app.state.portal = Portal(station, config)
    return app
