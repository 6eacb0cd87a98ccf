"""timeline: every event of one login ID (its account, its login attempts and its portal
sessions), in order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from application.audit.evidence import line, within
from application.audit.history import LoginIdAsTyped
from domain.accounts import Account
from domain.login_attempt import LoginAttempt
from domain.portal_sessions import PortalSession

# The first event of an aggregate of a login ID's, naming it (a session's: D-12's evidence)
_NAMED = (Account.Registered, LoginAttempt.LoginRequested, PortalSession.Started)


class Timeline:
    """One login ID's events in a period; ``found`` tells afterwards whether the store knows
    the login ID at all (an account, or any login attempt with it, one of no account by its
    tag)."""

    def __init__(self, login_id: str, since: datetime | None = None,
                 until: datetime | None = None) -> None:
        self.login_id, self.since, self.until = login_id, since, until
        self.matches = LoginIdAsTyped(login_id)  # (as history --login-id finds it)
        self.ours: set[UUID] = set()

    @property
    def found(self) -> bool:
        return bool(self.ours)

    def lines(self, events: Iterable[Any]) -> Iterator[str]:
        for event in events:
            if isinstance(event, _NAMED) and self.matches(event.login_id):
                self.ours.add(event.originator_id)
            if event.originator_id in self.ours and within(event.timestamp, self.since,
                                                           self.until):
                yield line(event)

