"""A simulation's report: its numbers, as a value and as text.

Login attempts are counted from the event store (through the audit's own history), so the
report says what the store says; visits, re-issued keys, support calls and the time to log
in come from the runner, which knows what the people did.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from typing import Any

import attrs

from application.audit import Outcome, history, replay
from application.outcomes import ContactRoute
from simulations.runner import Simulation

OUTCOMES = tuple(o.value for o in Outcome)
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
    keys_reissued: int
    seconds_to_login: dict[str, float]
    expiries_by_hour: dict[str, int]
    events: int
    histogram: list[float] = attrs.field(repr=False)  # every visit's time to log in

    def as_json(self) -> str:
        return json.dumps(attrs.asdict(self, filter=lambda a, _: a.name != "histogram"),
                          ensure_ascii=False, indent=2)


def report(simulation: Simulation) -> Report:
    scenario, tally = simulation.scenario, simulation.tally
    outcomes: Counter[str] = Counter()
    expiries: Counter[str] = Counter()
    with_key = keys = attempts = 0
    app = simulation.app
    events = int(app.recorder.max_notification_id() or 0)
    for record in history(replay(app)):
        attempts += 1
        outcomes[record.outcome] += 1
        keys += record.keys_issued
        with_key += record.with_key
        if record.outcome == Outcome.EXPIRED.value:
            expiries[record.requested_at[11:13]] += 1
    return Report(
        scenario.name, scenario.policy.label(), scenario.seed, scenario.days,
        scenario.hash_cost, tally.people, tally.visits, tally.logged_in,
        {label: tally.support[route] for route, label in ROUTES.items() if route in tally.support},
        attempts, {o: outcomes[o] for o in OUTCOMES}, with_key,
        outcomes["completed"] - with_key, keys, tally.keys_reissued,
        _percentiles(tally.seconds_to_login), dict(sorted(expiries.items())), events,
        tally.seconds_to_login,
    )


def _percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 1), "p90": round(cuts[89], 1), "p99": round(cuts[98], 1),
            "max": round(max(values), 1)}


def _share(part: int, whole: int) -> str:
    return f"{part:,} ({part / whole:.1%})" if whole else f"{part:,}"


def text(r: Report) -> str:
    outcomes = ", ".join(f"{o.replace('_', ' ')} {r.outcomes[o]:,}" for o in OUTCOMES[1:]
                         if r.outcomes[o])
    support = ", ".join(f"{route} {n:,}" for route, n in r.support.items()) or "none"
    times = ", ".join(f"{p} {_duration(s)}" for p, s in r.seconds_to_login.items())
    peak = max(r.expiries_by_hour.values(), default=0)
    bars = [f"    {h}時 {'█' * round(30 * n / peak):<30} {n:,}"
            for h, n in r.expiries_by_hour.items()]
    return "\n".join([
        f"Scenario {r.scenario}: {r.days} days, seed {r.seed}, {r.people:,} login IDs",
        f"Policy: {r.policy}",
        f"Hashing: scrypt N=2^{r.hash_cost} (the scenario's hash_cost; production uses 2^14)",
        f"Visits (a person wanting in): {r.visits:,}; logged in {_share(r.logged_in, r.visits)};"
        f" called support {_share(sum(r.support.values()), r.visits)}",
        f"Login attempts: {r.attempts:,}; completed {_share(r.outcomes['completed'], r.attempts)}"
        f" (with key {r.with_key:,}, without {r.without_key:,}); {outcomes}",
        f"Keys: issued {r.keys_issued:,}, re-issued {r.keys_reissued:,}, "
        f"expired {r.outcomes['expired']:,}, locked {r.outcomes['locked']:,}",
        f"Support contacts (LG-8): {support}",
        f"Time to log in: {times}",
        "Expiries by hour (JST):" + ("" if bars else " none"),
        *bars,
        f"Events stored: {r.events:,}",
    ])


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def side_by_side(reports: list[Report]) -> str:
    """--compare: one column per policy."""
    rows: list[tuple[str, Any]] = [
        ("key validity", lambda r: r.policy.split(",")[0].removeprefix("validity ")),
        ("visits", lambda r: f"{r.visits:,}"),
        ("logged in", lambda r: f"{r.logged_in / r.visits:.1%}" if r.visits else "-"),
        ("completed with key", lambda r: f"{r.with_key:,}"),
        ("keys issued", lambda r: f"{r.keys_issued:,}"),
        ("keys re-issued", lambda r: f"{r.keys_reissued:,}"),
        ("expired", lambda r: f"{r.outcomes['expired']:,}"),
        ("locked", lambda r: f"{r.outcomes['locked']:,}"),
        ("support contacts", lambda r: f"{sum(r.support.values()):,}"),
        ("time to log in p50", lambda r: _duration(r.seconds_to_login.get("p50", 0))),
        ("time to log in p90", lambda r: _duration(r.seconds_to_login.get("p90", 0))),
        ("time to log in p99", lambda r: _duration(r.seconds_to_login.get("p99", 0))),
    ]
    width = 14
    lines = [f"{'':<20}" + "".join(f"{'policy ' + str(i + 1):>{width}}"
                                   for i in range(len(reports)))]
    for name, cell in rows:
        lines.append(f"{name:<20}" + "".join(f"{cell(r):>{width}}" for r in reports))
    return "\n".join(lines)
