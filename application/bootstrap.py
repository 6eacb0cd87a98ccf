"""The composition root: reads the settings once and builds the application, the audit's
read-only reader and the simulation's application from them. Tests and benchmarks build
through it too, passing their own collaborators.

    BS_STORE            sqlite (default) | postgres | memory
    BS_SQLITE_PATH      the SQLite file (default: billing-station.sqlite3)
    POSTGRES_DBNAME, POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD,
    POSTGRES_SCHEMA     the PostgreSQL server when BS_STORE=postgres (eventsourcing's own)
    BS_MAIL             files (default) | smtp
    BS_MAILBOX          the folder of .eml files (default: mailbox)
    BS_SMTP_HOST, BS_SMTP_PORT, BS_SMTP_USER, BS_SMTP_PASSWORD, BS_SMTP_STARTTLS,
    BS_SMTP_TIMEOUT     (seconds for the whole hand-over; slower is a failed mail, default 5)
    BS_HASH_COST        log2 of scrypt's N for keys and passwords (default 14)
    BS_ADDRESS_FAILURE_LIMIT, BS_ADDRESS_WINDOW
                        D-14: failed logins from one client address within the window
                        (seconds) that refuse its next logins unchecked (default 20, 600)
    BS_LOGIN_URL        the portal's login page, named in every mail (default
                        http://127.0.0.1:8000/)
    CIPHER_TOPIC, CIPHER_KEY, COMPRESSOR_TOPIC
                        optional encryption / compression of stored events (eventsourcing's)
"""

from __future__ import annotations

import errno
import os
import secrets
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import attrs

from application.adapters.mailbox import MailboxFolder
from application.adapters.postgres_login import refused_login
from application.adapters.readonly import read_only, sqlite_read_uri
from application.adapters.smtp import SMTPMailer
from application.adapters.unflushed_sqlite import unflushed
from application.audit.reading import AuditReader, NotAnEventStore
from application.billing_station import BillingStation
from application.ports import Mailer
from application.setting_values import ConfigError, checked_store, number, yes_or_no
from domain.crypto import Entropy, Hasher
from domain.policy import ADDRESS_FAILURE_LIMITS, ADDRESS_WINDOWS, LoginPolicy

N = TypeVar("N", int, float)
StoreSettings = dict[str, str]  # eventsourcing's settings of one store
_PASSED_THROUGH = ("CIPHER_", "COMPRESSOR_TOPIC")
STORES = ("sqlite", "postgres", "memory")


def store_settings(kind: str, path: Path | str | None = None,
                   environ: Mapping[str, str] = os.environ, **extra: str) -> StoreSettings:
    """The one place a store's settings are made: ``sqlite`` (a file at ``path``),
    ``postgres`` (the POSTGRES_* of ``environ``) or ``memory``; ``extra`` adds library keys
    (e.g. POSTGRES_SCHEMA, CREATE_TABLE)."""
    passed = {k: v for k, v in environ.items() if k.startswith(_PASSED_THROUGH)}
    if kind == "sqlite":
        base = {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(path or "billing-station.sqlite3")}
    elif kind == "postgres":
        needed = ("POSTGRES_DBNAME", "POSTGRES_HOST", "POSTGRES_USER", "POSTGRES_PASSWORD")
        missing = [k for k in needed if k not in environ]
        if missing:
            raise ConfigError(f"BS_STORE=postgres needs {', '.join(missing)}")
        base = {"PERSISTENCE_MODULE": "eventsourcing.postgres"} | {
            k: v for k, v in environ.items() if k.startswith("POSTGRES_")}
    elif kind == "memory":
        base = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    else:
        raise ConfigError(f"BS_STORE must be {', '.join(STORES[:-1])} or {STORES[-1]}, "
                          f"not {kind!r}")
    return checked_store(passed | base | extra)


ADDRESS_FAILURE_LIMIT, ADDRESS_WINDOW = "BS_ADDRESS_FAILURE_LIMIT", "BS_ADDRESS_WINDOW"
POLICY_SETTINGS = (ADDRESS_FAILURE_LIMIT, ADDRESS_WINDOW)
_D14 = LoginPolicy()  # D-14's own numbers, unless the settings say otherwise


@attrs.frozen
class Settings:
    """The BS_* and library settings of one process, read once at start."""

    environ: Mapping[str, str] = attrs.field(factory=lambda: dict(os.environ))

    @property
    def store_kind(self) -> str:
        return self.environ.get("BS_STORE", "sqlite")

    def store(self, creating: bool = True) -> StoreSettings:
        """The configured store; ``creating`` (the portal's, the application's) with
        CREATE_TABLE as set: the stores a command makes for itself (a simulation's, a
        demo's) and the audit's (never creating) leave it be."""
        path = self._path("BS_SQLITE_PATH", "file") if self.store_kind == "sqlite" else None
        made = {"CREATE_TABLE": self.environ["CREATE_TABLE"]} \
            if creating and "CREATE_TABLE" in self.environ else {}
        return store_settings(self.store_kind, path, self.environ, **made)

    def existing_store(self) -> StoreSettings:
        """A store to read: a missing SQLite file is an error, not a new empty store."""
        store = self.store(creating=False)
        if self.store_kind == "sqlite" and not Path(store["SQLITE_DBNAME"]).is_file():
            raise ConfigError(f"no event store at {store['SQLITE_DBNAME']} (set "
                              "BS_SQLITE_PATH, or name a store file: --store FILE, or "
                              "verify's STORES)")
        return store

    @property
    def login_url(self) -> str:
        """The portal's login page, named in every key mail: an http(s) address."""
        url = self.environ.get("BS_LOGIN_URL", "http://127.0.0.1:8000/")
        try:
            parts = urlsplit(url)
            usable = (parts.scheme in ("http", "https") and bool(parts.hostname)
                      and " " not in url and parts.username is None
                      and (parts.port is None or parts.port > 0))
        except ValueError:  # a bracket left open, a port that is no number
            usable = False
        if not usable:  # (said without what stands before its last @: a password, perhaps)
            scheme, sep, _ = url.partition("://")
            shown = url if "@" not in url else (
                (f"{scheme}{sep}" if sep and "@" not in scheme else "") + "…@"
                + url.rsplit("@", 1)[1])
            raise ConfigError("BS_LOGIN_URL must be an http:// or https:// address with a host "
                              f"and no user or password in it, not {shown!r}")
        return url

    def mailer(self) -> Mailer:
        environ, transport = self.environ, self.environ.get("BS_MAIL", "files")
        if transport == "files":
            return MailboxFolder(Path(self._path("BS_MAILBOX", "folder") or "mailbox"))
        if transport == "smtp":
            if not environ.get("BS_SMTP_HOST", "").strip():
                raise ConfigError("BS_MAIL=smtp needs BS_SMTP_HOST")
            return SMTPMailer(
                environ["BS_SMTP_HOST"], self._number("BS_SMTP_PORT", 25, int, 1, 65535),
                environ.get("BS_SMTP_USER"), environ.get("BS_SMTP_PASSWORD"),
                "BS_SMTP_STARTTLS" in environ and yes_or_no(
                    "BS_SMTP_STARTTLS", environ["BS_SMTP_STARTTLS"]),
                # (a timeout of 0 would make smtplib's socket non-blocking)
                self._number("BS_SMTP_TIMEOUT", 5.0, float, 0.001, 3600),
            )
        raise ConfigError(f"BS_MAIL must be files or smtp, not {transport!r}")

    def hasher(self) -> Hasher:
        return Hasher(self._number("BS_HASH_COST", 14, int, 4, 20))

    def policy(self) -> LoginPolicy:
        """The login policy: the manual's and our decisions', but D-14's limit and window,
        which an operator may set (each login records the ones its check applied)."""
        shortest, longest = (int(w.total_seconds()) for w in ADDRESS_WINDOWS)
        return LoginPolicy(
            address_failure_limit=self._number(ADDRESS_FAILURE_LIMIT, _D14.address_failure_limit,
                                               int, *ADDRESS_FAILURE_LIMITS),
            address_window=timedelta(seconds=self._number(
                ADDRESS_WINDOW, int(_D14.address_window.total_seconds()), int, shortest,
                longest, "seconds")))

    def _number(self, name: str, default: N, kind: Callable[[str], N], low: float,
                high: float, unit: str = "") -> N:
        """The setting as a number (of ``unit``) from ``low`` to ``high``, ``default`` when
        unset; given empty, it is refused, as every BS_* setting given empty is."""
        return number(name, self.environ[name], kind, low, high, unit) \
            if name in self.environ else default

    def _path(self, name: str, kind: str) -> str | None:
        """A path setting, unset (None: the default) or naming a ``kind`` ("file" or
        "folder") that may not exist yet; an empty one is refused, not taken for the
        default or for the current folder."""
        value = self.environ.get(name)
        if value is None:
            return None
        if not value.strip():
            raise ConfigError(f"{name} is empty: name a {kind}, or unset it for the default")
        path = Path(value)
        if path.is_dir() if kind == "file" else path.exists() and not path.is_dir():
            raise ConfigError(f"{name} must name a {kind}: {value} is "
                              + ("a folder" if kind == "file" else "a file"))
        if kind == "file" and not path.absolute().parent.is_dir():  # (SQLite makes no folder)
            raise ConfigError(f"{name} names a file in a folder that does not exist: {value}")
        return value


def application(
    settings: Settings | None = None, *, store: StoreSettings | None = None,
    mailer: Mailer | None = None, hasher: Hasher | None = None,
    policy: LoginPolicy | None = None, entropy: Entropy = secrets,
) -> BillingStation:
    """The application: on the configured store, mailer and hash cost, or on those given."""
    settings = settings or Settings()
    return BillingStation(
        store if store is not None else settings.store(),
        mailer=mailer or settings.mailer(), hasher=hasher or settings.hasher(),
        policy=policy or settings.policy(), entropy=entropy, login_url=settings.login_url,
    )


def simulation(store: StoreSettings, *, mailer: Mailer, hasher: Hasher, policy: LoginPolicy,
               entropy: Entropy) -> BillingStation:
    """The application as a simulation drives it: one process writes each aggregate (a
    shard its own customers'), so the library's aggregate cache needs no fast-forward and
    no copies (no save fails without a rival writer, and the services refuse bad input
    before they change an aggregate); a SQLite store's commits are not flushed one by one
    (a run stopped short is made anew)."""
    cached = {"AGGREGATE_CACHE_MAXSIZE": "100000", "AGGREGATE_CACHE_FASTFORWARD": "n",
              "DEEPCOPY_FROM_AGGREGATE_CACHE": "n"}
    return BillingStation(unflushed(store) | cached, mailer=mailer, hasher=hasher,
                          policy=policy, entropy=entropy)


def audit_reader(settings: Settings | None = None, *, store: StoreSettings | None = None
                 ) -> AuditReader:
    """The audit's reader of an existing store, opened read-only: no mailer, no hasher,
    never a write, never a table created (D-16). NotAnEventStore if it is not one."""
    settings = settings or Settings()
    store = store if store is not None else settings.existing_store()
    if store["PERSISTENCE_MODULE"] == "eventsourcing.popo":
        raise NotAnEventStore("BS_STORE=memory: an in-memory store holds nothing to audit")
    refuse_a_foreign_database(store, empty_too=True)
    return AuditReader(read_only(store), store_name(store))


def refuse_a_foreign_database(store: StoreSettings, *, empty_too: bool = False) -> None:
    """A ConfigError for a PostgreSQL login the server refuses; NotAnEventStore for a SQLite
    file that is not this system's store: another program's database (to which the portal
    must add nothing: no tables, no demo customer), a file that is no database, or,
    ``empty_too`` (the audit's reading), one with no tables yet. Read without writing, so
    the reason is the file's, not the driver's."""
    if store["PERSISTENCE_MODULE"] == "eventsourcing.postgres" and (
            refused := refused_login(store)):
        raise ConfigError(refused)  # (a setting to correct, not a server that is down)
    path = Path(store.get("SQLITE_DBNAME", ""))
    if store["PERSISTENCE_MODULE"] != "eventsourcing.sqlite" or not path.is_file():
        return
    if not os.access(path, os.R_OK):  # (a store, maybe: the file's mode says nothing of it)
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    try:
        with closing(sqlite3.connect(sqlite_read_uri(path), uri=True)) as db:
            tables = [name for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    except sqlite3.DatabaseError as e:
        with path.open("rb") as file:
            damaged = file.read(16) == b"SQLite format 3\x00"  # a database, cut or broken
        raise NotAnEventStore(f"{path} " + (f"is a damaged SQLite database ({e})" if damaged
                              else f"is not a Billing Station event store ({e})")) from None
    if "stored_events" not in tables and (tables or empty_too):
        raise NotAnEventStore(f"{path} is not a Billing Station event store (" + (
            f"it holds another program's tables: {', '.join(tables[:5])})" if tables
            else "it holds no tables)"))


def store_name(store: StoreSettings) -> str:
    """A store as a person names it: its file, or its PostgreSQL database and server."""
    return store.get("SQLITE_DBNAME") or (
        f"PostgreSQL database {store.get('POSTGRES_DBNAME')} at {store.get('POSTGRES_HOST')}:"
        f"{store.get('POSTGRES_PORT', '5432')}")
