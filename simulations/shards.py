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
import re
import resource
import shutil
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from time import perf_counter
from typing import Any
from uuid import UUID

import attrs

from application import bootstrap
from application.adapters.eventstore import EventStore
from application.audit import replay
from application.station import Station
from domain.accounts import Account, LoginIndex
from domain.login_attempt import LoginAttempt
from domain.portal_sessions import ClientAddress
from simulations.business_days import is_business_day
from simulations.population import Part, addresses, customer_plans, part_addresses
from simulations.report import OUTCOMES, ROUTES, Report, over_all_visits, report
from simulations.run_folder import STORE, shard_folder
from simulations.runner import Simulation
from simulations.scenario import Scenario
from simulations.tally import Tally

TRY_COST = 0.25  # a stuffer's try against a person's visit (measured: 0.26 ms against 1 ms)


def shard_count(scenario: Scenario, asked: int) -> int:
    """The shards a run of ``scenario`` in ``asked`` shards has: never more than customers
    (a customer is never split), nor than the addresses they share (D-14's count of an
    address is in one store)."""
    return max(1, min(asked, addresses(scenario) or scenario.population.customers))


def parts(scenario: Scenario, count: int) -> list[Part]:
    """``count`` contiguous ranges of customers with about as much to do each: as many
    login IDs, a stuffer's tries counted as the people whose visits cost as much (never
    more shards than ``shard_count``); the customers behind one client address always in
    one range."""
    group = scenario.population.customers_per_address or 1  # customers never split apart
    weights = [0.0] * (addresses(scenario) or scenario.population.customers)  # in people
    for plan in customer_plans(scenario):
        weights[plan.index // group] += plan.people
    stuffer = _tries_as_people(scenario)
    for n in range(scenario.attack.addresses):
        weights[n] += stuffer
    count = shard_count(scenario, count)
    total, bounds, first = sum(weights), [], 0
    running = list(itertools.accumulate(weights))
    for k in range(1, count):
        target = total * k / count
        end = next(i + 1 for i, r in enumerate(running) if r >= target)
        if end - 1 > first and target - running[end - 2] < running[end - 1] - target:
            end -= 1  # (the boundary before is nearer: a stuffer's address weighs a lot)
        end = min(max(end, first + 1), len(weights) - (count - k))  # every shard non-empty
        bounds.append((first, end))
        first = end
    bounds.append((first, len(weights)))
    customers = scenario.population.customers
    return [Part(k, count, (first * group, min(end * group, customers)))
            for k, (first, end) in enumerate(bounds)]


def _tries_as_people(scenario: Scenario) -> float:
    """A stuffer's tries over the run (every day), as the people whose visits (business
    days) cost as much."""
    days = [scenario.start + timedelta(days=i) for i in range(scenario.days)]
    visits = scenario.behaviour.logins_per_business_day * sum(
        is_business_day(day, scenario.behaviour.public_holidays) for day in days)
    return scenario.attack.tries_per_hour * 24 * scenario.days * TRY_COST / (visits or 1)


def folder_of(folder: Path, part: Part) -> Path:
    return folder / shard_folder(part.index, part.count)


@attrs.frozen
class ShardResult:
    """What a shard hands back: its report, the visits' tally, its events, its wall seconds
    and its process's peak RSS."""

    part: Part
    tally: Tally
    report: Report
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


class _Tables(EventStore):
    name = Station.name  # PostgreSQL's tables are named after the application


def create_tables(store: bootstrap.StoreSettings) -> None:
    """The store's tables as the application has them: events, and snapshots (accounts
    are snapshotted)."""
    _Tables(store | {"CREATE_TABLE": "true", "IS_SNAPSHOTTING_ENABLED": "y"}).close()


def run_shard(scenario: Scenario, part: Part, folder: Path,
              store: bootstrap.StoreSettings | None = None,
              on_day: Callable[[int], None] | None = None,
              shared: bool = False, stop: Callable[[], bool] | None = None,
              on_customer: Callable[[], None] | None = None) -> ShardResult:
    """One shard, start to end, in this process, on ``store``: the shard's own (made by
    ``own_store``; default: made here), or a ``shared`` one (its report then counts only
    the shard's own events there). ``on_day``, ``on_customer``: as Simulation's."""
    began = perf_counter()
    if store is None or (not shared and _has_events(store)):  # a retried shard starts clean
        store = own_store(folder)
    simulation = Simulation(scenario, folder, on_day, store=store, part=part, stop=stop,
                            on_customer=on_customer, alone=not shared)
    try:
        tally = simulation.run()
        # the shared store holds every shard's events: count this shard's own there
        result = report(simulation, own_events(replay(simulation.app), part.customers,
                                               part_addresses(scenario, part))
                        if shared else None)
        events = result.events
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
    keys_by: Counter[str] = Counter()
    for r in reports:
        support.update(r.support)
        outcomes.update(r.outcomes)
        expiries.update(r.expiries_by_hour)
        keys_by.update(r.keys_by_hour)
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
        keys_by_hour=dict(sorted(keys_by.items())),
        histogram=histogram, slowest_login=max(slowest) if slowest else None,
        throttled=sum(r.throttled for r in reports),
        throttled_visits=sum(r.throttled_visits for r in reports),
        gave_up=sum(r.gave_up for r in reports),
        tries=sum(r.tries for r in reports),
        tries_refused=sum(r.tries_refused for r in reports),
        exposed_visits=sum(r.exposed_visits for r in reports),
        exposed_histogram=[s for r in reports for s in r.exposed_histogram],
    )


# A shared store ----------------------------------------------------------------------------
# Shards write a shared store at once, each in its own simulated time, so the store's order
# interleaves their days: not the time order the audit reads a store in (a real portal's
# store is written by one clock). Each shard is therefore counted over its own events,
# which are in its time order.

def customer_index(login_id: str) -> int | None:
    """The customer a simulated login ID belongs to (c00042s1 -> 42, c123456 -> 123456)."""
    found = _SIMULATED.match(login_id)
    return int(found.group(1)) if found else None


_SIMULATED = re.compile(r"c(\d{5,})(?:s\d+)?\Z")  # (population.customer_plans)


def own_events(events: Iterable[Any], customers: tuple[int, int],
               addresses: Collection[str] = ()) -> Iterator[Any]:
    """The events of the customers ``customers`` (a half-open range) among ``events``: their
    accounts, login-ID index entries and login attempts, found by the login ID each begins
    with, a stuffer's tries (of login IDs no account has: recorded as tags) by the address
    it shares with them, and the D-14 counts of the client ``addresses`` they log in from."""
    first, end = customers
    mine: set[UUID] = set()
    for event in events:
        login_id = getattr(event, "login_id", None)
        if isinstance(event, _BEGINNINGS) and isinstance(login_id, str):
            customer = customer_index(login_id)
            if first <= customer < end if customer is not None else (
                    getattr(event, "client_address", None) in addresses):
                mine.add(event.originator_id)  # (a stuffer's try: by its address)
        elif isinstance(event, ClientAddress.Seen) and event.address in addresses:
            mine.add(event.originator_id)
        if event.originator_id in mine:
            yield event


_BEGINNINGS = (Account.Registered, LoginIndex.Claimed, LoginAttempt.LoginRequested)


