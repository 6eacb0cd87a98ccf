"""SQLite for a simulation's store: nothing flushed to the disk while it runs, everything
when it closes.

eventsourcing keeps a SQLite file in WAL mode with SQLite's default ``synchronous=FULL``:
each commit waits for the disk. A simulation's store is made anew from its seed when a run
stops short, so while it runs it need not wait at all: ``synchronous=OFF`` (WAL mode's
``NORMAL`` still waits for the disk at every checkpoint: time no run needs). When the
store closes, at the
run's end, its connections flush everything and fold the log into the file with the
library's own setting, so a finished run is on the disk whole. The portal's and the audit's
stores keep the library's setting throughout."""

from __future__ import annotations

from eventsourcing.sqlite import SQLiteConnection, SQLiteConnectionPool, SQLiteFactory
from eventsourcing.utils import Environment, EnvType

TOPIC = f"{__name__}:UnflushedSQLiteFactory"


class UnflushedConnection(SQLiteConnection):
    def _close(self) -> None:
        """The run's end made durable: the log checkpointed into the file, flushed. A
        checkpoint another open connection keeps busy is left to that one's close (the
        pool closes them all); a failure to write (a full disk) is raised, after closing.
        A transaction still open is a save a Ctrl-C cut between its BEGIN and the library's
        handling of the interrupt: rolled back, as unfinished (SQLite refuses the setting
        inside one, and an interrupted run would say its store could not be written)."""
        try:
            if self._sqlite_conn.in_transaction:
                self._sqlite_conn.rollback()
            self._sqlite_conn.execute("PRAGMA synchronous=FULL")
            self._sqlite_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            super()._close()


class UnflushedPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        connection._sqlite_conn.execute("PRAGMA synchronous=OFF")
        connection.__class__ = UnflushedConnection  # (the library builds it; same state)
        return connection


class UnflushedSQLiteFactory(SQLiteFactory):
    """The library's SQLite factory, its connections made by ``UnflushedPool``."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        self.datastore.pool.__class__ = UnflushedPool  # no connection is made before use


def unflushed(store: dict[str, str]) -> dict[str, str]:
    """A SQLite store's settings with nothing flushed until it closes; others as they are."""
    if store.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite":
        return store | {"PERSISTENCE_MODULE": TOPIC}
    return store
