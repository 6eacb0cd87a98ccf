"""Each aggregate's events numbered 1, 2, 3… as it recorded them: a check the store makes
itself (one query, its memory flat), finding an event deleted from an aggregate's middle,
or renumbered, where the notification numbers cannot: on PostgreSQL (whose numbers have
gaps by design), and in a SQLite store before a checkpoint (rows a checkpointed verify
does not read again). A whole SQLite replay finds a deleted row by its gap already, at no
cost; this query would cost it a third more (about 2 µs an event). An event deleted from
an aggregate's end leaves its numbers in sequence."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier

from application.adapters.eventstore import EventStore
from application.audit.reading import OutOfSequence, store_errors

SHOWN = 3  # aggregates named in the error (the count says how many more)
_FOUND = ("SELECT originator_id, count(*), min(originator_version), max(originator_version) "
          "FROM {table} {where} GROUP BY originator_id "
          "HAVING min(originator_version) <> 1 OR max(originator_version) <> count(*)")
_TOUCHED = "WHERE originator_id IN (SELECT originator_id FROM {table} WHERE {id} > {after})"


def check_sequences(app: EventStore, after: int = 0) -> None:
    """OutOfSequence naming the aggregates whose versions are not 1 to their count (of
    those with an event after notification ``after``: what a checkpointed verify reads);
    on SQLite only after a checkpoint (see above)."""
    if isinstance(app.recorder, SQLiteAggregateRecorder) and not after:
        return
    with store_errors(getattr(app, "where", "the store")):
        found = _out_of_sequence(app, after)
    if found:
        named = "; ".join(f"aggregate {_uuid(originator_id)}: {count} events numbered {low} "
                          f"to {high}" for originator_id, count, low, high in found[:SHOWN])
        more = f" (and {len(found) - SHOWN:,} more)" if len(found) > SHOWN else ""
        raise OutOfSequence(f"{named}{more}: each aggregate numbers its events 1, 2, 3 and "
                            "on, so one was changed or deleted, or the file is damaged")


def _uuid(stored: object) -> object:
    """An originator id as the other errors name it (a UUID's text), if it is one."""
    try:
        return UUID(str(stored))
    except ValueError:
        return stored


def _out_of_sequence(app: EventStore, after: int) -> list[tuple[Any, ...]]:
    recorder = app.recorder
    if isinstance(recorder, SQLiteAggregateRecorder):
        return _in_sqlite(recorder, after)
    if isinstance(recorder, PostgresAggregateRecorder):
        return _in_postgres(recorder, after)
    return []  # (an in-memory store: nothing an audit reads)


def _in_sqlite(recorder: SQLiteAggregateRecorder, after: int) -> list[tuple[Any, ...]]:
    table = recorder.events_table_name
    where = _TOUCHED.format(table=table, id="rowid", after="?") if after else ""
    with recorder.datastore.transaction(commit=False) as c:
        c.execute(_FOUND.format(table=table, where=where), (after,) if after else ())
        return [tuple(row) for row in c.fetchall()]


def _in_postgres(recorder: PostgresAggregateRecorder, after: int) -> list[tuple[Any, ...]]:
    table = SQL("{}.{}").format(Identifier(recorder.datastore.schema),
                                Identifier(recorder.events_table_name))
    where = SQL(_TOUCHED).format(table=table, id=SQL("notification_id"),
                                 after=SQL("%s")) if after else SQL("")
    with recorder.datastore.transaction(commit=False) as curs:
        curs.execute(SQL(_FOUND).format(table=table, where=where), (after,) if after else None)
        return [tuple(row.values()) for row in curs.fetchall()]
