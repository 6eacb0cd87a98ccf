"""The served portal's HTTP limits, over real sockets: request heads and bodies too big,
malformed, trickling in or never read, pipelined requests, and what their log lines name
(portal/protocol.py and Guard in portal/app.py). tests/test_portal_attacks.py has the
attacks on the portal's rules (D-9, D-12..D-15, CI-1, SB-2)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from portal.app import MAX_BODY
from portal.protocol import PortalHttpTools

pytest.register_assert_rewrite("tests.portal_fixtures", "tests.attackers")  # before their import

from tests.attackers import client, customer, logged_in  # noqa: E402
from tests.portal_fixtures import Served, csrf_of, running  # noqa: E402

pytest_plugins = ["tests.portal_fixtures", "tests.attackers"]


def _chunks(size: int) -> Iterator[bytes]:
    sent = 0
    while sent < size:
        yield b"a" * 8192
        sent += 8192


def test_oversized_and_malformed_requests_get_a_4xx_page_never_a_500(portal: Served) -> None:
    login_id = customer(portal)
    start = len(portal.logs.lines)
    browser = logged_in(portal, login_id)
    token = csrf_of(browser.get("/top").text)
    form = {"content-type": "application/x-www-form-urlencoded"}
    tries: dict[str, httpx.Response] = {
        "a body of 1 MB": browser.post("/customer-information", content=b"a=" + b"b" * 2**20,
                                       headers=form),
        "a chunked body of 1 MB": browser.post("/customer-information",
                                               content=_chunks(2**20), headers=form),
        "bad percent-encoding": browser.post("/customer-information", headers=form,
                                             content=b"department=%FF%FE%C0%AF&csrf=" +
                                             token.encode()),
        "raw bytes not UTF-8": browser.post("/customer-information", headers=form,
                                            content=b"department=\xff\xfe\xc0&csrf=" +
                                            token.encode()),
        "NUL bytes": browser.post("/customer-information", data={
            "department": "総\x00務部", "contact_name": "\x00", "csrf": token}),
        "unknown fields": browser.post("/customer-information", data={
            "is_main_id": "true", "customer_number": "BS0000001", "__proto__": "x",
            "csrf": token}),
        "a login ID of NULs and 20,000 characters": browser.post("/login", data={
            "login_id": "\x00" * 20_000, "password": "\x00", "csrf": token}),
        "a key of 50,000 digits": browser.post("/key", data={"key": "1" * 50_000,
                                                             "csrf": token}),
        "a broken multipart body": browser.post(
            "/customer-information", content=b"--x\r\nContent-Disposition: form-data\r\n\r\n",
            headers={"content-type": "multipart/form-data; boundary=y"}),
        "JSON instead of a form": browser.post("/customer-information", json={"csrf": token}),
        "a path not UTF-8": browser.get("/%FF%FE/%00"),
        "a path of 6,000 characters": browser.get("/" + "a" * 6000),
        "a confirmation that is not base64": browser.post(
            "/customer-information/ok", data={"confirmation": "!!!.%%%", "csrf": token}),
        "a session cookie of 3,000 characters, not ASCII": client(portal).get(
            "/top", headers=[(b"cookie", ("bs_session=" + "é" * 10 + "x" * 3000).encode())]),
        "an attempt cookie of garbage": client(portal).get(
            "/key", headers=[(b"cookie", b"bs_attempt=\xff\xfe.\x80\xe9; bs_browser=x")]),
        "an attempt cookie without the browser's": client(portal).get(
            "/key", headers=[(b"cookie", b"bs_attempt=abc_1.00")]),
        "seen and attempt cookies of control characters": client(portal).get(
            "/top", headers=[(b"cookie", b"bs_seen=\x7f\x01.\xff; bs_attempt=\x01; "
                              b"bs_session=x")]),
    }
    for what, response in tries.items():
        assert response.status_code < 500, (what, response.status_code)
        assert "Traceback" not in response.text, what
        if response.status_code >= 400:
            assert 'lang="ja"' in response.text, (what, response.status_code)
    # Not HTTP at all (control characters in a header): uvicorn's parser answers before the
    # app sees the request, with the portal's page (it was uvicorn's English text).
    unparsed = tries["seen and attempt cookies of control characters"]
    assert unparsed.status_code == 400 and "リクエストの形式が正しくありません。" in unparsed.text
    assert unparsed.headers["content-security-policy"].startswith("default-src 'self'")
    assert tries["a body of 1 MB"].status_code == 413
    assert tries["a chunked body of 1 MB"].status_code == 413
    for too_large in ("a body of 1 MB", "a chunked body of 1 MB"):  # (a live session's page:
        page = tries[too_large].text  # its header and ログアウト, not a look of logged out)
        assert "送信された内容が大きすぎます。" in page and "BSお客様番号" in page and "ログアウト" in page
    assert tries["NUL bytes"].status_code == 303  # the form again with its errors (PRG)
    refused = browser.post("/customer-information", data={"department": "総\x00務部",
                                                          "csrf": token})
    assert refused.headers["location"] == "/customer-information?errors"
    again = browser.get(refused.headers["location"])
    assert "部署名に使用できない文字が含まれています。" in again.text
    lines = portal.logs.lines[start:]
    assert not [line for line in lines if "Traceback" in line or " ERROR " in line], lines
    information = portal.station.customer_information(portal.session(login_id)).by_label()
    assert information["BSお客様番号"] != "BS0000001"
    print("\n" + "\n".join(f"{what}: {r.status_code}" for what, r in tries.items()))
    browser.close()


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _raw(url: str, head: bytes, then: float = 0.0, more: bytes = b"") -> bytes:
    """What the server at ``url`` answers on a connection of its own to ``head``, then
    ``more`` after ``then`` seconds (b"" when it closed the connection without a word)."""
    with socket.create_connection(_address(url), timeout=10) as raw:
        raw.sendall(head)
        time.sleep(then)
        with contextlib.suppress(OSError):  # (closed already: the write may fail)
            raw.sendall(more)
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    return answer


def test_a_request_head_past_64_kB_is_a_400_page_not_read_whole(portal: Served) -> None:
    """httptools reads a header whole, however long: a 32 MB one was read into memory and
    answered 200."""
    many = b"".join(b"X-Header-%04d: %s\r\n" % (i, b"a" * 40) for i in range(1_500))
    answer = _raw(portal.url, b"GET /login HTTP/1.1\r\nHost: x\r\n" + many)  # (90 kB, unended)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert "リクエストの形式が正しくありません。".encode() in answer
    fine = _raw(portal.url, b"GET /login HTTP/1.1\r\nHost: x\r\nX-Fine: " + b"a" * 30_000
                + b"\r\nConnection: close\r\n\r\n")
    assert fine.startswith(b"HTTP/1.1 200 ")


def test_one_header_line_past_64_kB_is_a_400_page_before_it_ends(portal: Served) -> None:
    """The parser gives a header only when its line ends: one that never ends is measured
    by the bytes that arrived after the request began (a 32 MB header was read whole)."""
    answer = _raw(portal.url, b"GET /login HTTP/1.1\r\nHost: x\r\nX-Big: ", 0.2,
                  b"a" * 80_000)
    assert answer.startswith(b"HTTP/1.1 400 ")


def test_a_body_and_the_next_request_s_head_in_one_piece_are_not_counted_as_a_head(
        portal: Served) -> None:
    """Pipelined: a POST's body of 64 kB and the next request's first bytes arrive together;
    the whole piece was counted as the next request's head and refused (both answers lost)."""
    body = b"a" * 65_500  # (within MAX_BODY: with the heads around it, past HEAD_BYTES)
    answer = _raw(portal.url, b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/"
                  b"x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(body) + body
                  + b"GET /login HTTP/1.1\r\nHost: x\r\n", 0.3,
                  b"Connection: close\r\n\r\n")
    assert answer.count(b"HTTP/1.1 ") == 2 and b" 400 " not in answer, answer[:300]


def test_a_request_head_that_trickles_in_is_cut_off(portal: Served,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A header line every few seconds held a connection for ever (slowloris)."""
    monkeypatch.setattr(PortalHttpTools, "head_seconds", 1.0)
    began = time.monotonic()
    cut = _raw(portal.url, b"GET /login HTTP/1.1\r\nHost: x\r\n", 1.5, b"X-More: 1\r\n")
    assert cut == b"" and time.monotonic() - began < 5
    silent = _raw(portal.url, b"", 1.5)  # (a connection that sends nothing)
    assert silent == b""
    whole = _raw(portal.url, b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert whole.startswith(b"HTTP/1.1 200 ")


def test_the_next_request_on_a_kept_alive_connection_is_timed_as_the_first(
        portal: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection kept alive after an answer: the next head that trickles in is cut off
    too (slowloris after one honest request)."""
    monkeypatch.setattr(PortalHttpTools, "head_seconds", 1.0)
    began = time.monotonic()
    answer = _raw(portal.url, b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /login HTTP/1.1\r\nHost: x\r\n", 1.5, b"X-More: 1\r\n")
    assert answer.count(b"HTTP/1.1 200 ") == 1 and answer.count(b"HTTP/1.1 ") == 1
    assert time.monotonic() - began < 5


def test_a_body_that_trickles_in_is_cut_off_and_logged_as_a_client_gone(
        portal: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """A declared body sent a byte every few seconds held a connection for ever, and the
    client's leaving at last was logged as an error."""
    monkeypatch.setattr(PortalHttpTools, "head_seconds", 1.0)
    start, began = len(portal.logs.lines), time.monotonic()
    cut = _raw(portal.url, b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/"
               b"x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nlogin_id=a", 1.5, b"b")
    assert cut == b"" and time.monotonic() - began < 5
    gone = "portal INFO client gone before its request's body ended on POST /login"
    for _ in range(50):  # (the app's side of it, logged as the connection went)
        if gone in portal.logs.lines[start:]:
            break
        time.sleep(0.1)
    lines = portal.logs.lines[start:]
    assert gone in lines and not [line for line in lines if "ERROR" in line], lines
    whole = _raw(portal.url, b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert whole.startswith(b"HTTP/1.1 200 ")


def test_a_pipelined_body_the_server_holds_back_is_not_cut_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A request pipelined behind one still being answered: uvicorn stops reading until
    that one is done, so its body cannot come in; its time ran from its head all the same,
    and the connection, both answers with it, was closed."""
    monkeypatch.setattr(PortalHttpTools, "head_seconds", 1.0)

    async def slow(request: Request) -> Response:
        await asyncio.sleep(2.0)
        return PlainTextResponse("slow")

    async def echo(request: Request) -> Response:
        return PlainTextResponse(str(len(await request.body())))

    with running(Starlette(routes=[Route("/slow", slow),
                                   Route("/echo", echo, methods=["POST"])])) as url:
        answer = _raw(url, b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\n"
                      b"Host: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n12345",
                      1.5, b"67890")  # (past the deadline, the first answer still being made)
    assert answer.count(b"HTTP/1.1 200 ") == 2 and answer.endswith(b"10"), answer


def test_a_body_awaiting_100_continue_is_not_cut_off_while_the_app_is_slow_to_ask(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Expect: 100-continue: the client sends its body once told to, when the app reads it;
    an app slower than the body's time is the server holding it back, not the client."""
    monkeypatch.setattr(PortalHttpTools, "head_seconds", 1.0)

    async def echo(request: Request) -> Response:
        await asyncio.sleep(1.2)  # (past the body's time before it asks for the body)
        return PlainTextResponse(str(len(await request.body())))

    with running(Starlette(routes=[Route("/echo", echo, methods=["POST"])])) as url, \
            socket.create_connection(_address(url), timeout=10) as raw:
        raw.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        told = raw.recv(65536)
        assert told.startswith(b"HTTP/1.1 100 "), told
        raw.sendall(b"12345")
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"5"), answer


def test_a_client_that_never_reads_its_answers_is_cut_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of pipelined requests and no answer read: the connection and the requests
    waiting on it were held for ever (and a body behind them never timed out, reading
    waiting on writing)."""
    monkeypatch.setattr(PortalHttpTools, "head_seconds", 1.0)

    async def page(request: Request) -> Response:
        return PlainTextResponse("x" * 10_000)

    with running(Starlette(routes=[Route("/page", page)])) as url, socket.socket() as raw:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(_address(url))
        raw.sendall(b"GET /page HTTP/1.1\r\nHost: x\r\n\r\n" * 3000)
        time.sleep(4)  # (answers queue up unread: past the deadline)
        raw.settimeout(10)
        received = 0
        with contextlib.suppress(ConnectionResetError):
            while chunk := raw.recv(65536):
                received += len(chunk)
    assert received < 3000 * 10_000  # (cut off: the rest never sent, no wait for a timeout)


def test_a_body_refused_as_too_large_is_logged_on_its_page_not_its_path(
        portal: Served) -> None:
    """The access log names a page of a login ID by its route; the refusal's own warning
    wrote the path as sent, and a path may hold anything (a password pasted into it)."""
    browser = logged_in(portal, customer(portal))
    start = len(portal.logs.lines)

    def chunks() -> Iterator[bytes]:  # (no Content-Length: counted as it arrives)
        for _ in range(3):
            yield b"x" * (MAX_BODY // 2)

    answer = browser.post("/permission-settings/sub-ids/LEAKED-Passw0rd-xyz", content=chunks(),
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413
    lines = [line for line in portal.logs.lines[start:] if line.startswith("portal ")]
    assert lines == ["portal WARNING body over 65536 bytes on POST "  # (the access line is
                     "/permission-settings/sub-ids/{login_id}: refused"]  # serve's: its own test)
