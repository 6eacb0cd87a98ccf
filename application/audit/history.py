"""history: every login attempt requested in a period, in request order, with its outcome:
one row each, for people, spreadsheets and tools."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import attrs

from application.audit.books import AccountBook, Attempt, AttemptBook
from application.audit.evidence import printable, within
from application.screens import jst
from domain.login_attempt import LoginAttempt


@attrs.frozen
class LoginRecord:
    """One login attempt, for spreadsheets and other tools (one row each)."""

    requested_at: str  # JST
    login_id: str
    kind: str
    outcome: str
    with_key: bool
    key_required: bool
    first_login: bool
    keys_issued: int
    wrong_entries: int
    seconds: int  # from 「ログイン」 to the attempt's end
    attempt_id: str

    @classmethod
    def of(cls, attempt: Attempt) -> LoginRecord:
        return cls(
            jst(attempt.requested_at, seconds=True), printable(attempt.login_id), attempt.kind,
            attempt.outcome.value, attempt.verified is not None, attempt.key_required,
            attempt.first_login, int(attempt.issued is not None), attempt.wrong_entries,
            int((attempt.ended_at - attempt.requested_at).total_seconds()), str(attempt.id),
        )


FIELDS = [f.name for f in attrs.fields(LoginRecord)]


def history(events: Iterable[Any], since: datetime | None = None,
            until: datetime | None = None) -> Iterator[LoginRecord]:
    """Every login attempt requested in the period, in request order, with its outcome."""
    accounts, attempts = AccountBook(), AttemptBook()

    def records(final: bool = False) -> Iterator[LoginRecord]:
        for attempt in attempts.pop_over(final):
            if within(attempt.requested_at, since, until):
                yield LoginRecord.of(attempt)

    for event in events:
        accounts.fold(event)
        if isinstance(event, LoginAttempt.Event):
            attempts.fold(event, accounts)
            yield from records()
    yield from records(final=True)
