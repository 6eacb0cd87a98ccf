"""The audit's way into a store: an application that only reads, and the store's events
streamed in order, page by page, decoded as the system's own mapper decodes them (faster:
see ``decoding.Decoder``), each page checked for rows missing or a file that changed."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit
from uuid import UUID

import psycopg
from eventsourcing.persistence import Mapper, PersistenceError
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from eventsourcing.utils import EnvType
from psycopg.sql import SQL, Composed, Identifier
from psycopg_pool import PoolTimeout

from application.adapters.eventstore import EventStore, StoredEventError
from application.audit.decoding import Decoder, Row

PAGE = 1000


class NotAnEventStore(Exception):
    """What the audit was pointed at is not this system's event store (D-16)."""


class MissingEvents(StoredEventError):
    """Rows absent from the middle of a SQLite store: it numbers its events one after
    another, with no gap a write could leave (a transaction rolled back gives its numbers
    back), so rows were deleted, or the file is damaged where SQLite does not see it (a
    page lost from its tree hides the rows under it without an error)."""

    what = "is missing events"


class OutOfSequence(StoredEventError):
    """An aggregate whose stored events are not numbered 1, 2, 3 and on, or not stored in
    that order: one was changed, deleted or moved, so it cannot be rebuilt, nor what it
    did be judged."""

    what = "holds an aggregate whose events are out of sequence"

    def __init__(self, message: str, found: tuple[UUID, int] | None = None) -> None:
        super().__init__(message)
        self.found = found  # the aggregate and version of the event found out of place


@contextmanager
def located(app: EventStore) -> Iterator[None]:
    """An OutOfSequence that names the event found out of place, raised while ``app``'s
    events were checked, said with that event's notification id, as a row the replay could
    not read is: the row to look at (the replay's consumer raises it, not the replay)."""
    try:
        yield
    except OutOfSequence as e:
        at = notification_of(app, *e.found) if e.found else None
        if at is None:
            raise
        raise OutOfSequence(f"notification {at:,}: {e}", e.found) from e


def notification_of(app: EventStore, aggregate_id: UUID, version: int) -> int | None:
    """The notification id of an aggregate's event in the store (None: not there)."""
    recorder = app.recorder
    with store_errors(getattr(app, "where", "the store")):
        if isinstance(recorder, SQLiteAggregateRecorder):
            with recorder.datastore.transaction(commit=False) as c:
                c.execute(f"SELECT rowid FROM {recorder.events_table_name} WHERE "
                          "originator_id=? AND originator_version=?", (aggregate_id.hex, version))
                row = c.fetchone()
                return None if row is None else int(row[0])
        if isinstance(recorder, PostgresApplicationRecorder):
            statement = SQL("SELECT notification_id FROM {} WHERE originator_id=%s AND "
                            "originator_version=%s").format(postgres_table(recorder))
            with recorder.datastore.transaction(commit=False) as curs:
                curs.execute(statement, (aggregate_id, version))
                found = curs.fetchone()
                return None if found is None else int(found["notification_id"])
    return None


def postgres_table(recorder: PostgresAggregateRecorder) -> Composed:
    """The recorder's events table, named with its schema, for a query of the audit's own."""
    return SQL("{}.{}").format(Identifier(recorder.datastore.schema),
                               Identifier(recorder.events_table_name))


class StoreChanged(StoredEventError):
    """A SQLite store read as unchanging (no write-ahead log beside it when it was opened:
    read immutable, no lock taken) whose file another program wrote while it was read:
    pages read from then on may mix before and after, so no verdict is given on them."""

    what = "was written while it was read"


class StoreUnavailable(Exception):
    """The store's server cannot be reached (down, or refusing connections)."""


@contextmanager
def store_errors(where: str) -> Iterator[None]:
    """What the store's driver raises, as the audit says it: a server that cannot be reached
    (down), a database damaged anywhere (SQLite's own word for it), or a store that is not
    one (not a database, a foreign one). Wraps opening a store and every page read from it."""
    try:
        yield
    except (PersistenceError, sqlite3.Error, psycopg.Error) as e:
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        if isinstance(e.__cause__, PoolTimeout | psycopg.OperationalError) or isinstance(
                e, PoolTimeout | psycopg.OperationalError):
            raise StoreUnavailable(f"cannot reach {where} ({reason})") from e
        if sqlite3.SQLITE_CORRUPT in (getattr(e, "sqlite_errorcode", None),
                                      getattr(e.__cause__, "sqlite_errorcode", None)):
            raise NotAnEventStore(f"{where} is a damaged SQLite database ({reason})") from e
        raise NotAnEventStore(f"{where} is not a Billing Station event store ({reason})") from e


class AuditReader(EventStore):
    """Reads the events of this system's store: no mailer, no hasher, no command. Opening
    it checks that the store is one: readable, holding events, the first of them ours."""

    name = "BillingStation"

    def __init__(self, env: EnvType, where: str = "the store") -> None:
        self.where = where  # how the auditor named the store: a path, or a database
        try:
            with store_errors(where):
                super().__init__(env)
                last = self.recorder.max_notification_id()
            if not last:
                raise NotAnEventStore(f"{where} holds no events: nothing to audit")
            refuse_unreadable(self, where)
        except (NotAnEventStore, StoreUnavailable):
            self.close()
            raise


def refuse_unreadable(app: EventStore, where: str) -> None:
    """NotAnEventStore unless the store's first event (if any) is this system's and reads
    with the settings given: the audit's check, and serve's before its workers start."""
    with store_errors(where):
        first = app.recorder.select_notifications(start=None, limit=1)
    if not first:
        return
    try:
        event = app.mapper.to_domain_event(first[0])
    except StoredEventError as e:
        if first[0].topic.startswith("domain."):  # ours: its state is what cannot be read
            raise NotAnEventStore(_unreadable(where, app.mapper, e)) from e
        raise NotAnEventStore(f"{where} is not a Billing Station event store: {e}") from e
    if not type(event).__module__.startswith("domain."):  # another application's events
        raise NotAnEventStore(f"{where} is not a Billing Station event store (its first "
                              f"event is a {first[0].topic})")


def _unreadable(where: str, mapper: Mapper[Any], error: StoredEventError) -> str:
    """Why a store whose events are this system's cannot be read: most likely they were
    written encrypted or compressed (CIPHER_*, COMPRESSOR_TOPIC) with other settings."""
    given = ", ".join([
        "a CIPHER_KEY" if mapper.cipher is not None else "no CIPHER_KEY",
        "a COMPRESSOR_TOPIC" if mapper.compressor is not None else "no COMPRESSOR_TOPIC"])
    return (f"{where} holds Billing Station events that cannot be read with the settings "
            f"given ({given}): a store written encrypted or compressed is read with the "
            f"same CIPHER_TOPIC, CIPHER_KEY and COMPRESSOR_TOPIC; else it is damaged ({error})")


_SELECT = "SELECT rowid, originator_id, originator_version, topic, state FROM {} " \
          "WHERE rowid>=? AND rowid<=? ORDER BY rowid LIMIT ?"
LAST = 2**63 - 1  # no notification id is higher


def rows(app: EventStore, start: int, limit: int, stop: int | None = None) -> list[Row]:
    """A page of the store's notifications from id ``start`` (to ``stop``, inclusive): on
    SQLite by the recorder's own query without building a Notification per row; elsewhere
    by the recorder."""
    recorder = app.recorder
    if isinstance(recorder, SQLiteAggregateRecorder):
        with recorder.datastore.transaction(commit=False) as c:
            c.sqlite_cursor.row_factory = None  # plain tuples
            c.execute(_SELECT.format(recorder.events_table_name),
                      (start, LAST if stop is None else stop, limit))
            found: list[Row] = c.fetchall()
            return found
    return [(n.id, n.originator_id, n.originator_version, n.topic, n.state)
            for n in recorder.select_notifications(start=start, limit=limit, stop=stop)]


def replay(app: EventStore, on_page: Callable[[int], None] | None = None, page: int = PAGE,
           after: int = 0, until: int | None = None, skipped: frozenset[str] = frozenset()
           ) -> Iterator[Any]:
    """Every stored event after notification ``after`` (up to ``until``, inclusive),
    oldest first, decoded as the application's mapper decodes them (``skipped`` topics as
    None: read and counted, not decoded)."""
    decode, unchanged = Decoder(app.mapper, skipped), _unchanged(app)
    gapless = isinstance(app.recorder, SQLiteAggregateRecorder)  # (PostgreSQL's sequence
    start = after + 1  # leaves a number unused by each rolled-back write: gaps are normal)
    while True:
        try:
            notifications = _read(app, start, page, until)
        except NotAnEventStore:  # (pages that moved under the reader read as damage)
            unchanged()
            raise
        unchanged()  # (before anything is concluded from the page)
        whole = len(notifications) if not gapless else _before_gap(notifications, start)
        for n in notifications[:whole]:
            try:
                yield decode(n)
            except StoredEventError as e:
                raise StoredEventError(f"notification {n[0]:,}: {e}") from e
        if whole < len(notifications):
            raise missing(start + whole, notifications[whole][0])
        if on_page:
            on_page(len(notifications))
        if len(notifications) < page:
            if gapless and until is not None:  # (the rows up to it: none may be absent)
                try:
                    _none_missing_up_to(app, start + len(notifications), until)
                finally:  # (a row read as missing from a file that changed: StoreChanged)
                    unchanged()
            return
        start = notifications[-1][0] + 1


def _unchanged(app: EventStore) -> Callable[[], None]:
    """For a SQLite file read immutable: a check, after each page read, that the file is as
    it was when the replay began (StoreChanged if not). One stat a page of 1,000 events."""
    recorder = app.recorder
    name = recorder.datastore.pool.db_name if isinstance(
        recorder, SQLiteAggregateRecorder) else ""
    if not (name.startswith("file:") and "immutable=1" in name):
        return lambda: None
    path = Path(os.fsdecode(unquote_to_bytes(urlsplit(name).path)))  # (a name not UTF-8 too)

    def state() -> tuple[int, int, int]:
        found = path.stat()
        return found.st_ino, found.st_size, found.st_mtime_ns

    began = state()

    def check() -> None:
        if state() != began:
            raise StoreChanged(
                "another program wrote to it: what was read before stands, of the rest "
                "nothing is concluded; audit it again when nothing writes to it")
    return check


def _none_missing_up_to(app: EventStore, after_last: int, until: int) -> None:
    """MissingEvents if a row after ``until`` is stored though the replay's last row read,
    just before ``after_last``, came before it (a gap at the replay's end)."""
    if after_last <= until and (beyond := _read(app, after_last, 1)):
        raise missing(after_last, beyond[0][0])


def _read(app: EventStore, start: int, limit: int, stop: int | None = None) -> list[Row]:
    """``rows``, its store's errors said as the audit says them."""
    with store_errors(getattr(app, "where", "the store")):
        return rows(app, start, limit, stop)


def missing(expected: int, found: int) -> MissingEvents:
    return MissingEvents(
        (f"notification {expected:,}" if found == expected + 1 else
         f"notifications {expected:,} to {found - 1:,}") + f" (before {found:,}) "
        f"{'is' if found == expected + 1 else 'are'} absent: a SQLite store numbers "
        "its events one after another, so rows were deleted or the file is damaged")


def _before_gap(notifications: list[Row], start: int) -> int:
    """How many of a page's rows, read from id ``start``, come before the first id missing
    (all of them if none is: one comparison per page; the ids only increase)."""
    if not notifications or notifications[-1][0] - start == len(notifications) - 1:
        return len(notifications)
    return next(i for i, n in enumerate(notifications) if n[0] != start + i)


Recall = Callable[[UUID, int], list[Any]]  # an aggregate's events before a version, read again


def recalled_from(app: EventStore) -> Recall:
    """An aggregate's events before a version, read from ``app``'s store again (a store
    that fails meanwhile is said as a replay says it)."""
    where = getattr(app, "where", "the store")

    def recall(aggregate_id: UUID, before: int) -> list[Any]:
        with store_errors(where):
            return list(app.events.get(aggregate_id, lte=before - 1))
    return recall


def position(app: EventStore) -> int:
    """The last notification id now: where a replay to the end stops (and the length of a
    progress bar)."""
    with store_errors(getattr(app, "where", "the store")):
        return int(app.recorder.max_notification_id() or 0)
