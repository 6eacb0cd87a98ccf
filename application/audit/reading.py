"""The audit's way into a store: an application that only reads, and the store's events
streamed in order, page by page, decoded by the system's own mapper."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError
from eventsourcing.utils import EnvType
from psycopg_pool import PoolTimeout

from application.adapters.eventstore import EventStore, StoredEventError

PAGE = 1000


class NotAnEventStore(Exception):
    """What the audit was pointed at is not this system's event store (D-16)."""


class StoreUnavailable(Exception):
    """The store's server cannot be reached (down, or refusing connections)."""


class AuditReader(EventStore):
    """Reads the events of this system's store: no mailer, no hasher, no command. Opening
    it checks that the store is one: readable, holding events, the first of them ours."""

    name = "BillingStation"

    def __init__(self, env: EnvType, where: str = "the store") -> None:
        self.where = where  # how the auditor named the store: a path, or a database
        try:
            super().__init__(env)
            last = self.recorder.max_notification_id()
            first = self.recorder.select_notifications(start=None, limit=1)
        except (PersistenceError, sqlite3.Error, psycopg.Error) as e:  # not a store, or not ours
            reason = (str(e).splitlines() or [type(e).__name__])[0]
            if isinstance(e.__cause__, PoolTimeout | psycopg.OperationalError):
                raise StoreUnavailable(f"cannot reach {where} ({reason})") from e
            raise NotAnEventStore(f"{where} is not a Billing Station event store ({reason})") from e
        if not last or not first:
            raise NotAnEventStore(f"{where} holds no events: nothing to audit")
        try:
            event = self.mapper.to_domain_event(first[0])
        except StoredEventError as e:
            raise NotAnEventStore(f"{where} is not a Billing Station event store: {e}") from e
        if not type(event).__module__.startswith("domain."):  # another application's events
            raise NotAnEventStore(f"{where} is not a Billing Station event store (its first "
                                  f"event is a {first[0].topic})")


def replay(app: EventStore, on_page: Callable[[int], None] | None = None, page: int = PAGE
           ) -> Iterator[Any]:
    """Every stored event, oldest first, decoded by the application's own mapper."""
    start = None
    while True:
        notifications = app.recorder.select_notifications(start=start, limit=page)
        for n in notifications:
            try:
                yield app.mapper.to_domain_event(n)
            except StoredEventError as e:
                raise StoredEventError(f"notification {n.id}: {e}") from e
        if on_page:
            on_page(len(notifications))
        if len(notifications) < page:
            return
        start = notifications[-1].id + 1


def store_size(app: EventStore) -> int:
    """The last notification id: the length of a progress bar."""
    return int(app.recorder.max_notification_id() or 0)
