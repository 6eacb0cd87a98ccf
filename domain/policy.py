"""The login policy: every number of it in one object, so simulations can vary it (and the
events that apply it record it, so an audit judges each login by the policy of its time)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from domain.crypto import Entropy

ADDRESS_WINDOWS = (timedelta(seconds=30), timedelta(hours=1))  # D-14's, shortest to longest
ADDRESS_FAILURE_LIMITS = (1, 100_000)  # D-14's a setting or a scenario may give


@attrs.frozen
class LoginPolicy:
    """The notify key's LG-5/D-5 validity, D-6 digits, D-4 wrong-entry limit and D-10 mail
    limit; and D-14's limit of failed logins from one client address within its window."""

    digits: int = 12
    validity: timedelta = attrs.field(default=timedelta(minutes=10))
    max_wrong_entries: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    max_keys_per_window: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    key_window: timedelta = timedelta(minutes=60)
    address_failure_limit: int = attrs.field(default=20, validator=attrs.validators.ge(1))
    address_window: timedelta = attrs.field(default=timedelta(minutes=10))

    @validity.validator
    def _whole_seconds(self, _: attrs.Attribute[timedelta], value: timedelta) -> None:
        """Recorded in whole seconds (KeyIssued), as the key is then held to it."""
        seconds = f"{value.total_seconds():g} seconds"
        if value <= timedelta(0):
            raise ValueError(f"a key's validity must be positive (not {seconds})")
        if value.microseconds:
            raise ValueError(f"a key's validity must be whole seconds (not {seconds})")

    @address_window.validator
    def _whole_seconds_within_bounds(self, _: attrs.Attribute[timedelta], value: timedelta
                                     ) -> None:
        """Recorded in whole seconds, as the check applied it, from ADDRESS_WINDOWS' first
        to its last (the audit forgets an address gone quiet for twice the longest)."""
        if not ADDRESS_WINDOWS[0] <= value <= ADDRESS_WINDOWS[1] or value.microseconds:
            raise ValueError(f"D-14's window must be whole seconds from "
                             f"{ADDRESS_WINDOWS[0]} to {ADDRESS_WINDOWS[1]} (not {value})")

    def limit_reached(self, keys_in_window: int) -> bool:
        """D-10: no more key mails to one login ID within the window."""
        return keys_in_window >= self.max_keys_per_window

    def mails_resume_at(self, mailed: Iterable[datetime], now: datetime) -> datetime:
        """D-10, once the limit is reached at ``now``: the instant a key may be mailed again
        (unless another login of the ID takes it first), when the oldest of the mails that
        reach the limit leaves the window."""
        within = sorted(t for t in mailed if t > now - self.key_window)
        return within[-self.max_keys_per_window] + self.key_window

    def new_key(self, entropy: Entropy) -> str:
        """D-6: uniformly random decimal digits (from the OS's CSPRNG in production),
        leading zeros allowed."""
        return f"{entropy.randbelow(10**self.digits):0{self.digits}d}"
