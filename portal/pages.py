"""The portal's pages: every route a browser is sent to, in one list, so the app serves it
and the access log names a request by its page (``/permission-settings/sub-ids/{login_id}``)
without the one importing the other (the log is set up before the app is made)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from portal import customer_pages, help_pages, login_pages, member_pages, permission_pages


async def _favicon(request: Request) -> Response:
    """Browsers ask every page for it: no icon, and no 404 either."""
    return Response(status_code=204)


PAGES = [Route("/favicon.ico", _favicon), *login_pages.ROUTES, *help_pages.ROUTES,
         *member_pages.ROUTES, *customer_pages.ROUTES,
         *permission_pages.ROUTES]  # (and /static/, /dev/mailbox)
