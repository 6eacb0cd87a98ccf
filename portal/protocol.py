"""What uvicorn answers by itself, before the app sees a request: one its HTTP parser
refuses (a control character in a header, a broken request line) gets the portal's own
400 page, in Japanese and with the portal's headers, instead of uvicorn's English text."""

from __future__ import annotations

import functools

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


class PortalHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol (the parser the portal serves with), its 400 a page."""

    def send_400_response(self, msg: str) -> None:
        page = bad_request_page()
        head = [STATUS_LINE[400], *(name + b": " + value + b"\r\n"
                                    for name, value in self.server_state.default_headers),
                *(f"{name.lower()}: {value}\r\n".encode() for name, value in HEADERS.items()),
                b"content-type: text/html; charset=utf-8\r\n",
                b"content-length: %d\r\n" % len(page), b"connection: close\r\n\r\n"]
        self.transport.write(b"".join(head) + page)
        self.transport.close()
