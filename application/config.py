"""Settings, read from the environment: which store, which mail transport, hash cost.

    BS_STORE            sqlite (default) | postgres | memory
    BS_SQLITE_PATH      the SQLite file (default: billing-station.sqlite3)
    POSTGRES_DBNAME, POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD
                        the PostgreSQL server when BS_STORE=postgres (eventsourcing's own)
    BS_MAIL             files (default) | smtp
    BS_MAILBOX          the folder of .eml files (default: mailbox)
    BS_SMTP_HOST, BS_SMTP_PORT, BS_SMTP_USER, BS_SMTP_PASSWORD, BS_SMTP_STARTTLS,
    BS_SMTP_TIMEOUT     (seconds; a slower server is a failed mail, default 10)
    BS_HASH_COST        log2 of scrypt's N for keys and passwords (default 14)
    CIPHER_TOPIC, CIPHER_KEY
                        optional encryption of stored events (eventsourcing's cipher)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from application.mail import MailboxFolder, Mailer, SMTPMailer
from domain.policy import Hasher

_PASSED_THROUGH = ("POSTGRES_", "CIPHER_", "COMPRESSOR_TOPIC")


class ConfigError(ValueError):
    pass


def store_env(environ: Mapping[str, str] = os.environ, existing: bool = False) -> dict[str, str]:
    """The eventsourcing settings for the configured store; ``existing``: a store to read,
    so a missing SQLite file is an error rather than a new empty store."""
    store = environ.get("BS_STORE", "sqlite")
    env = {k: v for k, v in environ.items() if k.startswith(_PASSED_THROUGH)}
    if store == "sqlite":
        path = environ.get("BS_SQLITE_PATH", "billing-station.sqlite3")
        if existing and not Path(path).is_file():
            raise ConfigError(f"no event store at {path} (set BS_SQLITE_PATH)")
        return env | {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path}
    if store == "postgres":
        missing = [k for k in ("POSTGRES_DBNAME", "POSTGRES_HOST", "POSTGRES_USER")
                   if k not in environ]
        if missing:
            raise ConfigError(f"BS_STORE=postgres needs {', '.join(missing)}")
        return env | {"PERSISTENCE_MODULE": "eventsourcing.postgres"}
    if store == "memory":
        return env | {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    raise ConfigError(f"BS_STORE must be sqlite, postgres or memory, not {store!r}")


def mailer(environ: Mapping[str, str] = os.environ) -> Mailer:
    transport = environ.get("BS_MAIL", "files")
    if transport == "files":
        return MailboxFolder(Path(environ.get("BS_MAILBOX", "mailbox")))
    if transport == "smtp":
        if "BS_SMTP_HOST" not in environ:
            raise ConfigError("BS_MAIL=smtp needs BS_SMTP_HOST")
        return SMTPMailer(
            environ["BS_SMTP_HOST"], int(environ.get("BS_SMTP_PORT", "25")),
            environ.get("BS_SMTP_USER"), environ.get("BS_SMTP_PASSWORD"),
            environ.get("BS_SMTP_STARTTLS", "") in ("1", "true", "yes"),
            float(environ.get("BS_SMTP_TIMEOUT", "10")),
        )
    raise ConfigError(f"BS_MAIL must be files or smtp, not {transport!r}")


def hasher(environ: Mapping[str, str] = os.environ) -> Hasher:
    cost = int(environ.get("BS_HASH_COST", "14"))
    if not 4 <= cost <= 20:
        raise ConfigError("BS_HASH_COST must be between 4 and 20")
    return Hasher(cost)
