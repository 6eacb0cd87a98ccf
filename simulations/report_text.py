"""A simulation's report as text for people: report.txt and the console (one run), and
compare.txt (runs under different values of one number of the policy, one column each).
Shares never read 100% or 0% unless they are."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from simulations.report import (
    OUTCOMES,
    PERCENTILES,
    PRODUCTION_HASH_COST,
    Report,
    Visits,
    compared_outcomes,
)
from simulations.varied import VALIDITY, Varied
from simulations.wording import counted_as, percent


def _share(part: int, whole: int) -> str:
    return f"{part:,} of {whole:,} ({percent(part, whole)})" if whole else f"{part:,}"


def _of_keys(r: Report, hour: str) -> str:
    """An hour's expiries as a share of the keys issued at its logins (a busy hour, or a
    worse one?)."""
    keys = r.keys_by_hour.get(hour, 0)
    return f" of {keys:,} keys ({percent(r.expiries_by_hour[hour], keys)})" if keys else ""


def text(r: Report) -> str:
    others = ", ".join(f"{o.replace('_', ' ')} {r.outcomes[o]:,}" for o in OUTCOMES[1:]
                       if r.outcomes[o])
    outcomes = f"; {others}" if others else ""  # (all completed: nothing after them)
    support = (f"{sum(r.support.values()):,} in all: " + ", ".join(
        f"{route} {n:,}" for route, n in r.support.items())) if r.support else "none"
    peak = max(r.expiries_by_hour.values(), default=0)
    bars = [f"    {h}時 {'█' * round(30 * n / peak):<30} {n:,}" + _of_keys(r, h)
            for h, n in r.expiries_by_hour.items()] if peak else []
    return "\n".join([
        f"Scenario {r.scenario}: {counted_as(r.days, 'day')}"
        + (f" ({r.dates})" if r.dates else "") + f", seed {r.seed}, "
        f"{counted_as(r.people, 'login ID')}",
        *([f"About: {' '.join(r.description.split())}"] if r.description else []),  # (one line)
        f"Policy: {r.policy}",
        f"Hashing: scrypt N=2^{r.hash_cost} {_whose_cost(r)}",
        f"Days off: {_days_off(r)}",
        f"Visits (a person wanting in): {r.visits:,}; logged in {_share(r.logged_in, r.visits)};"
        f" called support {_share(sum(r.support.values()), r.visits)}"
        + (f"; gave up, told to wait (D-14) with no re-login left {_share(r.gave_up, r.visits)}"
           if r.client_addresses else ""),
        f"Login attempts: {r.attempts:,}"
        + (f" (of which the stuffers' {r.tries_checked:,})" if r.tries else "")
        + f"; completed {_share(r.outcomes['completed'], r.attempts)}"
        f" (with key {r.with_key:,}, without {r.without_key:,}: first or key off)"
        f"{outcomes}",
        *_addresses(r),
        f"Keys: issued {r.keys_issued:,} (of which re-issued to a visit after its first key "
        f"{r.keys_reissued:,}), expired {r.outcomes['expired']:,}, locked {r.outcomes['locked']:,}",
        *([f"  ({NO_KEY}{ONE_DAY if r.days == 1 else ''})"] if r.no_key_sent else []),
        f"Support contacts (LG-8): {support}",
        f"Time to log in, over all {counted_as(r.visits, 'visit')}{_never(r)}: {_times(r)}",
        "Expiries by the hour 「ログイン」 was pressed (JST; a bar the count, then the share of "
        "that hour's keys):" if bars else "Expiries by the hour 「ログイン」 was pressed (JST): none",
        *bars,
        f"Events stored: {r.events:,}",
    ])


def _addresses(r: Report) -> list[str]:
    """D-14's lines, when the people log in from client addresses."""
    if not r.client_addresses:
        return []
    lines = [f"Client addresses (D-14): {r.client_addresses:,}, each shared by up to "
             f"{counted_as(r.customers_per_address, 'customer')}, each refused unchecked after "
             f"{counted_as(r.address_failure_limit, 'failed login')} within "
             f"{r.address_window_minutes:g} minute{'' if r.address_window_minutes == 1 else 's'};"
             f" the people's logins refused "
             f"unchecked {r.throttled:,}, in {counted_as(r.throttled_visits, 'visit')} "
             f"({r.gave_up:,} of them gave up with no re-login left: no contact is named for "
             f"D-14)"]
    if r.attacked_addresses:
        each = "each of " if r.attacked_addresses > 1 else ""
        lines += [f"Credential stuffing: a stuffer behind {each}"
                  f"{counted_as(r.attacked_addresses, 'address')} ({listed(r.attacked)}), "
                  f"{r.tries_per_hour:,g} tries an hour each: {counted_as(r.tries, 'try')}; refused "
                  f"unchecked {_share(r.tries_refused, r.tries)}, the rest checked and failed",
                  f"  behind a stuffer's address: {_visits(r.exposed)}",
                  f"  everyone else:              {_visits(r.unexposed)}"]
    return lines


def listed(names: list[str], through: str = " to ") -> str:
    """Up to three names, else the first and the last."""
    return ", ".join(names) if len(names) <= 3 else f"{names[0]}{through}{names[-1]}"


def _visits(v: Visits) -> str:
    """Some visits, how many got in, and how long it took (over all of them)."""
    times = ", ".join(f"{p} {duration(s)}" for p, s in v.seconds_to_login.items())
    return (f"{counted_as(v.count, 'visit')}, logged in {_share(v.logged_in, v.count)}"
            + (f", time to log in {times}" if times else ""))


def _whose_cost(r: Report) -> str:
    if r.hash_cost_set:
        return f"(the scenario's hash_cost; production uses 2^{PRODUCTION_HASH_COST})"
    return "(production's cost: the scenario sets no hash_cost)"


def _days_off(r: Report) -> str:
    """The run's days nobody logged in: its weekend days, counted, and its holidays."""
    weekends = ("weekends" if r.weekend_days is None else
                counted_as(r.weekend_days, "weekend day") if r.weekend_days else "")
    return ", ".join([*([weekends] if weekends else []),
                      *(f"{day} {name}" for day, name in r.holidays_off.items())]) or "none"


def _never(r: Report) -> str:
    if not r.not_logged_in:
        return ""
    return f" ({r.not_logged_in:,} never logged in: counted as slower than any login)"


def _times(r: Report) -> str:
    cuts = ", ".join(f"{p} {duration(s)}" for p, s in r.seconds_to_login.items())
    slowest = f"; slowest login {duration(r.slowest_login)}" if r.slowest_login is not None else ""
    return (cuts or "no visits") + slowest


def duration(seconds: float | None, minute: str = "m", second: str = "s",
             failed: str = "not logged in") -> str:
    """``1m38s``; ``not logged in`` for a percentile that fell among the visits that failed
    (report.html's units and words given: 1分38秒, ログインできず)."""
    if seconds is None:
        return failed
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}{minute}{secs:02d}{second}" if minutes else f"{secs}{second}"


ONE_DAY = (";\n   a run of one day, and an ID's first login needs no key: to see keys, run"
           " --days 2 or more")
NO_KEY = ("no key was issued: every completed login was its ID's first (LG-4, D-1)\n"
          "   or of an ID that does not use the notify key")
_OUTCOME_NAMES = {"expired": "expired (LG-5)", "locked": "locked (D-4)",  # (else the
                  "key_withheld": "key withheld (D-10)"}                    # outcome's name)


def side_by_side(reports: list[Report], varied: Varied = VALIDITY) -> str:
    """--compare: one column per value of what it ``varied``, then each whole policy."""
    rows: list[tuple[str, Callable[[Report], str]]] = [
        ("visits", lambda r: f"{r.visits:,}"),
        ("logged in", lambda r: percent(r.logged_in, r.visits)),
        ("not logged in", lambda r: f"{r.not_logged_in:,}"),
        ("support contacts", lambda r: f"{sum(r.support.values()):,}"),
        ("login attempts", lambda r: f"{r.attempts:,}"),
        *((f"  {_OUTCOME_NAMES.get(o.value, o.value.replace('_', ' '))}",
           lambda r, o=o: f"{r.outcomes.get(o.value, 0):,}") for o in compared_outcomes(reports)),
        ("completed with key", lambda r: f"{r.with_key:,}"),
        ("keys issued", lambda r: f"{r.keys_issued:,}"),
        ("  of which re-issued", lambda r: f"{r.keys_reissued:,}"),
        *((f"time to log in {p}*", _cut(p)) for p in PERCENTILES),
        ("slowest login", lambda r: duration(r.slowest_login)),
    ]
    if any(r.client_addresses for r in reports):  # D-14
        rows += [("logins refused (D-14)", lambda r: f"{r.throttled:,}"),
                 ("gave up (D-14)", lambda r: f"{r.gave_up:,}")]
    stuffed = any(r.attacked_addresses for r in reports)
    if stuffed:
        rows += [("stuffer tries checked", lambda r: percent(r.tries_checked, r.tries)),
                 ("behind a stuffer: in", lambda r: percent(r.exposed.logged_in, r.exposed.count)),
                 ("behind a stuffer: p90†",
                  lambda r: duration(r.exposed.seconds_to_login.get("p90"))),
                 ("everyone else: in",
                  lambda r: percent(r.unexposed.logged_in, r.unexposed.count))]

    def column(r: Report) -> str:
        return varied.shown(varied.value(r))

    heading = varied.heading(reports[0])
    first = max(22, len(heading) + 2)
    width = max(16, 2 + max(len(column(r)) for r in reports))
    lines = [f"{heading:<{first}}" + "".join(f"{column(r):>{width}}" for r in reports)]
    for name, cell in rows:
        lines.append(f"{name:<{first}}" + "".join(f"{cell(r):>{width}}" for r in reports))
    lines += textwrap.wrap(  # (a line of 210 characters ran off a terminal)
        "* over all visits; a visit that never logged in counts as slower than any login; time"
        " passes for a key's mail and typing and for waits to log in again, so a login without"
        " a key that waited for nothing takes 0s", width=max(80, len(lines[0])),
        subsequent_indent="  ")
    if stuffed:
        lines.append("† the same, over the visits of the people behind a stuffer's address")
    lines += [f"{column(r)}: {r.policy}" for r in reports]
    return "\n".join(lines)


def _cut(name: str) -> Callable[[Report], str]:
    return lambda r: duration(r.seconds_to_login.get(name))
