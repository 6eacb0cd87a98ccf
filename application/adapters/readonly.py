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


def read_only(store: dict[str, str]) -> dict[str, str]:
    """The same store's settings, opened for reading only and never creating tables."""
    module = store["PERSISTENCE_MODULE"]
    if module == "eventsourcing.sqlite":
        uri = Path(store["SQLITE_DBNAME"]).resolve().as_uri() + "?mode=ro"
        return store | {"SQLITE_DBNAME": uri, "CREATE_TABLE": "false"}
    if module == "eventsourcing.postgres":
        return store | {"PERSISTENCE_MODULE": f"{__name__}:{ReadOnlyPostgresFactory.__name__}",
                        "CREATE_TABLE": "false"}
    return store
