"""A simulation's report: its numbers, as a value (``report_text`` and ``report_html`` show
it).

Login attempts are counted from the event store (through the audit's own history), so the
report says what the store says; visits, re-issued keys, support calls and the time to log
in come from the runner, which knows what the people did.

Shares never round to 100% or 0% unless they are (one visit in 8,074 that ended at support
reads 99.99%, not 100.0%), and the time to log in is taken over *all* visits: a visit that
never got in counts as slower than any that did, so a policy that loses more visits cannot
look faster because its failures dropped out of the figures.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

import attrs

from application.audit import Outcome, history, replay
from application.outcomes import ContactRoute
from domain.crypto import Hasher
from simulations.business_days import holidays_off, weekend_days
from simulations.population import addresses, client_address
from simulations.runner import Simulation
from simulations.scenario import Scenario
from simulations.tally import Tally

OUTCOMES = tuple(o.value for o in Outcome)
_ALWAYS_COMPARED = {Outcome.COMPLETED, Outcome.EXPIRED, Outcome.LOCKED, Outcome.KEY_WITHHELD}
PRODUCTION_HASH_COST = Hasher().cost  # log2 of scrypt's N in production (the default)
ROUTES = {ContactRoute.OPERATOR: "operator (main IDs)",
          ContactRoute.MAIN_ID_PERSON: "main ID person (sub IDs)"}


@attrs.frozen
class Report:
    scenario: str
    policy: str
    seed: int
    days: int
    hash_cost: int
    people: int
    visits: int
    logged_in: int
    support: dict[str, int]
    attempts: int
    outcomes: dict[str, int]
    with_key: int
    without_key: int
    keys_issued: int
    keys_reissued: int  # keys issued to a visit after its first: part of keys_issued
    seconds_to_login: dict[str, float | None]  # percentiles over all visits; None: not in
    expiries_by_hour: dict[str, int]
    events: int
    histogram: list[float] = attrs.field(repr=False)  # every logged-in visit's time
    validity_minutes: float = 10.0  # the key policy the run had: validity (LG-5),
    wrong_entry_limit: int = 5  # wrong entries before a lock (D-4),
    keys_per_hour: int = 5  # keys mailed to one login ID in an hour (D-10)
    slowest_login: float | None = None  # the longest of the visits that logged in
    holidays_off: dict[str, str] = attrs.Factory(dict)  # weekdays nobody logged in: name
    hash_cost_set: bool = True  # False: the scenario set no hash_cost, production's ran
    start: str = ""  # the first simulated day, ISO 8601 (JST)
    end: str = ""  # the last
    client_addresses: int = 0  # the addresses customers log in from (D-14); 0: none
    customers_per_address: int = 0
    attacked_addresses: int = 0  # of them with a credential stuffer behind (the first ones)
    tries_per_hour: float = 0  # each stuffer's
    throttled: int = 0  # the people's logins refused unchecked (D-14)
    throttled_visits: int = 0  # visits with one or more of them
    gave_up: int = 0  # visits told to wait (D-14) with no re-login left: they gave up
    tries: int = 0  # the stuffers' logins
    tries_refused: int = 0  # of them refused unchecked (D-14), the rest checked and failed
    exposed_visits: int = 0  # visits of people behind a stuffer's address
    exposed_histogram: list[float] = attrs.Factory(list)  # their times, of those logged in
    address_failure_limit: int = 20  # D-14's policy: failed logins from one address ...
    address_window_minutes: float = 10  # ... within this window, then refused unchecked
    description: str = ""  # the scenario's own line for people
    keys_by_hour: dict[str, int] = attrs.Factory(dict)  # keys issued, by their login's hour
    #   (JST), over the hours of expiries_by_hour: what each hour's expiries are a share of

    @property
    def no_key_sent(self) -> bool:
        """Logins completed, yet no key mailed (a one-day run: every login an ID's first,
        LG-4 and D-1): the reports say why, or the keys' zeros read as a fault."""
        return self.keys_issued == 0 and self.outcomes.get(Outcome.COMPLETED.value, 0) > 0

    @property
    def exposed(self) -> Visits:
        """The visits of the people behind a stuffer's address."""
        return Visits(self.exposed_visits, self.exposed_histogram)

    @property
    def unexposed(self) -> Visits:
        """The visits of everyone else."""
        rest = Counter(self.histogram)
        rest.subtract(self.exposed_histogram)
        return Visits(self.visits - self.exposed_visits, list(rest.elements()))

    @property
    def dates(self) -> str:
        """The simulated days, first to last: 2026-04-06 to 2026-05-05."""
        return f"{self.start} to {self.end}" if self.start else ""

    @property
    def weekend_days(self) -> int | None:
        """The run's Saturdays and Sundays (None: a report that kept no dates)."""
        return weekend_days(date.fromisoformat(self.start), self.days) if self.start else None

    @property
    def not_logged_in(self) -> int:
        return self.visits - self.logged_in

    @property
    def attacked(self) -> list[str]:
        """The client addresses with a stuffer behind."""
        return [client_address(n) for n in range(self.attacked_addresses)]

    @property
    def tries_checked(self) -> int:
        """The stuffers' logins whose password was checked (failed): among the attempts."""
        return self.tries - self.tries_refused

    def as_json(self) -> str:
        numbers = attrs.asdict(self, filter=lambda a, _: not a.name.endswith("histogram"))
        if self.attacked_addresses:  # what the stuffers cost, as the text says it
            numbers |= {"attacked": self.attacked, "tries_checked": self.tries_checked} | {
                name: {"visits": v.count, "logged_in": v.logged_in,
                       "seconds_to_login": v.seconds_to_login}
                for name, v in (("exposed", self.exposed), ("unexposed", self.unexposed))}
        return json.dumps(numbers, ensure_ascii=False, indent=2)


def report(simulation: Simulation, events: Iterable[Any] | None = None) -> Report:
    """The run's report: attempts counted from ``events`` (the whole store by default),
    visits from the runner's tally."""
    scenario, tally = simulation.scenario, simulation.tally
    counts = store_counts(replay(simulation.app) if events is None else events)
    hours = range(*scenario.behaviour.hours_jst)  # (each of them an hour of both counts)
    return Report(
        scenario.name, scenario.policy.label(bool(addresses(scenario))), scenario.seed,
        scenario.days,
        scenario.hash_cost, tally.people, tally.visits, tally.logged_in,
        {label: tally.support[route] for route, label in ROUTES.items() if route in tally.support},
        counts.attempts, counts.outcomes, counts.with_key,
        counts.outcomes["completed"] - counts.with_key, counts.keys_issued, tally.keys_reissued,
        over_all_visits(tally.seconds_to_login, tally.visits),
        _every_hour(counts.expiries_by_hour, hours),
        counts.events, tally.seconds_to_login, scenario.policy.key_validity_minutes,
        scenario.policy.max_wrong_entries, scenario.policy.max_keys_per_hour,
        round(max(tally.seconds_to_login), 1) if tally.seconds_to_login else None,
        holidays_off(scenario.start, scenario.days, scenario.behaviour.public_holidays),
        scenario.hash_cost_set, scenario.start.isoformat(),
        (scenario.start + timedelta(days=scenario.days - 1)).isoformat(),
        **_d14(scenario, tally), description=scenario.description,
        keys_by_hour=_every_hour(counts.keys_by_hour, hours),
    )


def _d14(scenario: Scenario, tally: Tally) -> dict[str, Any]:
    """The report's numbers of client addresses and credential stuffing (D-14)."""
    attacked = scenario.attack.addresses
    return {"client_addresses": addresses(scenario),
            "customers_per_address": min(scenario.population.customers_per_address,
                                         scenario.population.customers),
            "attacked_addresses": attacked,
            "tries_per_hour": scenario.attack.tries_per_hour if attacked else 0,
            "throttled": tally.throttled, "throttled_visits": tally.throttled_visits,
            "gave_up": tally.gave_up, "tries": tally.tries,
            "tries_refused": tally.tries_refused, "exposed_visits": tally.exposed_visits,
            "exposed_histogram": tally.exposed_seconds,
            "address_failure_limit": scenario.policy.address_failure_limit,
            "address_window_minutes": scenario.policy.address_window_minutes}


@attrs.frozen
class Visits:
    """Some of a run's visits: how many, and the times of those that logged in."""

    count: int
    seconds: list[float]

    @property
    def logged_in(self) -> int:
        return len(self.seconds)

    @property
    def seconds_to_login(self) -> dict[str, float | None]:
        return over_all_visits(self.seconds, self.count)


@attrs.frozen
class StoreCounts:
    """What a report counts from the store (the rest comes from the visits' tally)."""

    attempts: int
    outcomes: dict[str, int]
    with_key: int
    keys_issued: int
    expiries_by_hour: dict[str, int]
    events: int
    keys_by_hour: dict[str, int]


def store_counts(events: Iterable[Any]) -> StoreCounts:
    """The attempts among ``events`` (a store's, or one shard's own there) counted through
    the audit's history, and the events seen."""
    outcomes: Counter[str] = Counter()
    expiries: Counter[str] = Counter()
    keys_by: Counter[str] = Counter()
    with_key = keys = attempts = seen = 0

    def counting() -> Iterator[Any]:
        nonlocal seen
        for event in events:
            seen += 1
            yield event

    for record in history(counting()):
        attempts += 1
        outcomes[record.outcome] += 1
        keys += record.keys_issued
        with_key += record.with_key
        hour = record.requested_at[11:13]
        keys_by[hour] += record.keys_issued
        if record.outcome == Outcome.EXPIRED.value:
            expiries[hour] += 1
    return StoreCounts(attempts, {o: outcomes[o] for o in OUTCOMES}, with_key, keys,
                       dict(sorted(expiries.items())), seen, dict(sorted(keys_by.items())))


def counted(r: Report, counts: StoreCounts) -> Report:
    """``r`` with its store-derived numbers replaced by ``counts``."""
    hours = [int(h) for h in r.expiries_by_hour]
    return attrs.evolve(r, attempts=counts.attempts, outcomes=counts.outcomes,
                        with_key=counts.with_key,
                        without_key=counts.outcomes["completed"] - counts.with_key,
                        keys_issued=counts.keys_issued,
                        expiries_by_hour=_every_hour(counts.expiries_by_hour, hours),
                        keys_by_hour=_every_hour(counts.keys_by_hour, hours),
                        events=counts.events)


def _every_hour(counts: dict[str, int], hours: Iterable[int]) -> dict[str, int]:
    """Expiries (or keys) by hour over every hour people log in (a quiet one is a count of
    0, so runs compare hour by hour), and any other hour that had one."""
    return dict(sorted(({f"{h:02d}": 0 for h in hours} | counts).items()))


PERCENTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99}


def over_all_visits(seconds: list[float], visits: int) -> dict[str, float | None]:
    """Nearest-rank percentiles of the time to log in over every visit, a visit that never
    logged in ranking after all that did (its percentile is None: "not logged in")."""
    ordered = sorted(seconds)
    found: dict[str, float | None] = {}
    for name, q in PERCENTILES.items():
        rank = max(1, math.ceil(q * visits))
        found[name] = round(ordered[rank - 1], 1) if visits and rank <= len(ordered) else None
    return found if visits else {}


def compared_outcomes(reports: list[Report]) -> list[Outcome]:
    """The outcomes a comparison lists under its attempts: what the key policy moves
    (expiry, lock, D-10), and any other some run had, so that each column adds up to its
    attempts."""
    return [o for o in Outcome
            if o in _ALWAYS_COMPARED or any(r.outcomes.get(o.value) for r in reports)]
