"""Each aggregate's events numbered 1, 2, 3… as it recorded them, on PostgreSQL: its
notification numbers have gaps by design (its sequence keeps no number a rolled-back write
took), so a row deleted from an aggregate's middle is found by its versions instead, in a
query the store makes itself (its memory flat). A SQLite store numbers its events one after
another, and the replay's gap check finds a deleted row there at no cost (this query would
cost a whole verify a fifth to a third more); a checkpointed verify does not read again the
rows before its checkpoint, so there the aggregates it reads are counted as on PostgreSQL.
An event deleted from an aggregate's end leaves its numbers in sequence; an event changed in
place is not found either way."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier, Literal

from application.adapters.eventstore import EventStore
from application.audit.reading import OutOfSequence, store_errors

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


def check_sequences(app: EventStore, after: int = 0) -> None:
    """OutOfSequence naming the aggregates whose versions are not 1 to their count (of
    those with an event after notification ``after``: what a checkpointed verify reads);
    on PostgreSQL; on SQLite after a checkpoint only, whose replay does not read again the
    rows where one deleted would leave its gap (see above)."""
    postgres = isinstance(app.recorder, PostgresAggregateRecorder)
    if not postgres and not (after and isinstance(app.recorder, SQLiteAggregateRecorder)):
        return
    with store_errors(getattr(app, "where", "the store")):
        found = _out_of_sequence(app, after) if postgres else _out_of_sequence_sqlite(app, after)
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


# SQLite has no LATERAL: the aggregates read since, found by the rowid's range (NOT
# INDEXED: by the primary key's index it scanned the whole store), each counted through its
# own primary key entries (a join of the two was planned as two scans of the whole store)
_TOUCHED_SQLITE = (
    "SELECT id, n, low, high FROM (SELECT t.originator_id AS id, "
    "(SELECT count(*) FROM {table} e WHERE e.originator_id = t.originator_id) AS n, "
    "(SELECT min(originator_version) FROM {table} e WHERE e.originator_id = t.originator_id) "
    "AS low, "
    "(SELECT max(originator_version) FROM {table} e WHERE e.originator_id = t.originator_id) "
    "AS high "
    "FROM (SELECT DISTINCT originator_id FROM {table} NOT INDEXED WHERE rowid > ?) t) "
    f"WHERE low <> 1 OR high <> n LIMIT {SHOWN + 1}")


def _out_of_sequence_sqlite(app: EventStore, after: int) -> list[tuple[Any, ...]]:
    recorder = app.recorder
    assert isinstance(recorder, SQLiteAggregateRecorder)
    query = _TOUCHED_SQLITE.format(table=recorder.events_table_name)
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(query, (after,))
        return [tuple(row) for row in curs.fetchall()]
