"""The portal as a worker process builds it: everything from the environment, which
``billing-station serve`` fills once (the shared secret, the store's settings) before it
starts its workers. Workers share nothing but the store and that secret."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from starlette.applications import Starlette

from application import bootstrap
from application.billing_station import BillingStation
from application.samples import (
    COMPANY,
    COMPANY_KANA,
    CUSTOMER_NUMBER,
    INFORMATION,
    MAIN_ID,
    PASSWORD,
    PLAN,
)
from domain.crypto import Hasher
from portal.app import create_app
from portal.config import TABLES_READY, WORKERS, PortalConfig

T = TypeVar("T")

# A served portal keeps the aggregates it read (a bounded LRU per worker) and, at every
# read, brings one up to date with only the events stored since by any worker (the
# library's fast-forward): half the CPU of rebuilding each from all its events, and never
# stale. Commands still get a copy; the store's optimistic concurrency is unchanged.
SERVING = {"AGGREGATE_CACHE_MAXSIZE": "10000", "AGGREGATE_CACHE_FASTFORWARD": "y"}
# On PostgreSQL, a request waits at most this long for a connection before its 503 page.
# A connection the server dropped at a restart fails its next use, which the store library
# retries on another (the pool discards the broken one), so service resumes by itself
# without a check before each use (POSTGRES_PRE_PING: a round trip more per read or save,
# a quarter of the portal's store CPU). Settings given win.
POSTGRES_SERVING = {"POSTGRES_CONNECT_TIMEOUT": "5"}


class PacedHasher(Hasher):
    """The settings' Hasher, its scrypt run on one long-lived thread per core of this
    process, the request threads waiting for their turn (D-14's limit is asked again
    when a login's turn comes: see PortalSessions.log_in_from). Each digest works through 16 MB
    (N=2^14, r=8): a dozen at once on two cores evict each other from the caches (each
    costs about 15% more CPU), and a digest on whichever pool thread comes next finds its
    memory cold; on the same few threads it costs nearly what it costs alone, and the queue
    finishes no later."""

    def _in_turn(self, work: Callable[[], T]) -> T:
        return _scrypt_threads().submit(work).result()


@functools.cache
def _scrypt_threads() -> ThreadPoolExecutor:
    """This worker's share of the cores (at least one): serve's workers split them
    (BS_PORTAL_WORKERS), so two workers on two cores run one digest each at a time, and
    four run four between them, not eight."""
    try:
        workers = max(1, int(os.environ.get(WORKERS, "1")))
    except ValueError:
        workers = 1
    return ThreadPoolExecutor(max(1, len(os.sched_getaffinity(0)) // workers), "scrypt")


def station_from(settings: bootstrap.Settings) -> BillingStation:
    store = SERVING | settings.store()
    if store["PERSISTENCE_MODULE"] == "eventsourcing.postgres":
        store = POSTGRES_SERVING | store
    if settings.environ.get(TABLES_READY) == "1":  # the parent created them: no race
        store = store | {"CREATE_TABLE": "false"}
    hasher = settings.hasher()
    return bootstrap.application(settings, store=store,
                                 hasher=PacedHasher(hasher.cost, hasher.entropy))


def create_from_environment() -> Starlette:
    """uvicorn's app factory (``portal.server:create_from_environment``)."""
    settings = bootstrap.Settings(dict(os.environ))
    return create_app(station_from(settings), PortalConfig.from_environ(settings.environ))


def onboard_demo_if_empty(station: BillingStation) -> bool:
    """The manual's demo customer (application.samples), when the store holds nothing yet."""
    if station.recorder.max_notification_id():
        return False
    station.onboard_customer(CUSTOMER_NUMBER, COMPANY, COMPANY_KANA, PLAN, MAIN_ID, PASSWORD,
                             INFORMATION)
    return True
