"""A scenario's customers split into shards, each shard a simulation of its own, one
report for all of them.

A customer and its sub IDs are always in one shard: shards are contiguous ranges of
customers, balanced by login IDs. Every person draws from their own seeded stream and the
customers are drawn in one order whatever the shard (``runner.customer_plans``), so a shard
plays exactly the visits its customers play in the whole run; only keys, salts and attempt
ids come from a stream of the shard's own. The same seed and shard count therefore give the
same stores and the same report, and the merged counts equal the whole run's.

Each shard writes its own SQLite store, or all of them one shared PostgreSQL store (then
the caller creates its tables first; see ``simulations.dask_runs``).
"""

from __future__ import annotations

import itertools
import resource
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import attrs

from application import bootstrap
from application.adapters.eventstore import EventStore
from simulations.report import OUTCOMES, ROUTES, Report, over_all_visits, report
from simulations.runner import STORE, Part, Simulation, Tally, customer_plans
from simulations.scenario import Scenario

# Modules that keep real time while a shard's clock is frozen: a Dask worker's own event
# loop, its comms and heartbeats run in the same process as the simulation.
WORKER_MODULES = ("asyncio", "tornado", "distributed", "dask", "concurrent", "threading",
                  "queue", "selectors", "socket", "ssl", "psutil", "zict", "msgpack",
                  "cloudpickle", "tblib", "tqdm")


def parts(scenario: Scenario, count: int) -> list[Part]:
    """``count`` contiguous ranges of customers with about as many login IDs each (never
    more shards than customers)."""
    people = [plan.people for plan in customer_plans(scenario)]
    count = max(1, min(count, len(people)))
    total, bounds, first = sum(people), [], 0
    running = list(itertools.accumulate(people))
    for k in range(1, count):
        target = total * k / count
        end = next(i + 1 for i, r in enumerate(running) if r >= target)
        end = min(max(end, first + 1), len(people) - (count - k))  # every shard non-empty
        bounds.append((first, end))
        first = end
    bounds.append((first, len(people)))
    return [Part(k, count, bound) for k, bound in enumerate(bounds)]


def folder_of(folder: Path, part: Part) -> Path:
    return folder / f"shard-{part.index + 1:02d}-of-{part.count:02d}"


@attrs.frozen
class ShardResult:
    """What a shard hands back: its report (None on a shared store, counted once for all
    shards by the caller), the visits' tally, its wall seconds and its process's peak RSS."""

    part: Part
    tally: Tally
    report: Report | None
    seconds: float
    events: int
    peak_mib: float
    store: Path | None


def own_store(folder: Path) -> bootstrap.StoreSettings:
    """A shard's SQLite store made afresh in ``folder``, its tables created here and now;
    the settings that open it without creating them (so a Dask worker's first commit is a
    save: creating tables in a worker has been seen to fail there intermittently, "cannot
    commit transaction - SQL statements in progress")."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    store = bootstrap.store_settings("sqlite", folder / STORE)
    create_tables(store)
    return store | {"CREATE_TABLE": "false"}


def create_tables(store: bootstrap.StoreSettings) -> None:
    """The store's tables as the application has them: events, and snapshots (accounts
    are snapshotted)."""
    EventStore(store | {"CREATE_TABLE": "true", "IS_SNAPSHOTTING_ENABLED": "y"}).close()


def run_shard(scenario: Scenario, part: Part, folder: Path,
              store: bootstrap.StoreSettings | None = None,
              on_day: Callable[[int], None] | None = None,
              real_time_for: tuple[str, ...] = (), shared: bool = False) -> ShardResult:
    """One shard, start to end, in this process, on ``store``: the shard's own (made by
    ``own_store``; default: made here), or a ``shared`` one (then no report of its own: the
    caller counts the attempts once over the whole store)."""
    from time import perf_counter  # bound now: freezegun patches the module's later

    began = perf_counter()
    if store is None or (not shared and _has_events(store)):  # a retried shard starts clean
        store = own_store(folder)
    simulation = Simulation(scenario, folder, on_day, store=store, part=part,
                            real_time_for=real_time_for)
    try:
        tally = simulation.run()
        events = int(simulation.app.recorder.max_notification_id() or 0)
        result = None if shared else report(simulation)
    finally:
        simulation.close()
    return ShardResult(part, tally, result, perf_counter() - began, events,
                       resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                       None if shared else Path(store["SQLITE_DBNAME"]))


def _has_events(store: bootstrap.StoreSettings) -> bool:
    app = EventStore(store)
    try:
        return bool(app.recorder.max_notification_id())
    finally:
        app.close()


def merge(reports: list[Report]) -> Report:
    """The shards' reports as one: the report the whole run would give (counts summed, time
    to log in over all visits of all shards, the slowest login of any)."""
    first = reports[0]
    visits = sum(r.visits for r in reports)
    histogram = [s for r in reports for s in r.histogram]
    support: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    expiries: Counter[str] = Counter()
    for r in reports:
        support.update(r.support)
        outcomes.update(r.outcomes)
        expiries.update(r.expiries_by_hour)
    slowest = [r.slowest_login for r in reports if r.slowest_login is not None]
    return attrs.evolve(
        first, people=sum(r.people for r in reports), visits=visits,
        logged_in=sum(r.logged_in for r in reports),
        support={label: support[label] for label in ROUTES.values() if label in support},
        attempts=sum(r.attempts for r in reports), outcomes={o: outcomes[o] for o in OUTCOMES},
        with_key=sum(r.with_key for r in reports), without_key=sum(r.without_key for r in reports),
        keys_issued=sum(r.keys_issued for r in reports),
        keys_reissued=sum(r.keys_reissued for r in reports),
        seconds_to_login=over_all_visits(histogram, visits),
        expiries_by_hour=dict(sorted(expiries.items())), events=sum(r.events for r in reports),
        histogram=histogram, slowest_login=max(slowest) if slowest else None,
    )


def merged_tally(tallies: list[Tally]) -> Tally:
    """The shards' tallies as one (shard order)."""
    whole = Tally()
    for t in tallies:
        whole.visits += t.visits
        whole.logged_in += t.logged_in
        whole.keys_reissued += t.keys_reissued
        whole.people += t.people
        whole.seconds_to_login.extend(t.seconds_to_login)
        for route, n in t.support.items():
            whole.support[route] = whole.support.get(route, 0) + n
    return whole


def shared_store_report(scenario: Scenario, folder: Path, store: bootstrap.StoreSettings,
                        tallies: list[Tally]) -> Report:
    """The report of shards that wrote one shared store: the visits' tallies merged, the
    attempts counted once over the whole store (as ``report`` counts a single run's)."""
    whole = Simulation(scenario, folder, store=store)  # reads only: nothing runs
    whole.tally = merged_tally(tallies)
    try:
        return report(whole)
    finally:
        whole.close()
