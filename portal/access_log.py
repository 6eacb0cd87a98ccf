"""What the portal's log lines keep of a request. Its URL without the query string: the
portal puts no secret in a URL, but a person or a client may (a key pasted after ``?``, a
login sent as a GET), so what follows the ``?`` is never written (D-15; no key, password
or session id in any log line); nor is a path the portal does not serve (404), which is
all such text (``/key/955153414145``, ``/login;password=...``). Its client as an IP
address or "unknown" (addresses.py): behind a proxy the address is the proxy's
X-Forwarded-For, which may pass on any text."""

from __future__ import annotations

import logging

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
            if args[4] == 404:
                path = NOT_SERVED
            elif "?" in path:
                path = path.split("?", 1)[0] + "?…"
            record.args = (client, args[1], path, *args[3:])
        return True
