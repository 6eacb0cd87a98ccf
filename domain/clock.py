"""The model's only clock: aware UTC (D-8). freezegun moves it in specs and simulations."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(tz=UTC)
