"""timeline: every event of one login ID (its account and its login attempts), in order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from application.audit.evidence import line, within
from domain.accounts import Account
from domain.login_attempt import LoginAttempt


def timeline(events: Iterable[Any], login_id: str, since: datetime | None = None,
             until: datetime | None = None) -> Iterator[str]:
    ours: set[UUID] = set()
    for event in events:
        if isinstance(event, Account.Registered | LoginAttempt.LoginRequested) and (
                event.login_id == login_id):
            ours.add(event.originator_id)
        if event.originator_id in ours and within(event.timestamp, since, until):
            yield line(event)
