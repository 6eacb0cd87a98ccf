"""The snapshots the services read in place of an aggregate's earlier events (kept in their
own table, apart from the events), each aggregate's latest held against what its events up
to it make it. verify trusts only events, and what they do not vouch for a snapshot can
change unseen: an account's password digest, the account a portal session is of. So
``verify --snapshots`` refuses a store holding a snapshot its events disagree with. It
reads each such aggregate's events again: about as long as a whole verify."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import attrs
from eventsourcing.persistence import AggregateRecorder
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier

from application.adapters.eventstore import EventStore, StoredEventError
from application.audit.reading import store_errors

SHOWN = 3  # snapshots named in the error (and whether there are more)
_LATEST = "SELECT originator_id, max(originator_version) FROM {} GROUP BY originator_id"


class ForgedSnapshot(StoredEventError):
    """A snapshot its aggregate's events disagree with: the services believe it instead."""

    what = "holds a snapshot its events disagree with"


class UnreadableSnapshot(ForgedSnapshot):
    """A snapshot that cannot be read as one of this system's aggregates' states."""

    what = "holds a snapshot that cannot be read"


@attrs.frozen
class Mismatch:
    aggregate_id: UUID
    kind: str  # its class, as the snapshot names it
    version: int
    fields: tuple[str, ...]  # named only: a value may be a digest
    reason: str | None = None  # why its events cannot be held against it, if they cannot

    def __str__(self) -> str:
        differs = f"its {', '.join(self.fields)} " + (
            "are not what its events make them" if len(self.fields) > 1
            else "is not what its events make it")
        return f"{self.kind} {self.aggregate_id} at version {self.version}: " + (
            self.reason or differs)


def check_snapshots(app: EventStore, on_start: Callable[[int], None] | None = None,
                    on_each: Callable[[], None] | None = None) -> int:
    """The snapshots checked (each aggregate's latest), or ForgedSnapshot naming the first
    that disagree. ``on_start`` is told how many, ``on_each`` of each (a progress bar)."""
    recorder = app.factory.aggregate_recorder("snapshots")  # (the audit's: made no table)
    where = getattr(app, "where", "the store")
    with store_errors(where):
        latest = _latest(recorder)
    if on_start:
        on_start(len(latest))
    found = []
    for aggregate_id, version in latest:
        with store_errors(where):
            mismatch = _mismatch(app, recorder, aggregate_id, version)
        if mismatch is not None:
            found.append(mismatch)
        if on_each:
            on_each()
    if found:
        more = f" (and {len(found) - SHOWN:,} more)" if len(found) > SHOWN else ""
        raise ForgedSnapshot(
            f"{'; '.join(map(str, found[:SHOWN]))}{more} (in {where}): the services read a "
            "snapshot as its aggregate's state, so one its events do not make was written "
            "by another hand, or the store is damaged")
    return len(latest)


def _latest(recorder: AggregateRecorder) -> list[tuple[UUID, int]]:
    """Each aggregate with a snapshot, and its latest snapshot's version (none if the store
    has no table of snapshots: one made by a version that took none)."""
    if isinstance(recorder, PostgresAggregateRecorder):
        schema, table = recorder.datastore.schema, recorder.events_table_name  # (snapshots')
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT count(*) AS n FROM information_schema.tables WHERE "
                         "table_schema = %s AND table_name = %s", (schema, table))
            if not next(iter(curs.fetchall()))["n"]:
                return []
            curs.execute(SQL(_LATEST).format(SQL("{}.{}").format(Identifier(schema),
                                                                 Identifier(table))))
            rows = [tuple(row.values()) for row in curs.fetchall()]
    elif isinstance(recorder, SQLiteAggregateRecorder):
        table = recorder.events_table_name
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                         "name = ?", (table,))
            if not curs.fetchone()[0]:
                return []
            curs.execute(_LATEST.format(table))
            rows = [tuple(row) for row in curs.fetchall()]
    else:  # (no other store is audited)
        return []
    try:
        return sorted((UUID(str(aggregate_id)), int(version)) for aggregate_id, version in rows)
    except (ValueError, TypeError) as e:
        raise ForgedSnapshot("its table of snapshots holds a row of no aggregate's id or "
                             "version: written by another hand, or damaged") from e


def _mismatch(app: EventStore, recorder: AggregateRecorder, aggregate_id: UUID,
              version: int) -> Mismatch | None:
    """How the aggregate the services would read from its latest snapshot differs from the
    one its events up to it make: the fields the snapshot keeps, each read as the services
    read it. A field it lacks that its class gives a default for was not kept yet when the
    snapshot was taken (by an earlier version: the services read the default, as then)."""
    [stored] = recorder.select_events(aggregate_id, gt=version - 1, lte=version)
    try:
        snapshot: Any = app.mapper.to_domain_event(stored)
    except StoredEventError as e:  # (not an event of the store: its snapshot, said as one)
        raise UnreadableSnapshot(str(e).replace("stored event", "the snapshot of", 1)) from e
    kind = snapshot.topic.rpartition(":")[2]
    try:
        read = snapshot.mutate(None)  # (upcast, as the services read it)
        rebuilt: Any = None
        for event in app.events.get(aggregate_id, lte=version):
            rebuilt = event.mutate(rebuilt)  # type: ignore[attr-defined]
    except StoredEventError:
        raise
    except Exception as e:  # (events edited or deleted in place: verify does not see them)
        return Mismatch(aggregate_id, kind, version, (),
                        f"it or its events cannot be replayed ({type(e).__name__})")
    if rebuilt is None:
        return Mismatch(aggregate_id, kind, version, (), "its aggregate has no events")
    if rebuilt.version != version:
        return Mismatch(aggregate_id, kind, version, (),
                        f"its aggregate's events end at version {rebuilt.version}")
    kept = vars(read).keys() - _STRUCTURE
    lacked = {name for name in vars(rebuilt).keys() - _STRUCTURE - kept
              if not hasattr(type(rebuilt), name)}  # (no default: the services would fail)
    names = sorted(kept | lacked)
    transcoder = app.mapper.transcoder  # (both as stored and read back, to compare)
    snapshot_says, events_say = (transcoder.decode(transcoder.encode(
        {name: getattr(aggregate, name, None) for name in names})) for aggregate in (read, rebuilt))
    fields = tuple(name for name in names if snapshot_says[name] != events_say[name])
    if type(read) is not type(rebuilt):
        fields = ("its class", *fields)
    return Mismatch(aggregate_id, kind, version, fields) if fields else None


_STRUCTURE = frozenset({"_id", "_version", "_pending_events"})  # (no state: not kept)
