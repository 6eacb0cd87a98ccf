"""Stores opened for reading only (D-16): the audit never writes to what it audits."""

from __future__ import annotations

from pathlib import Path

from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, EnvType


class ReadOnlyPostgresFactory(PostgresFactory):
    """PostgreSQL with every transaction read-only: a write (or a CREATE TABLE) fails."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        kwargs = self.datastore.pool.kwargs
        assert isinstance(kwargs, dict)
        kwargs["options"] = "-c default_transaction_read_only=on"


def sqlite_read_uri(path: Path | str) -> str:
    """A SQLite file's URI for reading only. With no write-ahead log beside it (a closed
    store, another program's database) it is read as immutable: SQLite then creates no
    -wal or -shm file and takes no lock, so a store in a folder the reader cannot write is
    read too. With one (a store being written), the log is read as it stands."""
    path = Path(path).resolve()
    wal = path.with_name(path.name + "-wal")
    return path.as_uri() + ("?mode=ro" if wal.exists() else "?mode=ro&immutable=1")


def read_only(store: dict[str, str]) -> dict[str, str]:
    """The same store's settings, opened for reading only and never creating tables."""
    module = store["PERSISTENCE_MODULE"]
    if module == "eventsourcing.sqlite":
        uri = sqlite_read_uri(store["SQLITE_DBNAME"])
        return store | {"SQLITE_DBNAME": uri, "CREATE_TABLE": "false"}
    if module == "eventsourcing.postgres":  # a server that does not answer: said in 5 s,
        return {"POSTGRES_CONNECT_TIMEOUT": "5"} | store | {  # not 30 (unless set)
            "PERSISTENCE_MODULE": f"{__name__}:{ReadOnlyPostgresFactory.__name__}",
            "CREATE_TABLE": "false"}
    return store
