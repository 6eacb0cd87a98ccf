"""The login attempts as the store's events tell them: those still open, in the order they
were requested, each kept only until its outcome is settled (then in a bounded table of
recent ones, so a late event is still judged with its evidence: audit/recent.py), so
memory stays flat as the store grows; and the one vocabulary of attempt outcomes (a fold
the audit commands share)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import attrs

from application.audit.account_book import AccountBook
from application.audit.reading import OutOfSequence
from application.audit.recent import RecentAttempts
from application.audit.roles import Roles
from application.outcomes import Outcome
from domain.login_attempt import KEY_AWAITED, LoginAttempt

CLOCKS_APART = timedelta(minutes=1)  # an event stamped earlier than one stored before it
#   by more (a portal's workers commit seconds out of order at most: BS_PORTAL_DEADLINE)
STALE = timedelta(hours=1)  # an attempt with no key is over after this (a crash mid-login)
_SETTLED = datetime.min.replace(tzinfo=UTC)  # when a finished attempt is over: always


FINISHES = {LoginAttempt.LoginCompleted: Outcome.COMPLETED,
            LoginAttempt.PasswordRejected: Outcome.PASSWORD_REJECTED,
            LoginAttempt.KeyWithheld: Outcome.KEY_WITHHELD}
ENDINGS = {LoginAttempt.KeySuperseded: Outcome.SUPERSEDED,
           LoginAttempt.AttemptLocked: Outcome.LOCKED,
           LoginAttempt.KeyExpired: Outcome.EXPIRED}


_ATTEMPT = Roles((LoginAttempt.LoginRequestedFrom, "from"),
                 (LoginAttempt.LoginRequested, "requested"),
                 (LoginAttempt.PasswordAccepted, "accepted"), (LoginAttempt.KeyIssued, "issued"),
                 (LoginAttempt.KeyVerified, "verified"), (LoginAttempt.KeyRejected, "rejected"),
                 (LoginAttempt.KeyMailFailed, "mail_failed"),
                 *((kind, "ending") for kind in ENDINGS), *((kind, "finish") for kind in FINISHES))


_MOVES_DUE = ("issued", "finish")  # the roles that move an attempt's end (``over_at``)


@attrs.define(slots=False)
class Attempt:
    """One press of 「ログイン」 as the events tell it, with the account as it stood then."""

    id: UUID
    login_id: str
    account_id: UUID | None
    requested_at: datetime
    kind: str = "unknown"  # main, sub, or unknown (no such login ID)
    events: list[Any] = attrs.Factory(list)
    key_required: bool = False  # as the event says
    first_login: bool = False
    policy_requires_key: bool = False  # as the policy in force says (LG-2..LG-4, D-1)
    key_on: bool = False  # the account's 通知キーの利用 then: which rule a wrong demand breaks
    issued: Any = None  # KeyIssued
    verified: Any = None  # the first KeyVerified
    verifications: int = 0
    ended_by: Any = None  # the first KeySuperseded, AttemptLocked or KeyExpired
    finished: Any = None  # LoginCompleted, PasswordRejected or KeyWithheld
    wrong_entries: int = 0  # as the last KeyRejected says
    rejections: int = 0  # KeyRejected events: D-4's count, as the events have it
    mail_failed: bool = False
    pending: bool = False  # open when the store ended, and not over then (its deadline)
    client: Any = None  # LoginRequestedFrom: at the portal, from this address (D-14)

    @property
    def deadline(self) -> datetime:
        if self.issued is not None:
            return self.issued.timestamp + timedelta(seconds=self.issued.valid_for_seconds)
        return self.requested_at + STALE

    @property
    def outcome(self) -> Outcome:
        if self.finished is not None:
            return FINISHES[type(self.finished)]
        if self.ended_by is not None:
            return ENDINGS[type(self.ended_by)]
        if self.mail_failed:
            return Outcome.MAIL_FAILED
        return Outcome.PENDING if self.pending else Outcome.ABANDONED

    @property
    def ended_at(self) -> datetime:
        return (self.finished or self.ended_by or self.events[-1]).timestamp

    def fold(self, event: Any) -> None:
        if event.originator_version != len(self.events) + 1:  # (rows moved: a wrong key
            raise OutOfSequence(  # entered before the right one read as after it, D-4)
                f"login attempt {self.id}: its event {event.originator_version} is stored "
                f"where its event {len(self.events) + 1} is due: an aggregate's events are "
                "stored in the order it numbered them, so they were moved or deleted, or the "
                "store is damaged", (event.originator_id, event.originator_version))
        self.events.append(event)
        role = _ATTEMPT[type(event)]
        if role == "accepted":
            self.key_required, self.first_login = event.key_required, event.first_login
        elif role == "issued":
            self.issued = event
        elif role == "verified":
            self.verified = self.verified or event
            self.verifications += 1
        elif role == "rejected":
            self.wrong_entries, self.rejections = event.wrong_entries, self.rejections + 1
        elif role == "mail_failed":
            self.mail_failed = True
        elif role == "ending":
            self.ended_by = self.ended_by or event
        elif role == "finish":
            self.finished = event

    def over(self, now: datetime) -> bool:
        """Its outcome is settled: finished, or its key expired an hour ago (an entry after
        expiry is lawful and recorded as KeyExpired until then, so it is waited for that
        long; the model records no later one, KEY_AWAITED)."""
        return now >= self.over_at()

    def over_at(self) -> datetime:
        """The instant from which it is over (the earliest, if it finished)."""
        if self.finished is not None:
            return _SETTLED
        return self.deadline + (KEY_AWAITED if self.issued is not None else timedelta(0))


@attrs.frozen
class OutOfOrder:
    """An attempt's event stamped over a minute before one stored ahead of it."""

    attempt_id: UUID
    at: datetime
    ahead_of: UUID | None  # the attempt whose event was stamped later, stored before
    ahead_at: datetime


class AttemptBook:
    """The attempts still open, in the order they were requested; and the attempt events
    stamped well before one stored ahead of them (the clocks of the store's writers
    disagreed, or an event was changed): "now" is the latest instant seen, so an event
    stamped ahead of its time closes the attempts open then as over."""

    # The oldest open attempt and when it is over, known until it changes (``due`` is asked
    # after every attempt event, and worked it out each time).
    _due: tuple[Attempt, datetime] | None = None

    def __init__(self) -> None:
        self.open: OrderedDict[int, Attempt] = OrderedDict()  # by id, as an int (a UUID's
        #   hash is a Python call)
        self.closed = RecentAttempts[Attempt]()
        self.now: datetime | None = None
        self.ahead_by: UUID | None = None  # the attempt whose event set ``now``
        self.out_of_order = 0
        self.first_out_of_order: OutOfOrder | None = None

    def fold(self, event: Any, accounts: AccountBook) -> Attempt | None:
        """The attempt a LoginAttempt event belongs to, after folding it in; None when the
        attempt is long gone from memory."""
        if self.now is None or event.timestamp > self.now:
            self.now, self.ahead_by = event.timestamp, event.originator_id
        elif event.timestamp < self.now - CLOCKS_APART:
            self.out_of_order += 1
            self.first_out_of_order = self.first_out_of_order or OutOfOrder(
                event.originator_id, event.timestamp, self.ahead_by, self.now)
        role = _ATTEMPT[type(event)]
        if role in ("requested", "from"):
            attempt = Attempt(event.originator_id, event.login_id, event.account_id,
                              event.timestamp, accounts.kind(event.account_id),
                              client=event if role == "from" else None)
            self.open[attempt.id.int] = attempt
        found = self.open.get(event.originator_id.int) or self.closed.get(event.originator_id)
        if found is not None:
            found.fold(event)
            if self._due is not None and self._due[0] is found and role in _MOVES_DUE:
                self._due = None
            if role == "accepted":
                account = accounts.of(found.account_id)
                found.key_on = bool(account and account.notify_key)
                found.policy_requires_key = found.key_on and bool(account and account.logins)
        return found

    def due(self) -> bool:
        """The oldest open attempt is over: ``pop_over`` has something to give."""
        now = self.now
        if now is None:
            return False
        if self._due is None:
            if not self.open:
                return False
            oldest = next(iter(self.open.values()))
            self._due = (oldest, oldest.over_at())
        return now >= self._due[1]

    def pop_over(self, final: bool = False) -> Iterator[Attempt]:
        """Attempts that are over, oldest request first; ``final`` (the store's end) ends
        them all, those whose key is still valid then as pending."""
        while self.open:
            attempt = next(iter(self.open.values()))
            if not final and not (self.now and attempt.over(self.now)):
                return
            attempt.pending = final and self.now is not None and self.now < attempt.deadline
            del self.open[attempt.id.int]
            self._due = None
            self.closed.add(attempt)
            yield attempt
