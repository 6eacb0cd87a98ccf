"""The access log's lines without a URL's query string. The portal puts no secret in a URL,
but a person or a client may (a key pasted after ``?``, a login sent as a GET): what follows
the ``?`` is never written (D-15; no key, password or session id in any log line)."""

from __future__ import annotations

import logging


class WithoutQuery(logging.Filter):
    """For uvicorn's access logger, whose record's arguments are (client, method, path with
    its query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and "?" in str(args[2]):
            record.args = (*args[:2], str(args[2]).split("?", 1)[0] + "?…", *args[3:])
        return True
