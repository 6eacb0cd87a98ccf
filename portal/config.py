"""The portal's own settings: the signing secret every worker shares, and the
development-only mailbox page (off unless asked for)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

import attrs

from application.setting_values import ConfigError, number

SECRET = "BS_PORTAL_SECRET"  # signs cookies and CSRF tokens, seals confirmations; shared by workers
MIN_SECRET = 32  # characters
DEV_MAILBOX = "BS_PORTAL_DEV_MAILBOX"  # "1": serve the development mailbox page
TABLES_READY = "BS_PORTAL_TABLES_READY"  # "1": the parent created the store's tables
DEADLINE = "BS_PORTAL_DEADLINE"  # seconds a request waits for the store: then a 503 page
WORKERS = "BS_PORTAL_WORKERS"  # how many worker processes serve started: they share the cores


@attrs.frozen
class PortalConfig:
    secret: bytes = attrs.field(repr=False)
    dev_mailbox: Path | None = None  # the .eml folder to show, only when enabled
    deadline: float = 8.0  # seconds a request waits on the application (store, scrypt)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> PortalConfig:
        secret = environ.get(SECRET) or secrets.token_urlsafe(32)  # (empty: made for the run)
        if len(secret) < MIN_SECRET:  # it seals confirmations: no guess may find it
            raise ConfigError(f"{SECRET} must be at least {MIN_SECRET} characters (e.g. "
                              "python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
        mailbox = (Path(environ.get("BS_MAILBOX", "mailbox"))
                   if environ.get(DEV_MAILBOX) == "1" and environ.get("BS_MAIL", "files") == "files"
                   else None)
        # (serve checks it before any worker starts)
        deadline = number(DEADLINE, environ[DEADLINE], float, 0.001, 3600) \
            if DEADLINE in environ else 8.0
        return cls(secret.encode(), mailbox, deadline)
