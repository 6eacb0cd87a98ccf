"""A simulation's report: its numbers, as a value and as text.

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
from datetime import timedelta
from typing import Any

import attrs

from application.audit import Outcome, history, replay
from application.outcomes import ContactRoute
from domain.crypto import Hasher
from simulations.business_days import holidays_off
from simulations.runner import Simulation
from simulations.wording import counted_as

OUTCOMES = tuple(o.value for o in Outcome)
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

    @property
    def dates(self) -> str:
        """The simulated days, first to last: 2026-04-06 to 2026-05-05."""
        return f"{self.start} to {self.end}" if self.start else ""

    @property
    def not_logged_in(self) -> int:
        return self.visits - self.logged_in

    def as_json(self) -> str:
        return json.dumps(attrs.asdict(self, filter=lambda a, _: a.name != "histogram"),
                          ensure_ascii=False, indent=2)


def report(simulation: Simulation, events: Iterable[Any] | None = None) -> Report:
    """The run's report: attempts counted from ``events`` (the whole store by default),
    visits from the runner's tally."""
    scenario, tally = simulation.scenario, simulation.tally
    counts = store_counts(replay(simulation.app) if events is None else events)
    return Report(
        scenario.name, scenario.policy.label(), scenario.seed, scenario.days,
        scenario.hash_cost, tally.people, tally.visits, tally.logged_in,
        {label: tally.support[route] for route, label in ROUTES.items() if route in tally.support},
        counts.attempts, counts.outcomes, counts.with_key,
        counts.outcomes["completed"] - counts.with_key, counts.keys_issued, tally.keys_reissued,
        over_all_visits(tally.seconds_to_login, tally.visits),
        _every_hour(counts.expiries_by_hour, range(*scenario.behaviour.hours_jst)),
        counts.events, tally.seconds_to_login, scenario.policy.key_validity_minutes,
        scenario.policy.max_wrong_entries, scenario.policy.max_keys_per_hour,
        round(max(tally.seconds_to_login), 1) if tally.seconds_to_login else None,
        holidays_off(scenario.start, scenario.days, scenario.behaviour.public_holidays),
        scenario.hash_cost_set, scenario.start.isoformat(),
        (scenario.start + timedelta(days=scenario.days - 1)).isoformat(),
    )


@attrs.frozen
class StoreCounts:
    """What a report counts from the store (the rest comes from the visits' tally)."""

    attempts: int
    outcomes: dict[str, int]
    with_key: int
    keys_issued: int
    expiries_by_hour: dict[str, int]
    events: int


def store_counts(events: Iterable[Any]) -> StoreCounts:
    """The attempts among ``events`` (a store's, or one shard's own there) counted through
    the audit's history, and the events seen."""
    outcomes: Counter[str] = Counter()
    expiries: Counter[str] = Counter()
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
        if record.outcome == Outcome.EXPIRED.value:
            expiries[record.requested_at[11:13]] += 1
    return StoreCounts(attempts, {o: outcomes[o] for o in OUTCOMES}, with_key, keys,
                       dict(sorted(expiries.items())), seen)


def counted(r: Report, counts: StoreCounts) -> Report:
    """``r`` with its store-derived numbers replaced by ``counts``."""
    hours = [int(h) for h in r.expiries_by_hour]
    return attrs.evolve(r, attempts=counts.attempts, outcomes=counts.outcomes,
                        with_key=counts.with_key,
                        without_key=counts.outcomes["completed"] - counts.with_key,
                        keys_issued=counts.keys_issued,
                        expiries_by_hour=_every_hour(counts.expiries_by_hour, hours),
                        events=counts.events)


def _every_hour(expiries: dict[str, int], hours: Iterable[int]) -> dict[str, int]:
    """Expiries by hour over every hour people log in (a quiet one is a count of 0, so
    runs compare hour by hour), and any other hour that had one."""
    return dict(sorted(({f"{h:02d}": 0 for h in hours} | expiries).items()))


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


def percent(part: int, whole: int) -> str:
    """A share with as many decimals as it takes not to read 100% or 0% when it is not."""
    if not whole:
        return "-"
    if part in (0, whole):
        return f"{part / whole:.0%}"
    for decimals in range(1, 6):
        shown = f"{100 * part / whole:.{decimals}f}"
        if float(shown) not in (0.0, 100.0):
            return f"{shown}%"
    return f"{100 * part / whole:.6f}%"


def _share(part: int, whole: int) -> str:
    return f"{part:,} of {whole:,} ({percent(part, whole)})" if whole else f"{part:,}"


def text(r: Report) -> str:
    others = ", ".join(f"{o.replace('_', ' ')} {r.outcomes[o]:,}" for o in OUTCOMES[1:]
                       if r.outcomes[o])
    outcomes = f"; {others}" if others else ""  # (all completed: nothing after them)
    support = ", ".join(f"{route} {n:,}" for route, n in r.support.items()) or "none"
    peak = max(r.expiries_by_hour.values(), default=0)
    bars = [f"    {h}時 {'█' * round(30 * n / peak):<30} {n:,}"
            for h, n in r.expiries_by_hour.items()] if peak else []
    return "\n".join([
        f"Scenario {r.scenario}: {counted_as(r.days, 'day')}"
        + (f" ({r.dates})" if r.dates else "") + f", seed {r.seed}, "
        f"{counted_as(r.people, 'login ID')}",
        f"Policy: {r.policy}",
        f"Hashing: scrypt N=2^{r.hash_cost} {_whose_cost(r)}",
        f"Days off: weekends{_holidays(r)}",
        f"Visits (a person wanting in): {r.visits:,}; logged in {_share(r.logged_in, r.visits)};"
        f" called support {_share(sum(r.support.values()), r.visits)}",
        f"Login attempts: {r.attempts:,}; completed {_share(r.outcomes['completed'], r.attempts)}"
        f" (with key {r.with_key:,}, without {r.without_key:,}){outcomes}",
        f"Keys: issued {r.keys_issued:,} (of which re-issued to a visit after its first key "
        f"{r.keys_reissued:,}), expired {r.outcomes['expired']:,}, locked {r.outcomes['locked']:,}",
        f"Support contacts (LG-8): {support}",
        f"Time to log in, over all {counted_as(r.visits, 'visit')}{_never(r)}: {_times(r)}",
        "Expiries by hour (JST):" + ("" if bars else " none"),
        *bars,
        f"Events stored: {r.events:,}",
    ])


def _whose_cost(r: Report) -> str:
    if r.hash_cost_set:
        return f"(the scenario's hash_cost; production uses 2^{PRODUCTION_HASH_COST})"
    return "(production's cost: the scenario sets no hash_cost)"


def _holidays(r: Report) -> str:
    return "".join(f", {day} {name}" for day, name in r.holidays_off.items())


def _never(r: Report) -> str:
    if not r.not_logged_in:
        return ""
    return f" ({r.not_logged_in:,} never logged in: counted as slower than any login)"


def _times(r: Report) -> str:
    cuts = ", ".join(f"{p} {duration(s)}" for p, s in r.seconds_to_login.items())
    slowest = f"; slowest login {duration(r.slowest_login)}" if r.slowest_login is not None else ""
    return (cuts or "no visits") + slowest


def duration(seconds: float | None) -> str:
    """``1m38s``; ``not logged in`` for a percentile that fell among the visits that failed."""
    if seconds is None:
        return "not logged in"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def side_by_side(reports: list[Report]) -> str:
    """--compare: one column per key validity (what differs), then each whole policy."""
    rows: list[tuple[str, Any]] = [
        ("visits", lambda r: f"{r.visits:,}"),
        ("logged in", lambda r: percent(r.logged_in, r.visits)),
        ("not logged in", lambda r: f"{r.not_logged_in:,}"),
        ("completed with key", lambda r: f"{r.with_key:,}"),
        ("keys issued", lambda r: f"{r.keys_issued:,}"),
        ("  of which re-issued", lambda r: f"{r.keys_reissued:,}"),
        ("expired", lambda r: f"{r.outcomes['expired']:,}"),
        ("locked", lambda r: f"{r.outcomes['locked']:,}"),
        ("support contacts", lambda r: f"{sum(r.support.values()):,}"),
        *((f"time to log in {p}*", _cut(p)) for p in PERCENTILES),
    ]
    width = 16
    lines = [f"{'key validity':<22}" + "".join(f"{_validity(r):>{width}}" for r in reports)]
    for name, cell in rows:
        lines.append(f"{name:<22}" + "".join(f"{cell(r):>{width}}" for r in reports))
    lines.append("* over all visits; a visit that never logged in counts as slower than any login")
    lines += [f"{_validity(r)}: {r.policy}" for r in reports]
    return "\n".join(lines)


def _validity(r: Report) -> str:
    return f"{r.validity_minutes:g} min"


def _cut(name: str) -> Any:
    return lambda r: duration(r.seconds_to_login.get(name))
