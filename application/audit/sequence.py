"""Each aggregate's events numbered 1, 2, 3… as it recorded them, in a query the store
makes itself (its memory flat): a row deleted from an aggregate's middle, or an event's
version changed in place, leave an aggregate the services cannot rebuild. On PostgreSQL
its notification numbers have gaps by design (its sequence keeps no number a rolled-back
write took), so the versions are what finds a deleted row there. A SQLite store numbers
its events one after another, and the replay's gap check finds a deleted row at no cost;
the versions' query (0.17 s a million rows, a few per cent of a whole verify) runs there
beside the reading, on a thread of its own. A checkpointed verify does not read again the
rows before its checkpoint: on SQLite the store counts them (a row deleted from any
aggregate found, as the whole verify's gap check finds it) and finds each event read since
preceded by its own previous one; on PostgreSQL the aggregates it reads are counted whole.
An event deleted from an aggregate's end leaves its numbers in sequence; an event's other
fields changed in place are not found."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Literal

from application.adapters.eventstore import EventStore
from application.audit.reading import OutOfSequence, missing, postgres_table, store_errors

SHOWN = 3  # aggregates named in the error (and whether there are more)
_BROKEN = "min(originator_version) <> 1 OR max(originator_version) <> count(*)"
_FOUND = ("SELECT originator_id, count(*), min(originator_version), max(originator_version) "
          "FROM {table} GROUP BY originator_id HAVING " + _BROKEN)
# SQLite after a checkpoint: each event read since preceded by its aggregate's previous
# one (all of them so: numbered 1 to their count), a search in the (originator_id,
# originator_version) index each: 9 ms for 10,000 new events on a 1M-event store, where
# counting their aggregates whole took 52; the aggregates so found, counted for the error.
_UNPRECEDED = ("SELECT originator_id FROM {table} a WHERE rowid > ? AND originator_version > 1 "
               "AND NOT EXISTS (SELECT 1 FROM {table} b WHERE b.originator_id = "
               "a.originator_id AND b.originator_version = a.originator_version - 1) LIMIT ?")
_COUNTED_ONE = ("SELECT originator_id, count(*), min(originator_version), "
                "max(originator_version) FROM {table} WHERE originator_id = ?")
# PostgreSQL after a checkpoint: the aggregates with an event after it, each counted
# through its own index entries: the work grows with what was read since, not with the
# store (an IN (...) of them was planned as a scan of the whole table).
_TOUCHED = ("SELECT touched.originator_id, counted.* FROM "
            "(SELECT DISTINCT originator_id FROM {table} WHERE notification_id > %s) touched, "
            "LATERAL (SELECT count(*), min(originator_version), max(originator_version) "
            "FROM {table} e WHERE e.originator_id = touched.originator_id "
            "HAVING " + _BROKEN + ") counted")


@contextmanager
def sequences_checked(app: EventStore, after: int = 0) -> Iterator[Callable[[], None]]:
    """``check_sequences(app, after)``, begun as the caller reads the events after ``after``
    and its verdict given by the callable yielded. On a SQLite file it counts beside the
    reading, on a thread and a connection of its own (the store's pool may be closed under
    it): its queries are the store's, which lets the reading go on meanwhile (on a second
    core, they take no time). A reading that fails first (or Ctrl-C) interrupts it and
    drops its verdict."""
    recorder = app.recorder
    if not isinstance(recorder, SQLiteAggregateRecorder) or \
            recorder.datastore.pool.is_sqlite_memory_mode:  # (one connection: in turn)
        yield lambda: check_sequences(app, after)
        return
    connection = sqlite3.connect(recorder.datastore.pool.db_name, uri=True,
                                 check_same_thread=False, isolation_level=None)
    found: list[BaseException | None] = []

    def count() -> None:
        try:
            with store_errors(getattr(app, "where", "the store")):
                _in_sequence_sqlite(connection, recorder.events_table_name, after)
            found.append(None)
        except BaseException as e:  # (said by the verdict, in the reading's thread)
            found.append(e)

    counting = threading.Thread(target=count, name="verify-count", daemon=True)
    counting.start()

    def verdict() -> None:
        counting.join()
        if found[0] is not None:
            raise found[0]
    try:
        yield verdict
    finally:  # (the reading failed first: the query under way, and each after it, stopped)
        while counting.is_alive():
            connection.interrupt()
            counting.join(0.05)
        connection.close()


def check_sequences(app: EventStore, after: int = 0) -> None:
    """OutOfSequence naming the aggregates whose versions are not 1 to their count (of
    those with an event after notification ``after``: what a checkpointed verify reads);
    on SQLite after a checkpoint, first MissingEvents if a row up to ``after`` is absent (a
    whole replay's gap check finds it: see above)."""
    recorder = app.recorder
    with store_errors(getattr(app, "where", "the store")):
        if isinstance(recorder, SQLiteAggregateRecorder):
            with recorder.datastore.transaction(commit=False) as curs:
                _in_sequence_sqlite(curs.sqlite_cursor.connection,
                                    recorder.events_table_name, after)
            return
        if not isinstance(recorder, PostgresAggregateRecorder):
            return
        found = _broken_on_postgres(app, after)
    refuse_out_of_sequence(found)


def refuse_out_of_sequence(found: list[tuple[Any, ...]]) -> None:
    """OutOfSequence naming the first aggregates ``found`` (id, count, lowest, highest)."""
    if found:
        named = "; ".join(f"aggregate {originator_id}: " + (
            f"{count:,} events numbered {low:,} to {high:,}" if count != 1 else
            f"1 event numbered {low:,}") for originator_id, count, low, high in found[:SHOWN])
        more = " (and more)" if len(found) > SHOWN else ""
        raise OutOfSequence(f"{named}{more}: each aggregate numbers its events 1, 2, 3 and "
                            "on, so one was changed or deleted, or the store is damaged")


def _broken_on_postgres(app: EventStore, after: int) -> list[tuple[Any, ...]]:
    """The first SHOWN + 1 aggregates not numbered 1 to their count (a few rows, whatever
    the store holds)."""
    recorder = app.recorder
    assert isinstance(recorder, PostgresAggregateRecorder)
    query = SQL(_TOUCHED if after else _FOUND).format(table=postgres_table(recorder))
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(SQL("{query} LIMIT {shown}").format(query=query, shown=Literal(SHOWN + 1)),
                     (after,) if after else None)
        return [tuple(row.values()) for row in curs.fetchall()]


def _in_sequence_sqlite(connection: sqlite3.Connection, table: str, after: int) -> None:
    """check_sequences on a SQLite store through ``connection``: after a checkpoint, the
    rows up to it counted, then each read since found preceded; else the versions."""
    if not after:
        found = connection.execute(f"{_FOUND.format(table=table)} LIMIT {SHOWN + 1}")
        refuse_out_of_sequence([(_as_uuid(row[0]), *row[1:]) for row in found.fetchall()])
        return
    _none_missing_to_checkpoint(connection, table, after)
    ids = connection.execute(_UNPRECEDED.format(table=table), (after, 100 * SHOWN))
    counted = (connection.execute(_COUNTED_ONE.format(table=table), (originator_id,)).fetchone()
               for originator_id in dict.fromkeys(row[0] for row in ids.fetchall()))
    refuse_out_of_sequence([(_as_uuid(row[0]), *row[1:]) for row in itertools.islice(counted,
                                                                              SHOWN + 1)])


def _as_uuid(stored: str) -> UUID | str:
    """An originator id as SQLite stores it (its hex), said as a UUID if it is one."""
    try:
        return UUID(stored)
    except (ValueError, TypeError):
        return repr(stored)


# SQLite: the rows up to the checkpoint, counted as all rows less those after it (a
# count through the smallest index, 16 ms a million rows; counting the rowid's range walks
# the table, six times that); only if one is absent, where: the first row without its next
_COUNTED = ("SELECT (SELECT count(*) FROM {t}) - (SELECT count(*) FROM {t} WHERE rowid > ?) "
            "- (SELECT count(*) FROM {t} WHERE rowid < 1)")  # (a row numbered so, written
#   by another hand, is read by no replay: counted, it hid one deleted)
_NEXT = "SELECT min(rowid) FROM {t} WHERE rowid > ?"
_LAST_BEFORE_GAP = ("SELECT rowid FROM {t} a WHERE rowid BETWEEN 1 AND ? AND NOT EXISTS "
                    "(SELECT 1 FROM {t} b WHERE b.rowid = a.rowid + 1) ORDER BY rowid LIMIT 1")


def _none_missing_to_checkpoint(connection: sqlite3.Connection, t: str, after: int) -> None:
    """MissingEvents naming the first rows absent up to notification ``after`` (as the
    replay's gap check would name them)."""
    def first(query: str, *args: int) -> Any:
        row = connection.execute(query.format(t=t), args).fetchone()
        return None if row is None else row[0]

    if first(_COUNTED, after) == after:
        return
    lowest = first(_NEXT, 0)
    if lowest != 1:
        raise missing(1, lowest)
    before_gap = first(_LAST_BEFORE_GAP, after - 1)
    if before_gap is None:  # (rows numbered below 1: no replay reads them)
        return
    raise missing(before_gap + 1, first(_NEXT, before_gap))
