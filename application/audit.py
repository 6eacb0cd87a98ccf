"""Audit: replay a store's events in order, trusting nothing else.

Events are streamed page by page from the recorder (never the whole store at once) and
decoded by the application's own mapper. ``verify`` re-checks every completed login
against the policy recorded in force at its time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import attrs

from application.screens import jst
from domain.accounts import Account
from domain.login_attempt import LoginAttempt
from domain.policy import Hasher

PAGE = 1000


def replay(app: Any, page: int = PAGE) -> Iterator[Any]:
    """Every stored event, oldest first, decoded; constant memory whatever the store's size."""
    start = None
    while True:
        notifications = app.recorder.select_notifications(start=start, limit=page)
        for n in notifications:
            yield app.mapper.to_domain_event(n)
        if len(notifications) < page:
            return
        start = notifications[-1].id + 1


def timeline(app: Any, login_id: str) -> Iterator[str]:
    """Every event of one login ID, one line each, JST; digests shortened, keys never shown."""
    ours: set[UUID] = set()
    for event in replay(app):
        if isinstance(event, Account.Registered) and event.login_id == login_id:
            ours.add(event.originator_id)
        if isinstance(event, LoginAttempt.LoginRequested) and event.login_id == login_id:
            ours.add(event.originator_id)
        if event.originator_id in ours:
            yield _line(event)


def _line(event: Any) -> str:
    details = {
        k: (Hasher.short(v) if k.endswith("digest") else v)
        for k, v in vars(event).items()
        if k not in ("originator_id", "originator_version", "originator_topic", "timestamp",
                     "information")
    }
    kind = type(event).__qualname__
    return (f"{jst(event.timestamp)}  {kind:<32} {str(event.originator_id)[:8]}  "
            + " ".join(f"{k}={v}" for k, v in details.items()))


@attrs.define
class Violation:
    rule: str
    message: str
    evidence: list[str]


@attrs.define
class _Attempt:
    account_id: UUID | None
    events: list[Any] = attrs.Factory(list)
    key_required: bool = False
    first_login: bool = False
    issued: Any = None
    verified: Any = None
    ended_by: Any = None  # KeySuperseded, AttemptLocked or KeyExpired before verification


@attrs.define
class _Account:
    notify_key: bool = False
    logins: int = 0


def verify(app: Any) -> Iterator[Violation]:
    """Yields every violation of LG-4, LG-5/D-5, D-2, D-3, D-4 found in the store."""
    accounts: dict[UUID, _Account] = {}
    attempts: dict[UUID, _Attempt] = {}
    for event in replay(app):
        if isinstance(event, Account.Registered):
            accounts[event.originator_id] = _Account(
                event.information.get("notify_key") == "利用する")
        elif isinstance(event, Account.NotifyKeyEnabled | Account.NotifyKeyDisabled):
            accounts[event.originator_id].notify_key = isinstance(event, Account.NotifyKeyEnabled)
        elif isinstance(event, LoginAttempt.LoginRequested):
            attempts[event.originator_id] = _Attempt(event.account_id, [event])
        elif isinstance(event, LoginAttempt.Event) and event.originator_id in attempts:
            yield from _attempt_event(attempts, accounts, event)
        elif isinstance(event, LoginAttempt.KeyVerified | LoginAttempt.LoginCompleted):
            # Completed attempts are forgotten; a key that works again after that is reused.
            yield Violation("D-3", "a key was used again after its login completed",
                            [_line(event)])


def _attempt_event(
    attempts: dict[UUID, _Attempt], accounts: dict[UUID, _Account], event: Any
) -> Iterator[Violation]:
    attempt = attempts[event.originator_id]
    attempt.events.append(event)
    if isinstance(event, LoginAttempt.PasswordAccepted):
        account = accounts.get(attempt.account_id) if attempt.account_id else None
        attempt.key_required = bool(account and account.notify_key and account.logins > 0)
        attempt.first_login = bool(account and account.logins == 0)
    elif isinstance(event, LoginAttempt.KeyIssued):
        attempt.issued = event
    elif isinstance(event, LoginAttempt.KeySuperseded | LoginAttempt.AttemptLocked
                    | LoginAttempt.KeyExpired):
        attempt.ended_by = attempt.ended_by or event
    elif isinstance(event, LoginAttempt.KeyVerified):
        yield from _check_key(attempt, event)
        attempt.verified = event
    elif isinstance(event, LoginAttempt.LoginCompleted):
        yield from _check_completion(attempt, event)
        if attempt.account_id in accounts:
            accounts[attempt.account_id].logins += 1
        del attempts[event.originator_id]  # done: keep memory to the attempts still open


def _evidence(attempt: _Attempt) -> list[str]:
    return [_line(e) for e in attempt.events]


def _check_key(attempt: _Attempt, verified: Any) -> Iterator[Violation]:
    issued = attempt.issued
    if issued is None:
        yield Violation("LG-3", "a key was verified that was never issued", _evidence(attempt))
        return
    if attempt.verified is not None:
        yield Violation("D-3", "a key was verified twice", _evidence(attempt))
    if not verified.timestamp < issued.timestamp + timedelta(seconds=issued.valid_for_seconds):
        yield Violation("LG-5", "a key was accepted after its validity", _evidence(attempt))
    ended = attempt.ended_by
    if ended is not None:
        rule = {"KeySuperseded": "D-2", "AttemptLocked": "D-4", "KeyExpired": "LG-5"}[
            type(ended).__name__]
        yield Violation(rule, f"a key was accepted after {type(ended).__name__}",
                        _evidence(attempt))


def _check_completion(attempt: _Attempt, completed: Any) -> Iterator[Violation]:
    if attempt.key_required and attempt.verified is None:
        yield Violation("LG-4", "a login completed without the key the policy required",
                        _evidence(attempt))
    if not attempt.key_required and attempt.issued is not None:
        yield Violation("LG-4", "a key was demanded at a first login or with the key off",
                        _evidence(attempt))

