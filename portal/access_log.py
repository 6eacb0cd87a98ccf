"""What the portal's log lines keep of a request. Its URL without the query string: the
portal puts no secret in a URL, but a person or a client may (a key pasted after ``?``, a
login sent as a GET), so what follows the ``?`` is never written (D-15; no key, password
or session id in any log line); nor is a path that is no page's own: one the portal does
not serve (``/key/955153414145``, ``/login;password=...``) is written as such, and a page
of a login ID as its route (``/permission-settings/sub-ids/{login_id}``, whatever text
stood there). Its client as an IP address or "unknown" (addresses.py): behind a proxy
the address is the proxy's X-Forwarded-For, which may pass on any text."""

from __future__ import annotations

import functools
import logging
import re

from uvicorn.logging import AccessFormatter, DefaultFormatter

from portal.addresses import UNKNOWN_ADDRESS, address_or_unknown

NOT_SERVED = "(a path the portal does not serve)"


class Redacted(logging.Filter):
    """For uvicorn's access logger, whose record's arguments are (client as host:port,
    method, path with its query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            client, path = str(args[0]), str(args[2])
            host, _, port = client.rpartition(":")
            if host and address_or_unknown(host) == UNKNOWN_ADDRESS:
                client = f"{UNKNOWN_ADDRESS}:{port}"
            bare, query = path.split("?", 1) if "?" in path else (path, None)
            path = NOT_SERVED if args[4] == 404 else (
                logged_path(bare, args[4] in _A_FILE) + ("?…" if query is not None else ""))
            record.args = (client, args[1], path, *args[3:])
        return True


LINE = "%(levelprefix)s %(message)s"  # uvicorn's formats (LOGGING_CONFIG), which
ACCESS_LINE = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'  # these write


class Line(DefaultFormatter):
    """uvicorn's line (``INFO:     message``), made without copying each record as
    uvicorn's formatter does to colour it (about a quarter of a log line's CPU); coloured still
    on a terminal, and uvicorn's own way for any other format."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        if self.use_colors or self._fmt != LINE:
            return super().formatMessage(record)
        return f"{_prefix(record)} {record.message}"


class AccessLine(AccessFormatter):
    """uvicorn's access line (``INFO:     client - "GET /login HTTP/1.1" 200 OK``), made as
    ``Line`` makes its own."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        if self.use_colors or self._fmt != ACCESS_LINE or not (
                isinstance(record.args, tuple) and len(record.args) == 5):
            return super().formatMessage(record)
        client, method, path, version, status = record.args
        return (f'{_prefix(record)} {client} - "{method} {path} HTTP/{version}" '
                f"{self.get_status_code(int(str(status)))}")


def _prefix(record: logging.LogRecord) -> str:
    return f"{record.levelname}:{' ' * (8 - len(record.levelname))}"


_A_FILE = (200, 206, 304)  # the statuses of a static file served


def logged_path(path: str, a_file: bool = False) -> str:
    """``path`` as a log line keeps it (see above); under /static/ only a file served
    (``a_file``: a 413 or 405 there named any text a client sent)."""
    exact, templates = _pages()
    if path in exact or (a_file and _STATIC.fullmatch(path)):
        return path
    return next((template for pattern, template in templates if pattern.fullmatch(path)),
                NOT_SERVED)


_STATIC = re.compile(r"/static(/[0-9A-Za-z._-]+)+")  # (files it served)


@functools.cache
def _pages() -> tuple[frozenset[str], list[tuple[re.Pattern[str], str]]]:
    """The pages' own paths, and the patterns of those with a part the request names."""
    # (imported here: the access logger is set up before the pages load; a mail of the dev
    # mailbox as its route, as its file's name holds its address)
    from portal.mailbox_pages import ROUTES as MAILBOX
    from portal.pages import PAGES
    pages = [*PAGES, *MAILBOX]
    exact = frozenset(route.path for route in pages if not route.param_convertors)
    return exact, [(route.path_regex, route.path) for route in pages if route.param_convertors]
