"""The portal as a worker process builds it: everything from the environment, which
``billing-station serve`` fills once (the shared secret, the store's settings) before it
starts its workers. Workers share nothing but the store and that secret."""

from __future__ import annotations

import os
import threading

from starlette.applications import Starlette

from application import bootstrap
from application.billing_station import BillingStation
from domain.crypto import Hasher
from portal.app import create_app
from portal.config import TABLES_READY, PortalConfig
from simulations.samples import (
    COMPANY,
    COMPANY_KANA,
    CUSTOMER_NUMBER,
    INFORMATION,
    MAIN_ID,
    PASSWORD,
    PLAN,
)

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
    """The settings' Hasher, running at most one scrypt per core at once in this process.
    Each digest works through 16 MB (N=2^14, r=8): sixteen at once on two cores (a worker's
    threadpool under load) evict each other from the caches and each costs about 13% more
    CPU (39 ms against 34 here); queued, they cost what one alone costs, and finish no
    later on the whole."""

    @staticmethod
    def _derive(secret: str, salt: bytes, cost: int) -> bytes:
        with _SCRYPT_SLOTS:
            return Hasher._derive(secret, salt, cost)


_SCRYPT_SLOTS = threading.BoundedSemaphore(len(os.sched_getaffinity(0)))


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
    """The manual's demo customer (simulations.samples), when the store holds nothing yet."""
    if station.recorder.max_notification_id():
        return False
    station.onboard_customer(CUSTOMER_NUMBER, COMPANY, COMPANY_KANA, PLAN, MAIN_ID, PASSWORD,
                             INFORMATION)
    return True
