"""The portal's cheaper ways of doing what its libraries do, each checked against the
library's own result: the Set-Cookie header of D-12's last request, uvicorn's log lines,
and a request's call of the application in a worker thread (its deadline)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar

import pytest
from starlette.requests import Request
from starlette.responses import Response
from uvicorn.logging import AccessFormatter, DefaultFormatter

from portal.access_log import AccessLine, Line
from portal.security import SEEN_COOKIE
from portal.web import DEADLINE, run, set_cookie, set_cookie_header


def _request(scheme: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/top", "headers": [],
                    "query_string": b"", "scheme": scheme, "root_path": ""})


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_D_12_the_last_request_cookie_is_written_as_starlette_writes_its_flags(
        scheme: str) -> None:
    request, value = _request(scheme), "1733443200000000.0f3a9c" + "e" * 58
    starlettes = Response()
    set_cookie(request, starlettes, SEEN_COOKIE, value)
    assert set_cookie_header(request, SEEN_COOKIE, value) == starlettes.headers["set-cookie"]
    assert ("; Secure" in set_cookie_header(request, SEEN_COOKIE, value)) == (scheme == "https")


def _record(level: int, msg: str, args: tuple[object, ...]) -> logging.LogRecord:
    return logging.LogRecord("portal", level, __file__, 1, msg, args, None)


@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING, logging.ERROR])
def test_the_portal_s_log_lines_are_uvicorn_s(level: int) -> None:
    fmt = "%(levelprefix)s %(message)s"
    record = _record(level, "login from %s: %s", ("192.0.2.1", "TopPage"))
    assert Line(fmt, use_colors=False).format(record) == DefaultFormatter(
        fmt, use_colors=False).format(record)


@pytest.mark.parametrize("status", [200, 303, 404, 599])
def test_the_access_lines_are_uvicorn_s(status: int) -> None:
    fmt = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'
    record = _record(logging.INFO, '%s - "%s %s HTTP/%s" %d',
                     ("192.0.2.1:5000", "POST", "/login", "1.1", status))
    mine = AccessLine(fmt, use_colors=False).format(record)
    assert mine == AccessFormatter(fmt, use_colors=False).format(record)
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
