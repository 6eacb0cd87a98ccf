"""Each aggregate's events numbered 1, 2, 3… as it recorded them, on PostgreSQL: its
notification numbers have gaps by design (its sequence keeps no number a rolled-back write
took), so a row deleted from an aggregate's middle is found by its versions instead, in a
query the store makes itself (its memory flat). A SQLite store numbers its events one after
another, and the replay's gap check finds a deleted row there at no cost (the versions'
query would cost a whole verify a fifth to a third more); a checkpointed verify does not
read again the rows before its checkpoint, so there the store counts them (a row deleted
from any aggregate found, as the whole verify's gap check finds it), and on PostgreSQL the
aggregates it reads are counted. An event deleted from an aggregate's end leaves its numbers
in sequence; an event changed in place is not found either way."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier, Literal

from application.adapters.eventstore import EventStore
from application.audit.reading import OutOfSequence, missing, store_errors

SHOWN = 3  # aggregates named in the error (and whether there are more)
_BROKEN = "min(originator_version) <> 1 OR max(originator_version) <> count(*)"
_FOUND = ("SELECT originator_id, count(*), min(originator_version), max(originator_version) "
          "FROM {table} GROUP BY originator_id HAVING " + _BROKEN)
# Of the aggregates with an event after the checkpoint, each counted through its own
# (originator_id, originator_version) index entries: the work grows with what was read
# since, not with the store (an IN (...) of them was planned as a scan of the whole table).
_TOUCHED = ("SELECT touched.originator_id, counted.* FROM "
            "(SELECT DISTINCT originator_id FROM {table} WHERE notification_id > %s) touched, "
            "LATERAL (SELECT count(*), min(originator_version), max(originator_version) "
            "FROM {table} e WHERE e.originator_id = touched.originator_id "
            "HAVING " + _BROKEN + ") counted")


@contextmanager
def sequences_checked(app: EventStore, after: int = 0) -> Iterator[Callable[[], None]]:
    """``check_sequences(app, after)``, begun as the caller reads the events after ``after``
    and its verdict given by the callable yielded. On SQLite after a checkpoint it counts
    beside the reading, on a thread of its own: its query is the store's, which lets the
    reading go on meanwhile (on a second core, it takes no time; a tenth of a checkpointed
    verify of 10,000 events otherwise). A reading that fails first (or Ctrl-C) does not
    wait for it: its verdict is dropped, and the process does not wait for it to end."""
    if not (after and isinstance(app.recorder, SQLiteAggregateRecorder)):
        yield lambda: check_sequences(app, after)
        return
    found: list[BaseException | None] = []

    def count() -> None:
        try:
            check_sequences(app, after)
            found.append(None)
        except BaseException as e:  # (said by the verdict, in the reading's thread)
            found.append(e)

    counting = threading.Thread(target=count, name="verify-count", daemon=True)
    counting.start()

    def verdict() -> None:
        counting.join()
        if found[0] is not None:
            raise found[0]
    yield verdict


def check_sequences(app: EventStore, after: int = 0) -> None:
    """OutOfSequence naming the aggregates whose versions are not 1 to their count (of
    those with an event after notification ``after``: what a checkpointed verify reads),
    on PostgreSQL; on SQLite after a checkpoint, MissingEvents if a row up to ``after`` is
    absent (a whole replay's gap check finds it: see above)."""
    recorder = app.recorder
    if isinstance(recorder, SQLiteAggregateRecorder):
        if after:
            with store_errors(getattr(app, "where", "the store")):
                _none_missing_to_checkpoint(recorder, after)
        return
    if not isinstance(recorder, PostgresAggregateRecorder):
        return
    with store_errors(getattr(app, "where", "the store")):
        found = _out_of_sequence(app, after)
    if found:
        named = "; ".join(f"aggregate {originator_id}: {count} events numbered {low} "
                          f"to {high}" for originator_id, count, low, high in found[:SHOWN])
        more = " (and more)" if len(found) > SHOWN else ""
        raise OutOfSequence(f"{named}{more}: each aggregate numbers its events 1, 2, 3 and "
                            "on, so one was changed or deleted, or the store is damaged")


def _out_of_sequence(app: EventStore, after: int) -> list[tuple[Any, ...]]:
    """The first SHOWN + 1 such aggregates (a few rows, whatever the store holds)."""
    recorder = app.recorder
    assert isinstance(recorder, PostgresAggregateRecorder)
    table = SQL("{}.{}").format(Identifier(recorder.datastore.schema),
                                Identifier(recorder.events_table_name))
    query = SQL(_TOUCHED if after else _FOUND).format(table=table)
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(SQL("{query} LIMIT {shown}").format(query=query, shown=Literal(SHOWN + 1)),
                     (after,) if after else None)
        return [tuple(row.values()) for row in curs.fetchall()]


# SQLite: the rows up to the checkpoint, counted as all rows less those after it (a
# count through the smallest index, 16 ms a million rows; counting the rowid's range walks
# the table, six times that); only if one is absent, where: the first row without its next
_COUNTED = ("SELECT (SELECT count(*) FROM {t}) - (SELECT count(*) FROM {t} WHERE rowid > ?) "
            "- (SELECT count(*) FROM {t} WHERE rowid < 1)")  # (a row numbered so, written
#   by another hand, is read by no replay: counted, it hid one deleted)
_NEXT = "SELECT min(rowid) FROM {t} WHERE rowid > ?"
_LAST_BEFORE_GAP = ("SELECT rowid FROM {t} a WHERE rowid BETWEEN 1 AND ? AND NOT EXISTS "
                    "(SELECT 1 FROM {t} b WHERE b.rowid = a.rowid + 1) ORDER BY rowid LIMIT 1")


def _none_missing_to_checkpoint(recorder: SQLiteAggregateRecorder, after: int) -> None:
    """MissingEvents naming the first rows absent up to notification ``after`` (as the
    replay's gap check would name them)."""
    t = recorder.events_table_name
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(_COUNTED.format(t=t), (after,))
        if curs.fetchone()[0] == after:
            return
        curs.execute(_NEXT.format(t=t), (0,))
        first = curs.fetchone()[0]
        if first != 1:
            raise missing(1, first)
        curs.execute(_LAST_BEFORE_GAP.format(t=t), (after - 1,))
        found = curs.fetchone()
        if found is None:  # (rows numbered below 1: no replay reads them)
            return
        curs.execute(_NEXT.format(t=t), (found[0],))
        raise missing(found[0] + 1, curs.fetchone()[0])
