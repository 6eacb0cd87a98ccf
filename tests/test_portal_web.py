"""The portal's cheaper ways of doing what its libraries do, each checked against the
library's own result: its Set-Cookie headers, uvicorn's log lines,
and a request's call of the application in a worker thread (its deadline)."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from datetime import timedelta

import pytest
from starlette.requests import Request
from starlette.responses import Response
from uvicorn.logging import AccessFormatter, DefaultFormatter

from billing_station.serve_command import log_config
from portal.access_log import NOT_SERVED, AccessLine, Line, Redacted
from portal.cookies import cookie_name, drop_cookie, set_cookie
from portal.security import SEEN_COOKIE
from portal.web import DEADLINE, run


def _request(scheme: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/top", "headers": [],
                    "query_string": b"", "scheme": scheme, "root_path": ""})


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("value, max_age", [
    ("1733443200000000.0f3a9c" + "e" * 58, None),  # D-12's last request: every response
    ("Qk9PTQ-_x" * 5, 1800),  # a session id, an attempt's
    ("c2VhbGVk==", 600),  # a sealed value (base64's "="): quoted
])
def test_D_12_a_cookie_is_written_as_starlette_writes_it(
        scheme: str, value: str, max_age: int | None) -> None:
    request = _request(scheme)
    starlettes, ours = Response(), Response()
    starlettes.set_cookie(cookie_name(request, SEEN_COOKIE), value, max_age=max_age, path="/",
                          httponly=True, samesite="lax", secure=scheme == "https")
    set_cookie(request, ours, SEEN_COOKIE, value,
               None if max_age is None else timedelta(seconds=max_age))
    assert ours.headers["set-cookie"] == starlettes.headers["set-cookie"]
    assert ("; Secure" in ours.headers["set-cookie"]) == (scheme == "https")


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_D_12_a_cookie_is_dropped_as_starlette_drops_it_expired_long_ago(scheme: str) -> None:
    request = _request(scheme)
    starlettes, ours = Response(), Response()
    starlettes.delete_cookie(cookie_name(request, SEEN_COOKIE), path="/", httponly=True,
                             samesite="lax", secure=scheme == "https")
    drop_cookie(request, ours, SEEN_COOKIE)
    expired = re.compile(r"expires=[^;]+")
    assert expired.sub("", ours.headers["set-cookie"]) == expired.sub(
        "", starlettes.headers["set-cookie"])
    assert "expires=Thu, 01 Jan 1970 00:00:00 GMT; " in ours.headers["set-cookie"]


def _record(level: int, msg: str, args: tuple[object, ...]) -> logging.LogRecord:
    return logging.LogRecord("portal", level, __file__, 1, msg, args, None)


def _served_format(name: str) -> str:
    """The format ``serve`` gives a formatter (uvicorn's, unless it changes it)."""
    fmt: str = log_config()["formatters"][name]["fmt"]
    return fmt


@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING, logging.ERROR])
@pytest.mark.parametrize("fmt", [_served_format("default"), "%(levelname)s %(message)s"])
def test_the_portal_s_log_lines_are_uvicorn_s(level: int, fmt: str) -> None:
    record = _record(level, "login from %s: %s", ("192.0.2.1", "TopPage"))
    assert Line(fmt, use_colors=False).format(record) == DefaultFormatter(
        fmt, use_colors=False).format(record)


@pytest.mark.parametrize("status", [200, 303, 404, 599])
@pytest.mark.parametrize("fmt", [_served_format("access"), "%(client_addr)s %(status_code)s"])
def test_the_access_lines_are_uvicorn_s(status: int, fmt: str) -> None:
    record = _record(logging.INFO, '%s - "%s %s HTTP/%s" %d',
                     ("192.0.2.1:5000", "POST", "/login", "1.1", status))
    mine = AccessLine(fmt, use_colors=False).format(record)
    assert mine == AccessFormatter(fmt, use_colors=False).format(record)
    if fmt == _served_format("access"):
        assert mine.startswith('INFO:     192.0.2.1:5000 - "POST /login HTTP/1.1"')


def test_a_call_past_the_request_s_deadline_is_left_to_finish_and_the_request_stops() -> None:
    finished, where = threading.Event(), ContextVar("where", default="")

    def slow() -> str:
        time.sleep(0.3)
        finished.set()
        return where.get()

    async def request(deadline: float) -> str:
        DEADLINE.set(deadline)
        where.set("the request's context")
        return await run(slow)

    began = time.perf_counter()
    with pytest.raises(TimeoutError):
        _on_a_loop_of_its_own(request, 0.05)
    assert time.perf_counter() - began < 0.25 and not finished.is_set()
    assert finished.wait(2)  # (the thread went on: what it commits is whole)
    assert _on_a_loop_of_its_own(request, 5) == "the request's context"


def _on_a_loop_of_its_own(request: Callable[[float], Awaitable[str]], deadline: float) -> str:
    """(In a thread: the browser tests' Playwright keeps a loop running in this one.)"""
    async def main() -> str:
        return await request(deadline)
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, main()).result()


@pytest.mark.parametrize(("path", "status", "logged"), [
    ("/dev/mailbox", 200, "/dev/mailbox"),
    ("/dev/mailbox/000001-89059da7-yamada@example.co.jp.eml", 200, "/dev/mailbox/{name}"),
    ("/static/portal.css", 200, "/static/portal.css"),
    ("/static/portal.css", 304, "/static/portal.css"),
    ("/static/Passw0rd-demo", 413, NOT_SERVED),  # (no file served: any text a client sent)
    ("/static/Passw0rd-demo", 405, NOT_SERVED),
    ("/permission-settings/sub-ids/x;password=1/confirm", 200,
     "/permission-settings/sub-ids/{login_id}/confirm"),
    ("/key/955153414145", 405, NOT_SERVED),
])
def test_a_log_line_keeps_a_pages_path_or_its_route(path: str, status: int, logged: str) -> None:
    """A mail of the development mailbox was logged as "a path the portal does not serve"
    (its file's name, which holds its address, is no page's): now as its route. Under
    /static/, only a file served is named."""
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "POST", path, "1.1", status), None)
    assert Redacted().filter(record) and isinstance(record.args, tuple)
    assert record.args[2] == logged
