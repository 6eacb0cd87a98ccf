"""The portal as the attack tests reach it: a served portal of the test module's own, on
PostgreSQL where configured (as CI does) else SQLite, and browsers each at its own loopback
address (D-14 counts by address). Loaded with ``pytest_plugins`` for its fixture."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from tests.portal_fixtures import Served, http_log_in, onboard_customer, serving

KIND = "postgres" if os.environ.get("POSTGRES_HOST") else "sqlite"
_addresses: dict[str, Iterator[int]] = {}  # each served portal's own (D-14 counts in its store)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("attacked"), KIND) as served:
        _addresses[served.url] = iter(range(30, 250))
        yield served


def client(portal: Served, address: str | None = None) -> httpx.Client:
    """A browser at its own loopback address (D-14 counts by address)."""
    address = address or f"127.0.0.{next(_addresses[portal.url])}"
    return httpx.Client(base_url=portal.url, timeout=30,
                        transport=httpx.HTTPTransport(local_address=address))


_ids = iter(range(1, 10_000))


def customer(portal: Served, notify_key: bool = False) -> str:
    return onboard_customer(portal.station, f"atk{next(_ids):04d}", notify_key)


def recorded_since(portal: Served, after: int) -> list[str]:
    """The events stored after notification ``after``, by class, leaving out a session's
    own bookkeeping (its start at login and its end, D-12)."""
    notes = portal.station.recorder.select_notifications(start=after + 1, limit=10_000)
    kinds = [n.topic.split(":")[-1] for n in notes]
    return [k for k in kinds if not k.startswith("PortalSession")]


def last(portal: Served) -> int:
    return int(portal.station.recorder.max_notification_id() or 0)


def logged_in(portal: Served, login_id: str) -> httpx.Client:
    browser = client(portal)
    assert http_log_in(browser, login_id).headers["location"] == "/top"
    return browser
