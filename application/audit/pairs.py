"""Events recorded in pairs, in one save, on two aggregates: a login on its attempt
(LoginCompleted) and on its account (LoggedIn, naming the attempt, at the same instant); a
sub ID on its customer (SubIDAdded) and as its own account (SubID.RegisteredBy, naming the
customer). Neither half is lawful alone: a LoggedIn with no attempt completing is a login
with no password checked; an attempt completed with no LoggedIn leaves its account's next
login counted as its first (D-1); a sub ID registered that its customer never added was
registered by no main ID (SB-2).

Each half waits for its other; one stamped over a minute before a half stored after it (a
save's events are stored together), or still waiting at the store's end, never had it.
"""

from __future__ import annotations

from typing import Any

from application.audit.books import CLOCKS_APART

COMPLETED, LOGGED_IN, ADDED, REGISTERED = "completed", "logged in", "added", "registered"
_OTHER = {COMPLETED: LOGGED_IN, LOGGED_IN: COMPLETED, ADDED: REGISTERED, REGISTERED: ADDED}
# Which half, and what both halves name: two ids (as integers: a UUID's hash is a Python
# call) and the login's instant, or the sub ID's login ID
Key = tuple[str, int, int, Any]


class Pairs:
    """The halves still waiting for their other."""

    def __init__(self) -> None:
        self.waiting: dict[Key, Any] = {}

    def halve(self, half: Any, side: str, first: int, second: int, third: Any
              ) -> list[tuple[Key, Any]]:
        """``half`` taken in; the halves now known never to have had their other."""
        waiting = self.waiting
        if waiting.pop((_OTHER[side], first, second, third), None) is not None:
            return []  # (met its other half)
        key = (side, first, second, third)
        if key in waiting:  # the same half again: one too many, whatever comes
            return [(key, half)]
        waiting[key] = half
        if len(waiting) == 1:  # (waits alone, as in a save)
            return []
        horizon = half.timestamp - CLOCKS_APART  # (by the halves' own clock: writers' differ)
        lost = []
        while waiting[oldest := next(iter(waiting))].timestamp < horizon:  # (this one stays)
            lost.append((oldest, waiting.pop(oldest)))
        return lost

    def left(self) -> list[tuple[Key, Any]]:
        """At the store's end: the halves whose other never came (a save stores both)."""
        return list(self.waiting.items())
