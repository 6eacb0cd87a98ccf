"""SQLite for a simulation's store: its commits are not flushed to the disk one by one.

eventsourcing keeps a SQLite file in WAL mode with SQLite's default ``synchronous=FULL``:
each commit waits for the disk, and on an ordinary disk that wait, not the work, sets the
pace of a simulation (and lets two shards on one disk go little faster than one). A
simulation's store is made anew from its seed when a run stops short, so it need not wait:
``synchronous=NORMAL``, WAL mode's usual setting, keeps the file consistent whatever
happens (a power cut may lose the last commits; each checkpoint flushes). The portal's
and the audit's stores keep the library's setting."""

from __future__ import annotations

from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteFactory
from eventsourcing.utils import Environment, EnvType

TOPIC = f"{__name__}:UnflushedSQLiteFactory"


class UnflushedPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        connection._sqlite_conn.execute("PRAGMA synchronous=NORMAL")
        return connection


class UnflushedSQLiteFactory(SQLiteFactory):
    """The library's SQLite factory, its connections made by ``UnflushedPool``."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        self.datastore.pool.__class__ = UnflushedPool  # no connection is made before use


def unflushed(store: dict[str, str]) -> dict[str, str]:
    """A SQLite store's settings with commits not flushed one by one; others as they are."""
    if store.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite":
        return store | {"PERSISTENCE_MODULE": TOPIC}
    return store
