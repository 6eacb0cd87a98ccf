"""What uvicorn answers by itself, before the app sees a request: one its HTTP parser
refuses (a control character in a header, a broken request line) gets the portal's own
400 page, in Japanese and with the portal's headers, instead of uvicorn's English text.
And the request's head (its line and headers) has bounds uvicorn's parser does not set: a
32 MB header was read whole into memory, and a client sending a header line every few
seconds (slowloris) held its connection for ever; so did one sending a declared body a
byte every few seconds, and one never reading its answers."""

from __future__ import annotations

import functools
from asyncio import TimerHandle, Transport

from starlette.requests import Request
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from portal.app import HEADERS, HTTP_ERRORS
from portal.web import TEMPLATES


@functools.cache
def bad_request_page() -> bytes:
    """The error page of a request that is no HTTP: no session, no form, nothing of it."""
    nowhere = Request({"type": "http", "method": "GET", "path": "/", "headers": [],
                       "query_string": b"", "scheme": "http", "root_path": ""})
    return TEMPLATES.get_template("error.html").render(
        request=nowhere, message=HTTP_ERRORS[400]).encode()


HEAD_BYTES = 64 * 1024  # a request's line and headers (a browser's are a few kB)
HEAD_SECONDS = 30.0  # for them to arrive, from the connection or the request's first byte,
#   and then for its body (MAX_BODY at most) to arrive after them


class PortalHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol (the parser the portal serves with), its 400 a page,
    each request's head bounded in size (a 400 page past HEAD_BYTES) and in time, and its
    body in time (the connection closed past HEAD_SECONDS, each)."""

    head_seconds = HEAD_SECONDS  # (a test's server may wait less)
    _head = _pieces = 0  # bytes of the head being read: as parsed, as arrived
    _late: TimerHandle | None = None  # while a head is being read: closes it when late
    _heads = 0  # heads begun on the connection
    _body_late: TimerHandle | None = None  # while a body is being read: closes it when late
    _unread: TimerHandle | None = None  # while answers wait for the client to read them

    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_begins()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._late is None:  # (the next request on a kept-alive connection)
            self._head_begins()
        self._heads += 1

    def _head_begins(self) -> None:
        self._head = self._pieces = 0
        self._late = self.loop.call_later(self.head_seconds, self._too_slow)

    def data_received(self, data: bytes) -> None:
        """A head is measured twice: by its line and headers as the parser gives them, and
        (a header too long to be given yet) by the pieces of data that arrived wholly
        within it (one that also ended a request's body, or began the next request, is
        not: the next is). Past HEAD_BYTES either way: a 400 page."""
        within, heads = self._late is not None, self._heads
        super().data_received(data)
        if within and self._late is not None and heads == self._heads and (
                not self.transport.is_closing()):
            self._pieces += len(data)
            if self._pieces > HEAD_BYTES:
                self._head_ends()
                self.logger.warning("A request head over %d bytes refused.", HEAD_BYTES)
                self.send_400_response("request head too large")

    def on_url(self, url: bytes) -> None:
        self._grown(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._grown(len(name) + len(value))
        super().on_header(name, value)

    def _grown(self, size: int) -> None:
        """(Raised in the parser's callback, it is the parser's error: uvicorn's 400, which
        is this protocol's page.)"""
        self._head += size
        if self._head > HEAD_BYTES:
            raise ValueError(f"a request head over {HEAD_BYTES} bytes")

    def on_headers_complete(self) -> None:
        self._head_ends()
        self._body_late = self.loop.call_later(self.head_seconds, self._body_too_slow)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._body_ends()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_ends()
        self._body_ends()
        self._unread_ends()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        """The answers wait for the client to read them: as long as a head may take, no
        longer (a client that never reads held its connection and its requests for ever,
        and, pipelining, kept a body's time from running: reading waits on writing)."""
        super().pause_writing()
        if self._unread is None:
            self._unread = self.loop.call_later(self.head_seconds, self._too_slow)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._unread_ends()

    def _unread_ends(self) -> None:
        if self._unread is not None:
            self._unread.cancel()
            self._unread = None

    def _body_ends(self) -> None:
        if self._body_late is not None:
            self._body_late.cancel()
            self._body_late = None

    def _head_ends(self) -> None:
        if self._late is not None:
            self._late.cancel()
            self._late = None

    def _too_slow(self) -> None:
        """Cut off; what is still to be sent, dropped (a close waits for a client that does
        not read to take it)."""
        self._head_ends()
        self._body_ends()
        self._unread_ends()
        if self.transport.get_write_buffer_size():
            self.transport.abort()
        elif not self.transport.is_closing():
            self.transport.close()

    def _body_too_slow(self) -> None:
        """Late, unless the server is what holds the body back: reading paused (a request
        pipelined behind one still being answered, or a body the app has yet to take) or
        the client waiting for 100 Continue until the app reads; then the body has as long
        again."""
        cycle = self.cycle
        if self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue):
            self._body_late = self.loop.call_later(self.head_seconds, self._body_too_slow)
            return
        self._too_slow()

    def send_400_response(self, msg: str) -> None:
        page = bad_request_page()
        head = [STATUS_LINE[400], *(name + b": " + value + b"\r\n"
                                    for name, value in self.server_state.default_headers),
                *(f"{name.lower()}: {value}\r\n".encode() for name, value in HEADERS.items()),
                b"content-type: text/html; charset=utf-8\r\n",
                b"content-length: %d\r\n" % len(page), b"connection: close\r\n\r\n"]
        self.transport.write(b"".join(head) + page)
        self.transport.close()
