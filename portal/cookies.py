"""The portal's cookies: their names (``__Host-`` behind HTTPS), their flags (D-12), and
their Set-Cookie headers, written as Starlette writes them but without a cookie jar for
each (the answer to every request of a live session sets one, a login four)."""

from __future__ import annotations

import string
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response


def https(request: Request) -> bool:
    """Served over HTTPS (behind a proxy: as its X-Forwarded-Proto says, which uvicorn put in
    the scope). The scope's own word, not ``request.url``, which builds the whole URL."""
    return bool(request.scope.get("scheme") == "https")


def cookie_name(request: Request, name: str) -> str:
    """A cookie's name: behind HTTPS with the ``__Host-`` prefix, so a browser takes it only
    from this host, Secure and for every path; never one a sibling domain planted (a
    browser value whose CSRF token its planter knows: login CSRF, D-13)."""
    return f"__Host-{name}" if https(request) else name


def cookie(request: Request, name: str) -> str | None:
    return request.cookies.get(cookie_name(request, name))


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: timedelta | None = None) -> None:
    """D-12: HttpOnly, SameSite=Lax, and Secure when served over HTTPS; ``max_age`` as
    whole seconds. A value that needs no quoting (an id, a signature: each request has one
    or more) is written directly, as Starlette writes it; any other, by Starlette (a cookie
    jar each: 20 µs)."""
    seconds = None if max_age is None else int(max_age.total_seconds())
    if value and _UNQUOTED.issuperset(value):
        response.raw_headers.append(
            (b"set-cookie", set_cookie_header(request, name, value, seconds).encode("latin-1")))
    else:
        response.set_cookie(cookie_name(request, name), value, max_age=seconds, path="/",
                            httponly=True, samesite="lax", secure=https(request))


def drop_cookie(request: Request, response: Response, name: str) -> None:
    """A cookie's end, with the same flags as its start (D-12): empty, expired long ago
    (Starlette's says "now")."""
    response.raw_headers.append((b"set-cookie", set_cookie_header(
        request, name, '""', 0, expires=_LONG_AGO).encode("latin-1")))


# The characters of a cookie value the standard library does not quote (http.cookies).
_UNQUOTED = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~:")
_LONG_AGO = "Thu, 01 Jan 1970 00:00:00 GMT"


def set_cookie_header(request: Request, name: str, value: str, max_age: int | None = None,
                      expires: str | None = None) -> str:
    """A Set-Cookie header's value with ``set_cookie``'s flags, as Starlette writes it
    (tests.test_portal_web compares them). ``value`` as it is sent: unquoted or quoted."""
    return "; ".join((
        f"{cookie_name(request, name)}={value}",
        *((f"expires={expires}",) if expires is not None else ()), "HttpOnly",
        *((f"Max-Age={max_age}",) if max_age is not None else ()), "Path=/", "SameSite=lax",
        *(("Secure",) if https(request) else ())))
