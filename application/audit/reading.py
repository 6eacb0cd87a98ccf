"""The audit's way into a store: an application that only reads, and the store's events
streamed in order, page by page, decoded by the system's own mapper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from application.adapters.eventstore import EventStore, StoredEventError

PAGE = 1000


class AuditReader(EventStore):
    """Reads the events of this system's store: no mailer, no hasher, no command."""

    name = "BillingStation"


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
