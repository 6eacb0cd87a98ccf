"""What a run's visits and stuffers did, as the runner counts it (the store tells the
rest)."""

from __future__ import annotations

import attrs

from application.outcomes import ContactRoute


@attrs.define
class Tally:
    """What happened to the visits (the store tells the rest)."""

    visits: int = 0
    logged_in: int = 0
    keys_reissued: int = 0  # keys issued to a visit after its first (a re-login's)
    support: dict[ContactRoute, int] = attrs.Factory(dict)  # LG-8's contacts, by route
    seconds_to_login: list[float] = attrs.Factory(list)
    people: int = 0
    throttled: int = 0  # the people's logins refused unchecked (D-14)
    throttled_visits: int = 0  # visits with one or more of them
    gave_up: int = 0  # visits told to wait (D-14) with no re-login left: they gave up
    exposed_visits: int = 0  # visits of people behind a stuffer's address
    exposed_seconds: list[float] = attrs.Factory(list)  # their times to log in
    tries: int = 0  # the stuffers' logins (D-14)
    tries_refused: int = 0  # of them refused unchecked, the rest checked and failed
