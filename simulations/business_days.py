"""Business days: Monday to Friday, less Japan's public holidays (国民の祝日, 振替休日,
国民の休日) when the scenario keeps them (``behaviour.public_holidays``)."""

from __future__ import annotations

from datetime import date, timedelta

import holidays

_JAPAN = holidays.country_holidays("JP", language="ja")
LAST_KNOWN_YEAR: int = _JAPAN.end_year  # the holidays package knows Japan's calendar so far


def is_business_day(day: date, public_holidays: bool) -> bool:
    return day.weekday() < 5 and not (public_holidays and day in _JAPAN)


def weekend_days(start: date, days: int) -> int:
    """The Saturdays and Sundays among a run's ``days`` from ``start``."""
    return sum((start + timedelta(days=i)).weekday() >= 5 for i in range(days))


def holidays_off(start: date, days: int, public_holidays: bool) -> dict[str, str]:
    """The public holidays on weekdays of a run (business days nobody logs in): ISO date →
    the holiday's Japanese name."""
    if not public_holidays:
        return {}
    span = (start + timedelta(days=i) for i in range(days))
    return {d.isoformat(): str(_JAPAN[d]) for d in span if d.weekday() < 5 and d in _JAPAN}
