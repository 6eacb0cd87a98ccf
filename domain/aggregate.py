"""The domain's aggregate base: the library's, with every event and snapshot stamped by the
model's clock, also those the library stamps itself (a creation, an event given no time)."""

from __future__ import annotations

from eventsourcing import domain

from domain import clock


class Aggregate(domain.Aggregate):
    class Event(domain.Aggregate.Event):
        create_timestamp = staticmethod(clock.now)

    class Snapshot(domain.Snapshot):
        create_timestamp = staticmethod(clock.now)
