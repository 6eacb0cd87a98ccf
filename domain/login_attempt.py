"""LoginAttempt: one press of 「ログイン」, and everything that happened to it after.

Its events alone tell an auditor the whole story of a login: the password outcome, the
key issued (a digest, never the key), every key entry, and how it ended.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from domain.aggregate import Aggregate
from domain.crypto import Checks
from domain.policy import LoginPolicy
from domain.portal_sessions import AddressCheck


class Status(enum.Enum):
    REQUESTED = "requested"
    PASSWORD_REJECTED = "password_rejected"
    AWAITING_KEY = "awaiting_key"
    KEY_WITHHELD = "key_withheld"
    COMPLETED = "completed"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    LOCKED = "locked"


_UNUSED_KEY_OVER = frozenset({Status.SUPERSEDED, Status.EXPIRED, Status.LOCKED})
# How long after its key expires an attempt still takes an entry, to record that it came too
# late (KeyExpired); one later finds the attempt long over and records nothing: so an audit
# knows when an attempt whose key was never entered is settled (abandoned), whatever else
# the store holds.
KEY_AWAITED = timedelta(hours=1)


class KeyOutcome(enum.Enum):
    VERIFIED = "verified"
    WRONG = "wrong"
    LOCKED = "locked"
    EXPIRED = "expired"
    REFUSED = "refused"  # no live key: superseded, used, locked or expired before
    EARLIER_KEY = "earlier_key"  # an earlier mail's key, superseded (D-2): not counted once
    NOT_A_KEY = "not_a_key"  # not the key's digits (empty, short, letters): no entry at all


class LoginAttempt(Aggregate):
    class LoginRequested(Aggregate.Created):
        login_id: str
        account_id: UUID | None

    class LoginRequestedFrom(LoginRequested):
        """At the portal: the client address, D-14's limit in force on its failed logins,
        and the version of the address's failures that the check read (they are counted on
        the address's own aggregate); the attempt's next event records the check's instant.
        An audit counts again what the check counted."""

        client_address: str
        failure_limit: int
        failure_window_seconds: int
        count_version: int

    def __init__(self, login_id: str, account_id: UUID | None):
        self.login_id = login_id
        self.account_id = account_id
        self.status = Status.REQUESTED
        self.key_digest: str | None = None
        self.key_issued_at: datetime | None = None
        self.valid_for = timedelta(0)
        self.max_wrong_entries = 0
        self.wrong_entries = 0
        self.with_key = False

    @classmethod
    def request(
        cls, login_id: str, account_id: UUID | None, now: datetime, attempt_id: UUID,
        check: AddressCheck | None = None,
    ) -> LoginAttempt:
        """A press of 「ログイン」; ``check``: at the portal, D-14's of its client address."""
        if check is None:  # (the services' own callers: no address, no D-14)
            return cls._create(cls.LoginRequested, id=attempt_id, login_id=login_id,
                               account_id=account_id, timestamp=now)
        return cls._create(
            cls.LoginRequestedFrom, id=attempt_id, login_id=login_id, account_id=account_id,
            client_address=check.client_address, failure_limit=check.limit,
            failure_window_seconds=int(check.window.total_seconds()),
            count_version=check.count_version, timestamp=now,
        )

    @property
    def expires_at(self) -> datetime | None:
        return self.key_issued_at + self.valid_for if self.key_issued_at else None

    # The password (LG-1, D-9) ------------------------------------------------------------
    class PasswordRejected(Aggregate.Event):
        def apply(self, attempt: LoginAttempt) -> None:
            attempt.status = Status.PASSWORD_REJECTED

    class PasswordAccepted(Aggregate.Event):
        key_required: bool
        first_login: bool

        def apply(self, attempt: LoginAttempt) -> None:
            attempt.status = Status.AWAITING_KEY if self.key_required else Status.REQUESTED

    def reject_password(self, now: datetime) -> None:
        self.trigger_event(self.PasswordRejected, timestamp=now)

    def accept_password(self, notify_key: bool, first_login: bool, now: datetime) -> bool:
        """LG-2, LG-4: a key is required iff the notify key is on and it is not the first
        login. Returns whether it is."""
        required = notify_key and not first_login
        self.trigger_event(
            self.PasswordAccepted, key_required=required, first_login=first_login, timestamp=now
        )
        return required

    # The key (LG-3, LG-5, D-2..D-6, D-10) ------------------------------------------------
    class KeyIssued(Aggregate.Event):
        key_digest: str
        mailed_to: str
        valid_for_seconds: int  # the policy in force, so an audit needs no outside source
        max_wrong_entries: int
        max_keys_per_window: int = 0  # D-10's, likewise (0: a key issued before they were
        key_window_seconds: int = 0  # recorded with it, whose D-10 cannot be audited)

        def apply(self, attempt: LoginAttempt) -> None:
            attempt.key_digest = self.key_digest
            attempt.key_issued_at = self.timestamp
            attempt.valid_for = timedelta(seconds=self.valid_for_seconds)
            attempt.max_wrong_entries = self.max_wrong_entries

    class KeyWithheld(Aggregate.Event):
        keys_in_window: int

        def apply(self, attempt: LoginAttempt) -> None:
            attempt.status = Status.KEY_WITHHELD

    class KeyMailFailed(Aggregate.Event):
        reason: str

    class KeySuperseded(Aggregate.Event):
        by_attempt_id: UUID

        def apply(self, attempt: LoginAttempt) -> None:
            attempt.status = Status.SUPERSEDED

    def issue_key(
        self, key_digest: str, mailed_to: str, policy: LoginPolicy, now: datetime
    ) -> None:
        self.trigger_event(
            self.KeyIssued, key_digest=key_digest, mailed_to=mailed_to,
            valid_for_seconds=int(policy.validity.total_seconds()),
            max_wrong_entries=policy.max_wrong_entries,
            max_keys_per_window=policy.max_keys_per_window,
            key_window_seconds=int(policy.key_window.total_seconds()), timestamp=now,
        )

    def withhold_key_past_limit(self, mailed: Iterable[datetime], policy: LoginPolicy,
                                now: datetime) -> datetime | None:
        """D-10: with the policy's keys mailed to the login ID (at ``mailed``) within its
        window, no key: recorded so, and the instant a key may be mailed again returned.
        None: a key may be mailed now."""
        mailed = list(mailed)
        sent = sum(1 for t in mailed if t > now - policy.key_window)
        if not policy.limit_reached(sent):
            return None
        self.trigger_event(self.KeyWithheld, keys_in_window=sent, timestamp=now)
        return policy.mails_resume_at(mailed, now)

    def mail_failed(self, reason: str) -> None:
        self.trigger_event(self.KeyMailFailed, reason=reason)

    def supersede(self, by_attempt_id: UUID, now: datetime) -> None:
        """D-2: a newer key of the same login ID ends this one, if it is still live."""
        if self.status is Status.AWAITING_KEY:
            self.trigger_event(self.KeySuperseded, by_attempt_id=by_attempt_id, timestamp=now)

    # Key entries -------------------------------------------------------------------------
    @property
    def tries_left(self) -> int:
        """Wrong keys this attempt takes before it is locked (D-4)."""
        return max(0, self.max_wrong_entries - self.wrong_entries)

    class KeyVerified(Aggregate.Event):
        def apply(self, attempt: LoginAttempt) -> None:
            attempt.with_key = True

    class KeyRejected(Aggregate.Event):
        wrong_entries: int

        def apply(self, attempt: LoginAttempt) -> None:
            attempt.wrong_entries = self.wrong_entries

    class AttemptLocked(Aggregate.Event):
        def apply(self, attempt: LoginAttempt) -> None:
            attempt.status = Status.LOCKED

    class KeyExpired(Aggregate.Event):
        def apply(self, attempt: LoginAttempt) -> None:
            attempt.status = Status.EXPIRED

    class KeyRefused(Aggregate.Event):
        reason: str  # the status that left no live key

        def apply(self, attempt: LoginAttempt) -> None:
            attempt.refused = True

    refused = False  # an entry after its end recorded (once: a replayed form adds nothing)

    class EarlierKeyEntered(Aggregate.Event):
        """The key of an earlier attempt of the login ID (superseded by this one's, D-2, or
        over before it: expired, locked) entered here: the person logged in again, then
        typed the first mail's key."""

        attempt_id: UUID  # the attempt whose key it was

        def apply(self, attempt: LoginAttempt) -> None:
            attempt.earlier_key_entered = True

    earlier_key_entered = False  # (a class default: attempts stored before it was kept)

    def enter_key(self, key: str, checks: Checks, now: datetime,
                  earlier: Iterable[LoginAttempt] = (), *, digits: int) -> KeyOutcome:
        """One press of 「OK」 on 通知キー照合, decided at ``now``, recorded at ``now``. The
        first key of one of the ``earlier`` attempts of the login ID (whose mails came
        before this one's, D-2) is not counted as a wrong entry (D-4); typed again, it is. What
        cannot be a key (not ``digits`` digits, D-6) is no guess: on a live attempt it is
        asked again, with nothing recorded or counted (a used, locked, superseded or
        expired attempt says so first, as for any entry). An entry KEY_AWAITED or more
        after the key expired is told so, and records nothing."""
        if self.status is not Status.AWAITING_KEY or self.key_digest is None:
            if not self.refused:  # (the first says it; a form replayed again and again,
                self.trigger_event(self.KeyRefused, reason=self.status.value, timestamp=now)
            return KeyOutcome.REFUSED  # each recorded, grew the store without end)
        assert self.expires_at is not None
        if not now < self.expires_at:  # D-5
            if now < self.expires_at + KEY_AWAITED:
                self.trigger_event(self.KeyExpired, timestamp=now)
            return KeyOutcome.EXPIRED
        if not (len(key) == digits and key.isascii() and key.isdigit()):
            return KeyOutcome.NOT_A_KEY
        if checks.matches(key, self.key_digest):
            self.trigger_event(self.KeyVerified, timestamp=now)
            self.complete(now)
            return KeyOutcome.VERIFIED
        if not self.earlier_key_entered:
            for attempt in earlier:
                if attempt.was_mailed_with(key, checks, self.login_id):
                    self.trigger_event(self.EarlierKeyEntered, attempt_id=attempt.id,
                                       timestamp=now)
                    return KeyOutcome.EARLIER_KEY
        self.trigger_event(self.KeyRejected, wrong_entries=self.wrong_entries + 1, timestamp=now)
        if self.wrong_entries >= self.max_wrong_entries:  # D-4
            self.trigger_event(self.AttemptLocked, timestamp=now)
            return KeyOutcome.LOCKED
        return KeyOutcome.WRONG

    def was_mailed_with(self, key: str, checks: Checks, login_id: str) -> bool:
        """Whether ``key`` is the key this attempt mailed to ``login_id`` and never used:
        superseded by a newer mail (D-2), or over before the newer mail was sent (its key
        expired, LG-5, or its attempt locked, D-4): the person has both mails either way,
        and the newest one's screen asks for its key alike. (A used key is not asked
        after: each wrong entry would cost a digest more per earlier login.)"""
        return (self.status in _UNUSED_KEY_OVER and self.login_id == login_id
                and self.key_digest is not None and checks.matches(key, self.key_digest))

    # The end -----------------------------------------------------------------------------
    class LoginCompleted(Aggregate.Event):
        with_key: bool

        def apply(self, attempt: LoginAttempt) -> None:
            attempt.status = Status.COMPLETED

    def complete(self, now: datetime) -> None:
        self.trigger_event(self.LoginCompleted, with_key=self.with_key, timestamp=now)
