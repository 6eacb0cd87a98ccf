"""The login protocol as a state machine (Hypothesis): customers, sub IDs, settings changes,
logins, key entries (right, wrong, not a key, stale, superseded) and clock moves in any order.

After every step the application must agree with a plain reference model written from the
rules alone, and the audit must find the store clean: no login without a valid key when one
is required; no key after 10 minutes (LG-5), twice (D-3), after a newer one (D-2) or after 5
wrong entries (D-4); never a key at a first login (D-1); at most 5 keys an hour (D-10).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import attrs
import freezegun
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from application.audit import verify
from application.bootstrap import store_settings
from application.outcomes import Session
from application.screens import (
    KEY_EXPIRED,
    KEY_LIMIT_UNTIL,
    KEY_UNUSABLE,
    KEY_WRONG,
    LOGIN_FAILED,
    NOT_A_KEY,
    TRIES_LEFT,
    jst,
)
from domain import clock
from domain.crypto import Hasher
from domain.forms import NOTIFY_KEY_OFF, NOTIFY_KEY_ON
from domain.login_attempt import KEY_AWAITED
from domain.policy import LoginPolicy
from tests.conftest import build
from tests.processes import describe
from tests.story import PASSWORD, SUB_PASSWORD, KeyRecorder, onboard, sub_id_form

POLICY = LoginPolicy()


# The reference model: the rules, as plainly as they can be written ----------------------
@attrs.define(eq=False)
class RefAttempt:
    key: str
    issued_at: datetime
    status: str = "awaiting"
    wrong: int = 0


@attrs.define
class RefAccount:
    password: str
    email: str
    notify_key: bool = False
    logins: int = 0
    mailed: list[datetime] = attrs.Factory(list)
    pending: RefAttempt | None = None

    def log_in(self, right_password: bool, now: datetime) -> str:
        if not right_password:
            return f"error: {LOGIN_FAILED}"  # D-9
        if not self.notify_key or self.logins == 0:  # LG-2, LG-4, D-1
            self.logins += 1
            return "top page"
        if self._mails_within(now) >= POLICY.max_keys_per_window:  # D-10, and from when:
            back = now.replace(second=0, microsecond=0)  # the first whole minute that
            while back < now or self._mails_within(back) >= POLICY.max_keys_per_window:
                back += timedelta(minutes=1)  # takes a key again
            return f"error: {KEY_LIMIT_UNTIL.format(jst(back))}"
        return "key entry"

    def _mails_within(self, now: datetime) -> int:
        return sum(t > now - POLICY.key_window for t in self.mailed)

    def issue(self, key: str, now: datetime) -> RefAttempt:
        if self.pending is not None and self.pending.status == "awaiting":
            self.pending.status = "superseded"  # D-2
        self.pending = RefAttempt(key, now)
        self.mailed.append(now)
        return self.pending

    def enter(self, attempt: RefAttempt, key: str, now: datetime) -> str:
        if attempt.status != "awaiting":
            return f"error: {KEY_UNUSABLE}"  # D-2, D-3, after a lock or expiry
        if now >= attempt.issued_at + POLICY.validity:  # LG-5, D-5
            if now < attempt.issued_at + POLICY.validity + KEY_AWAITED:  # (later: unrecorded,
                attempt.status = "expired"  # the attempt still awaiting, and told so again)
            return f"error: {KEY_EXPIRED}"
        if not (len(key) == 12 and key.isdigit()):  # D-6: no guess, nothing counted
            return f"key entry: {NOT_A_KEY}"
        if key == attempt.key:
            attempt.status = "used"
            self.logins += 1
            return "top page"
        attempt.wrong += 1
        if attempt.wrong >= POLICY.max_wrong_entries:  # D-4
            attempt.status = "locked"
            return f"error: {LOGIN_FAILED}"
        return f"key entry: {KEY_WRONG}{TRIES_LEFT.format(POLICY.max_wrong_entries - attempt.wrong)}"


@attrs.frozen
class Issued:
    attempt_id: UUID
    login_id: str
    reference: RefAttempt


class LoginProtocol(RuleBasedStateMachine):
    accounts = Bundle("accounts")
    attempts = Bundle("attempts")

    def __init__(self) -> None:
        super().__init__()
        self.freezer = freezegun.freeze_time("2026-04-06 00:00:00+00:00")
        self.clock = self.freezer.start()
        self.inbox = KeyRecorder()
        self.app = build(store_settings("memory"), self.inbox, hasher=Hasher(4))
        self.model: dict[str, RefAccount] = {}
        self.mains: dict[str, Session] = {}  # main login ID -> its session
        self.owner: dict[str, str] = {}  # sub login ID -> its main login ID
        self.bursts = 0

    def teardown(self) -> None:
        self.app.close()
        self.freezer.stop()

    # The population and its settings -----------------------------------------------------
    @initialize(target=accounts)
    def a_customer(self) -> str:
        return self._customer("main00")

    @precondition(lambda self: len(self.mains) < 3)
    @rule(target=accounts)
    def another_customer(self) -> str:
        return self._customer(f"main{len(self.mains):02d}")

    def _customer(self, login_id: str) -> str:
        email = f"{login_id}@example.co.jp"
        self.mains[login_id] = onboard(self.app, login_id, number=f"BS{len(self.mains):07d}",
                                       email=email, email_confirmation=email)
        self.model[login_id] = RefAccount(PASSWORD, email)
        return login_id

    @precondition(lambda self: len(self.owner) < 4)
    @rule(target=accounts, main=accounts, key_on=st.booleans())
    def a_sub_id(self, main: str, key_on: bool) -> str:
        main = self.owner.get(main, main)
        login_id = f"sub{len(self.owner):02d}"
        form = sub_id_form(login_id, notify_key=NOTIFY_KEY_ON if key_on else NOTIFY_KEY_OFF)
        session = self.mains[main]
        self.app.submit_new_sub_id(session, self.app.confirm_new_sub_id(session, form))
        self.owner[login_id] = main
        self.model[login_id] = RefAccount(SUB_PASSWORD, form["email"], notify_key=key_on)
        return login_id

    @rule(login_id=accounts, on=st.booleans())
    def the_notify_key_setting(self, login_id: str, on: bool) -> None:
        form = {"notify_key": NOTIFY_KEY_ON if on else NOTIFY_KEY_OFF}
        if login_id in self.owner:
            main = self.mains[self.owner[login_id]]
            self.app.submit_sub_id_change(
                main, self.app.confirm_sub_id_change(main, login_id, form))
        else:
            main = self.mains[login_id]
            self.app.submit_customer_information(
                main, self.app.confirm_customer_information(main, form))
        self.model[login_id].notify_key = on

    # Logins and keys ----------------------------------------------------------------------
    @rule(target=attempts, login_id=accounts, right_password=st.booleans())
    def a_login(self, login_id: str, right_password: bool) -> object:
        account = self.model[login_id]
        password = account.password if right_password else account.password + "?"
        screen = self.app.log_in(login_id, password)
        expected = account.log_in(right_password, clock.now())
        assert describe(screen) == expected
        if expected != "key entry":
            return multiple()
        key = self.inbox.keys[account.email][-1]
        return Issued(screen.attempt_id, login_id,  # type: ignore[union-attr]
                      account.issue(key, clock.now()))

    @precondition(lambda self: self.bursts < 2)  # (each one grows the store audited at
    @rule(login_id=accounts)  # every step by a dozen events)
    def logins_in_a_row(self, login_id: str) -> None:
        """Six in under three minutes: past D-10's five an hour when a key is asked."""
        self.bursts += 1
        for _ in range(6):
            self.a_login(login_id, right_password=True)
            self.clock.tick(timedelta(seconds=29))

    @rule(issued=attempts, typing=st.sampled_from(["right", "wrong", "short", "empty"]))
    def a_key_entry(self, issued: Issued, typing: str) -> None:
        key = issued.reference.key
        typed = {"right": key, "wrong": key[:-1] + str((int(key[-1]) + 1) % 10),
                 "short": key[:5], "empty": ""}[typing]
        screen = self.app.enter_key(issued.attempt_id, typed)
        expected = self.model[issued.login_id].enter(issued.reference, typed, clock.now())
        assert describe(screen) == expected

    @rule(issued=consumes(attempts))
    def forget_an_attempt(self, issued: Issued) -> None:
        """Keeps the bundle small, so fresh attempts get entries too."""

    @rule(minutes=st.sampled_from([0.5, 1, 4, 9.5, 10, 11, 30, 61, 71]))  # (71: past the hour
    #   after expiry, an entry records nothing)
    def time_passes(self, minutes: float) -> None:
        self.clock.tick(timedelta(minutes=minutes))

    @invariant()
    def the_audit_finds_the_store_clean(self) -> None:
        assert [v.rule for v in verify(self.app)] == []


TestLoginProtocol = LoginProtocol.TestCase
