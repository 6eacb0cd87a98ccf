"""The portal as an ASGI app: the pages, Japanese error pages (never a traceback), and the
headers every response carries (no caching anywhere, so no key page is ever cached: D-15)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from application import screens
from application.billing_station import BillingStation
from application.outcomes import Refusal, Refused
from portal import customer_pages, login_pages, mailbox_pages, member_pages, permission_pages
from portal.config import PortalConfig
from portal.web import STATIC, Portal, render

log = logging.getLogger("portal")

HEADERS = {
    "Cache-Control": "no-store",  # D-15, and nothing of a session is worth caching
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
}
HTTP_ERRORS = {404: "ページが見つかりません。", 405: "この操作はできません。"}


async def _headers(request: Request,
                   call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


async def _refused(request: Request, exc: Exception) -> Response:
    """CI-1, SB-2: a sub ID that types a main ID's URL; or an OK that lost a race."""
    assert isinstance(exc, Refused)
    status = 409 if exc.refusal is Refusal.CONFLICT else 403
    return render(request, "error.html", {"message": screens.REFUSALS[exc.refusal]},
                  status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return render(request, "error.html",
                  {"message": HTTP_ERRORS.get(exc.status_code, "エラーが発生しました。")},
                  status_code=exc.status_code)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return render(request, "error.html", {
        "message": "システムエラーが発生しました。しばらく時間をおいてから再度お試しください。"},
        status_code=500)


def create_app(station: BillingStation, config: PortalConfig) -> Starlette:
    routes: list[Route | Mount] = [
        *login_pages.ROUTES, *member_pages.ROUTES, *customer_pages.ROUTES,
        *permission_pages.ROUTES, Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    if config.dev_mailbox is not None:  # development only, never by default
        routes += mailbox_pages.ROUTES
    app = Starlette(
        routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=_headers)],
        exception_handlers={Refused: _refused, HTTPException: _http_error,
                            Exception: _server_error},
    )
    app.state.portal = Portal(station, config)
    return app
