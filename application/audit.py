"""The auditor's questions, answered from the events alone: a login ID's timeline, an
account as it stood at any instant, and the history of login attempts in a period.
(``verify``, the policy check, is in ``application.verify``.)"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import takewhile
from typing import Any
from uuid import UUID

import attrs
from eventsourcing.application import project_aggregate

from application.replay import AccountBook, Attempt, AttemptBook
from application.screens import MASK, jst
from domain.accounts import Account, Customer, SubID, login_index_id
from domain.forms import CUSTOMER_INFORMATION, PERMISSIONS, SECRET_FIELDS, SUB_ID_INFORMATION
from domain.login_attempt import LoginAttempt
from domain.policy import Hasher

_NOT_SHOWN = ("originator_id", "originator_version", "originator_topic", "timestamp",
              "information")


def line(event: Any) -> str:
    """One event as an auditor reads it: JST, type, aggregate, fields; digests shortened."""
    details = {
        k: (Hasher.short(v) if k.endswith("digest") else v)
        for k, v in vars(event).items() if k not in _NOT_SHOWN
    }
    kind = type(event).__qualname__
    return (f"{jst(event.timestamp, seconds=True)}  {kind:<32} {str(event.originator_id)[:8]}  "
            + " ".join(f"{k}={v}" for k, v in details.items()))


def within(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    """The period [since, until): either end may be open."""
    return (since is None or moment >= since) and (until is None or moment < until)


def timeline(events: Iterable[Any], login_id: str, since: datetime | None = None,
             until: datetime | None = None) -> Iterator[str]:
    """Every event of one login ID (its account and its login attempts), in order."""
    ours: set[UUID] = set()
    for event in events:
        if isinstance(event, Account.Registered | LoginAttempt.LoginRequested) and (
                event.login_id == login_id):
            ours.add(event.originator_id)
        if event.originator_id in ours and within(event.timestamp, since, until):
            yield line(event)


# as-of -----------------------------------------------------------------------------------
def _as_of(app: Any, aggregate_id: UUID, instant: datetime) -> Any:
    """The aggregate rebuilt from its events up to ``instant`` (None if it did not exist),
    read once."""
    events = takewhile(lambda e: e.timestamp <= instant, app.events.get(aggregate_id))
    return project_aggregate(None, events)


def as_of(app: Any, login_id: str, instant: datetime) -> list[tuple[str, str]] | None:
    """The account of ``login_id`` as it stood at ``instant``, as labelled pairs: notify
    key, registered address, permissions, plan; None if it did not exist yet."""
    index = _as_of(app, login_index_id(login_id), instant)
    account = _as_of(app, index.account_id, instant) if index else None
    if account is None:
        return None
    is_sub = isinstance(account, SubID)
    customer: Customer = _as_of(app, account.customer_id, instant) if is_sub else account
    fields = {**SUB_ID_INFORMATION, **PERMISSIONS} if is_sub else CUSTOMER_INFORMATION
    shown = [(f.label, MASK if k in SECRET_FIELDS else account.information[k])
             for k, f in fields.items() if account.information.get(k)]
    if is_sub and "organization" in account.information:
        shown.append(("所属組織", account.information["organization"]))
    return [
        ("時点", jst(instant, seconds=True)),
        ("ログインID", login_id),
        ("種別", "副ID" if is_sub else "主ID"),
        ("BSお客様番号", customer.customer_number),
        ("会社名", customer.company),
        ("BS基本サービス", customer.plan),
        *shown,
        ("ログイン回数", str(account.logins)),
        ("最終ログイン", jst(account.last_login_at) if account.last_login_at else "なし"),
    ]


# history ---------------------------------------------------------------------------------
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
            jst(attempt.requested_at, seconds=True), attempt.login_id, attempt.kind,
            attempt.outcome, attempt.verified is not None, attempt.key_required,
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
