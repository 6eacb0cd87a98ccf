"""A scenario's numbers checked: types, ranges and relations, each problem naming its key
(so a typo or a nonsense value never runs silently)."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, time, timedelta
from typing import Any

from domain.policy import ADDRESS_FAILURE_LIMITS, LoginPolicy
from simulations import business_days
from simulations.wording import counted_as

# Every number a scenario holds: (key, kind, lowest, highest); None is no bound.
RANGES: list[tuple[str, type, float | None, float | None]] = [
    ("days", int, 1, 3660), ("seed", int, None, None), ("hash_cost", int, 1, 20),
    ("population.customers", int, 1, 1_000_000),
    ("population.download_plan_share", float, 0, 1),
    ("population.notify_key_share", float, 0, 1),
    ("population.customers_per_address", int, 0, 1_000_000),
    ("behaviour.logins_per_business_day", float, 0, 100),
    ("behaviour.mail_lost_share", float, 0, 1), ("behaviour.mistype_rate", float, 0, 1),
    ("behaviour.password_typo_rate", float, 0, 1),
    ("behaviour.relogin_after_expiry", float, 0, 1), ("behaviour.max_relogins", int, 0, 100),
    ("behaviour.return_at_key_limit", float, 0, 1),
    ("attack.addresses", int, 0, 1_000_000), ("attack.tries_per_hour", float, 0.01, 36_000),
    ("policy.key_validity_minutes", float, 0.1, 1440),
    ("policy.max_wrong_entries", int, 1, 1000), ("policy.max_keys_per_hour", int, 1, 1000),
    ("policy.address_failure_limit", int, *ADDRESS_FAILURE_LIMITS),
    ("policy.address_window_minutes", float, 0.5, 60),  # (LoginPolicy's ADDRESS_WINDOWS)
]
WHOLE_SECONDS = ["policy.key_validity_minutes",  # recorded as the domain applies them
                 "policy.address_window_minutes"]
PAIRS = [("population.sub_ids_per_customer", 0, 100, "at most"),  # (low, high), inclusive
         ("behaviour.hours_jst", 0, 24, "before")]  # [from, to)
DELAYS = ["behaviour.mail_delay", "behaviour.typing", "behaviour.patience",
          "behaviour.throttled_wait"]
# Seconds: a delay's p95 at most, and any one drawn (a log-normal's tail has no end; a day
# is past any mail, typing or patience worth simulating, and keeps the clock in its years).
DELAY_MAX = 86_400
NAME_LENGTH = 100  # characters, and
NAME_BYTES = 255  # in UTF-8 (a folder's name: ext4 and most file systems hold 255 bytes)


def _get(scenario: object, key: str) -> Any:
    value: Any = scenario
    for part in key.split("."):
        value = getattr(value, part)
    return value


def _is(value: Any, kind: type) -> bool:
    """A TOML value of ``kind`` (an integer is a number too; a boolean is neither)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind is int else isinstance(value, int | float)


def _shown(bound: float) -> str:
    return f"{bound:,.0f}" if float(bound).is_integer() else f"{bound:g}"


def as_written(value: Any) -> str:
    """``value`` the way TOML writes it (so a problem quotes the file, not Python's repr)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, date | time):  # a datetime is a date too
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(as_written(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {as_written(v)}" for k, v in value.items()) + " }"
    return str(value)


def number_allowed(kind: type, low: float | None, high: float | None) -> str:
    """What a number of a scenario may be, as its problem and the reference say it: a whole
    number from 1 to 3,660."""
    what = "a whole number" if kind is int else "a number"
    return what + (f" from {_shown(low)} to {_shown(high)}" if low is not None and high is not None
                   else f" of at least {_shown(low)}" if low is not None else "")


def pair_allowed(low: int, high: int, relation: str) -> str:
    return f"two whole numbers from {low} to {high}, the first {relation} the second"


DELAY_ALLOWED = f"0 < median <= p95 <= {DELAY_MAX:,} seconds"


def _number_problem(key: str, value: Any, kind: type, low: float | None,
                    high: float | None) -> str | None:
    if not _is(value, kind) or math.isnan(value) or (low is not None and value < low) or (
            high is not None and value > high):
        return f"{key} must be {number_allowed(kind, low, high)} (not {as_written(value)})"
    return None


# Clocks and calendars hold them, and what follows a run's last visits: each of a visit's
# up to 101 logins waits at most four DELAY_MAX (a mail, typing, a key valid a day at most,
# patience or D-14's wait), so at most 404 days.
FIRST_START, LAST_DAY = date(1971, 1, 1), date(9998, 6, 1)


def whole_seconds_problem(minutes: float) -> str | None:
    """What is wrong with ``minutes`` as a policy's duration, which events record in whole
    seconds (so a run is held to the duration its report names), or None."""
    if not timedelta(minutes=minutes).microseconds:
        return None
    seconds = f"{timedelta(minutes=minutes).total_seconds():.6f}".rstrip("0")
    return f"whole seconds (not {as_written(minutes)} minutes: {seconds} seconds)"


POLICY_KEYS = [name.removeprefix("policy.") for name, *_ in RANGES if name.startswith("policy.")]


def policy_range(key: str) -> tuple[type, float, float]:
    """A [policy] key's kind and bounds (each has both)."""
    kind, low, high = next((k, lo, hi) for n, k, lo, hi in RANGES if n == f"policy.{key}")
    assert low is not None and high is not None
    return kind, low, high


def policy_bounds() -> str:
    """The [policy] keys with their bounds, for --compare's help."""
    return "; ".join(
        f"{key} {_shown(policy_range(key)[1])} to {_shown(policy_range(key)[2])}"
        + (" (minutes, whole seconds)" if f"policy.{key}" in WHOLE_SECONDS else "")
        for key in POLICY_KEYS)


def policy_value_problem(key: str, value: float) -> str | None:
    """What is wrong with ``value`` for the [policy] ``key`` (--compare's values), or None."""
    name = f"policy.{key}"
    if problem := _number_problem(name, value, *policy_range(key)):
        return problem
    whole = whole_seconds_problem(value) if name in WHOLE_SECONDS else None
    return f"{name} must be {whole}" if whole else None


def check(scenario: object) -> list[str]:
    """Every problem of a built scenario, each naming its key."""
    problems = _name_problems(_get(scenario, "name"))
    if not isinstance(description := _get(scenario, "description"), str):
        problems.append(f"description must be text, in quotes (not {as_written(description)})")
    elif not all(c.isprintable() or c == "\n" for c in description):  # (it reaches the pages)
        problems.append("description must be printable text: no control characters "
                        "(a tab, NUL, an escape)")
    problems += [p for key, kind, low, high in RANGES
                 if (p := _number_problem(key, _get(scenario, key), kind, low, high))]
    problems += [f"{key} must be {whole}" for key in WHOLE_SECONDS
                 if not any(p.startswith(f"{key} ") for p in problems)
                 and (whole := whole_seconds_problem(_get(scenario, key)))]
    start, days = _get(scenario, "start"), _get(scenario, "days")
    dates = _dates_problems(start, days)
    problems += dates + _holidays_problems(_get(scenario, "behaviour.public_holidays"),
                                           None if dates else start, days)
    for key, low, high, relation in PAIRS:
        pair = _get(scenario, key)
        ok = (isinstance(pair, tuple) and len(pair) == 2 and all(_is(v, int) for v in pair)
              and low <= pair[0] and pair[1] <= high
              and (pair[0] <= pair[1] if relation == "at most" else pair[0] < pair[1]))
        if not ok:
            problems.append(f"{key} must be {pair_allowed(low, high, relation)} "
                            f"(not {as_written(pair)})")
    if not any(p.startswith(_ATTACK_KEYS) for p in problems):  # (its numbers are in range)
        problems += _attack_problems(scenario)
    for key in DELAYS:
        delay = _get(scenario, key)
        numbers = _is(delay.median, float) and _is(delay.p95, float)
        if not (numbers and 0 < delay.median <= delay.p95 <= DELAY_MAX):
            must = ("must have " if numbers else  # (a text, e.g. "4m": no unit is read)
                    "must have numbers of seconds, ")
            problems.append(f"{key} {must}{DELAY_ALLOWED}, a day (not median = "
                            f"{as_written(delay.median)}, p95 = {as_written(delay.p95)})")
    return problems


_COUNTED = "D-14 counts the failed logins of a client address"
_ATTACK_KEYS = ("attack.addresses ", "population.customers ",  # (each problem's first words)
                "population.customers_per_address ", "policy.address_")
_D14 = LoginPolicy()  # D-14's own numbers: a scenario that changes them needs addresses
NEED_ADDRESSES = {
    "attack.addresses": (0, "a stuffer logs in from an address customers share"),
    "policy.address_failure_limit": (_D14.address_failure_limit, _COUNTED),
    "policy.address_window_minutes": (_D14.address_window.total_seconds() / 60, _COUNTED),
}


def _attack_problems(scenario: object) -> list[str]:
    """Stuffers, and a D-14 policy of the scenario's own, only for logins from client
    addresses; stuffers only behind as many addresses as there are."""
    attacked, shared = _get(scenario, "attack.addresses"), _get(
        scenario, "population.customers_per_address")
    if not shared:
        return [f"{key} = {as_written(_get(scenario, key))} needs "
                f"population.customers_per_address: {why}, and with 0 (the default) logins "
                "come from none" for key, (default, why) in NEED_ADDRESSES.items()
                if _get(scenario, key) != default]
    addresses = -(-_get(scenario, "population.customers") // shared)
    if attacked > addresses:
        return [f"attack.addresses must be at most the customers' {counted_as(addresses, 'address')} "
                f"(population.customers / customers_per_address, rounded up; not {attacked})"]
    return []


def _name_problems(name: Any) -> list[str]:
    """A name that is one folder's: the run's output goes to simulation-output/NAME, so a
    '/' or '\\' in it, or a leading '.' ('..'), would write elsewhere; anything else a
    file's name may hold (the default is the file's name: 'my run (copy)' too) is kept."""
    plain = (isinstance(name, str) and 0 < len(name) <= NAME_LENGTH and name[0] != "."
             and not any(c in "/\\" or not c.isprintable() for c in name)
             and len(name.encode("utf-8", "surrogatepass")) <= NAME_BYTES)
    if plain:
        return []
    return [f"name (the output folder's, simulation-output/NAME; default: the file's name) "
            f"must be 1 to {NAME_LENGTH} printable characters and at most {NAME_BYTES} bytes "
            f"in UTF-8 (a kana is 3), no '/' or '\\', not starting with '.' "
            f"(not {as_written(name)})"]


def _dates_problems(start: Any, days: Any) -> list[str]:
    """A start clocks and calendars hold, for as many days."""
    if not isinstance(start, date) or isinstance(start, datetime):
        return [f"start must be a date such as 2026-04-06 (not {as_written(start)})"]
    if not start >= FIRST_START or (_is(days, int) and start.toordinal() + days
                                    > LAST_DAY.toordinal()):
        return [f"start must be from {FIRST_START} and the run end by {LAST_DAY} (not {start}"
                + (f" for {counted_as(days, 'day')})" if _is(days, int) else ")")]
    return []


def _holidays_problems(public_holidays: Any, start: date | None, days: Any) -> list[str]:
    """A flag, and (if the dates are sound) Japan's holidays known for all of them."""
    if not isinstance(public_holidays, bool):
        return [f"behaviour.public_holidays must be true or false "
                f"(not {as_written(public_holidays)})"]
    last = business_days.LAST_KNOWN_YEAR
    if public_holidays and start and _is(days, int) and days >= 1 and (
            start + timedelta(days=days - 1)).year > last:
        return [f"behaviour.public_holidays: Japan's public holidays are known up to {last}; "
                "set it to false for a later run"]
    return []
