"""Audit: verify on every store (memory, SQLite, and PostgreSQL where configured), with
violations planted by writing events directly (bypassing the services), each of which
verify must catch. The commands at the terminal: test_audit_commands.py."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from uuid import UUID, uuid4

import attrs
import pytest
from freezegun.api import FrozenDateTimeFactory

from application import audit
from application.adapters.mailbox import MailboxFolder
from application.audit import Verifier, Violation, checkpoint, replay
from application.audit import recent as recent_attempts
from application.audit.attempt_book import AttemptBook
from application.audit.evidence import line, shown
from application.audit.verify import UNCOUNTED_D14, UNJUDGED_D12
from application.billing_station import BillingStation
from application.bootstrap import store_settings
from application.japan_time import jst, span
from application.login import Opening
from application.outcomes import ErrorPage, Refusal, Throttled, TopPage
from billing_station.audit_pages import findings_page
from domain import clock
from domain.accounts import Account, Customer, SubID
from domain.crypto import Hasher
from domain.login_attempt import LoginAttempt
from domain.policy import LoginPolicy
from domain.portal_sessions import (
    QUIET_FORGOTTEN,
    AddressCheck,
    ClientAddress,
    PortalSession,
    client_address_id,
    token_digest,
)
from tests.conftest import build
from tests.story import (
    EMAIL,
    PASSWORD,
    SUB_PASSWORD,
    add_sub_id,
    complete_planted,
    first_login,
    keyed_main,
    latest_key,
    log_in_with_key,
    onboard,
    pending,
    set_notify_key,
)


@pytest.fixture
def env(any_env: dict[str, str]) -> dict[str, str]:
    """Every audit test runs on every store."""
    return any_env


def rules(app: BillingStation) -> list[str]:
    return [v.rule for v in audit.verify(app)]


def the_violation(app: BillingStation, rule: str) -> Violation:
    """The one violation verify finds in ``app``'s store, of ``rule``."""
    found = list(audit.verify(app))
    assert [v.rule for v in found] == [rule]
    return found[0]


def test_a_store_made_by_the_services_verifies_clean(
    keyed: BillingStation, mailbox: MailboxFolder, start: FrozenDateTimeFactory
) -> None:
    entry = pending(keyed)
    keyed.enter_key(entry.id, "000000000000")
    keyed.enter_key(entry.id, latest_key(mailbox, EMAIL))
    pending(keyed)
    earlier_key = latest_key(mailbox, EMAIL)
    newest = pending(keyed)
    keyed.enter_key(newest.id, earlier_key)  # D-2: EarlierKeyEntered, not a wrong entry
    start.tick(timedelta(minutes=11))
    assert rules(keyed) == []


def test_LG_3_a_login_completed_without_the_required_key_is_caught(
    keyed: BillingStation, start: FrozenDateTimeFactory
) -> None:
    attempt = pending(keyed)
    complete_planted(keyed, attempt, attempt.modified_on)  # planted: no KeyVerified
    assert rules(keyed) == ["LG-3"]


def _login_with_a_key_planted(app: BillingStation) -> None:
    """Planted: a login of main01 that asked for its key and took it, whatever the policy."""
    account = app.account("main01")
    assert account is not None
    now = account.modified_on
    attempt = LoginAttempt.request("main01", account.id, now, uuid4())
    attempt.accept_password(True, False, now)
    attempt.issue_key(Hasher(4).digest("000000000000"), EMAIL, LoginPolicy(), now)
    attempt.trigger_event(LoginAttempt.KeyVerified, timestamp=now)
    complete_planted(app, attempt, now)


def test_LG_2_a_key_demanded_with_the_notify_key_off_is_caught(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    onboard(app)  # 利用しない (CI-3)
    first_login(app)
    _login_with_a_key_planted(app)
    [found] = audit.verify(app)
    assert found.rule == "LG-2" and "notify key off" in found.message


def test_LG_2_a_key_demanded_with_the_notify_key_off_is_caught_if_never_entered(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    """It was judged only as a login completed: a key mailed against the policy and left
    to expire was not (README: "for every login attempt")."""
    onboard(app)  # 利用しない (CI-3)
    first_login(app)
    account = app.account("main01")
    assert account is not None
    attempt = LoginAttempt.request("main01", account.id, account.modified_on, uuid4())
    attempt.accept_password(True, False, account.modified_on)  # (planted: a key asked for)
    attempt.issue_key(Hasher(4).digest("0" * 12), EMAIL, LoginPolicy(), account.modified_on)
    app.save(attempt)
    start.tick(timedelta(minutes=11))
    assert rules(app) == ["LG-2"]


def test_LG_4_a_key_demanded_at_a_first_login_is_caught(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    set_notify_key(app, onboard(app))  # 利用する, never logged in
    _login_with_a_key_planted(app)
    [found] = audit.verify(app)
    assert found.rule == "LG-4" and "first login" in found.message
    _login_with_a_key_planted(app)  # the same again, past the first (recorded on the account)
    assert rules(app) == ["LG-4"]  # past the first login a key is what the policy asks


def test_LG_5_a_key_accepted_after_10_minutes_is_caught(keyed: BillingStation) -> None:
    attempt = pending(keyed)
    late = attempt.modified_on + timedelta(minutes=10)
    attempt.trigger_event(LoginAttempt.KeyVerified, timestamp=late)
    complete_planted(keyed, attempt, late)
    assert rules(keyed) == ["LG-5"]
    found = the_violation(keyed, "LG-5")  # (the sum said: issued + valid, accepted, how late)
    assert re.fullmatch(r"a key was accepted after its validity \(issued \S+ \S+ JST, valid "
                        r"10 min, accepted \S+ \S+ JST: as it ended\)", found.message)
    assert found.shown.endswith(f"、有効10分、受付 {jst(late, seconds=True)}: 期限の時刻ちょうど)")
    later = pending(keyed)
    over = later.modified_on + timedelta(minutes=12, seconds=5)
    later.trigger_event(LoginAttempt.KeyVerified, timestamp=over)
    complete_planted(keyed, later, over)
    assert any(v.message.endswith(": 125 s late)") and v.shown.endswith(": 125秒超過)")
               for v in audit.verify(keyed) if v.rule == "LG-5")


def test_LG_5_a_key_accepted_before_it_was_issued_is_caught(keyed: BillingStation) -> None:
    """Its KeyVerified stamped an hour before its KeyIssued passed, but for a note on the
    clocks (the auditor's probe): a key is valid from its issue on (D-5)."""
    attempt = pending(keyed)
    early = attempt.modified_on - timedelta(seconds=30)  # (within a minute: no clock note)
    attempt.trigger_event(LoginAttempt.KeyVerified, timestamp=early)
    complete_planted(keyed, attempt, early)
    assert the_violation(keyed, "LG-5").message == "a key was accepted before it was issued"


def test_D_2_and_D_4_keys_accepted_after_supersession_or_lock_are_caught(
    keyed: BillingStation,
) -> None:
    superseded = pending(keyed)
    pending(keyed)  # supersedes the first
    superseded = keyed.repository.get(superseded.id)
    locked = pending(keyed)
    for attempt in (superseded, locked):
        now = attempt.modified_on
        if attempt is locked:
            attempt.trigger_event(LoginAttempt.AttemptLocked, timestamp=now)
        attempt.trigger_event(LoginAttempt.KeyVerified, timestamp=now)
        complete_planted(keyed, attempt, now)
    assert rules(keyed) == ["D-2", "D-4"]


def test_D_2_and_D_4_are_judged_by_the_events_not_by_the_verdicts_recorded(
    keyed: BillingStation,
) -> None:
    """An application that forgot to supersede an earlier key, or to lock an attempt at its
    fifth wrong key, recorded no KeySuperseded or AttemptLocked, and verify, which looked
    only for those, vouched for the key it then accepted."""
    earlier = _key_planted(keyed)  # (planted: no service supersedes it)
    _key_planted(keyed)  # a newer key for main01
    earlier.trigger_event(LoginAttempt.KeyVerified, timestamp=earlier.modified_on)
    complete_planted(keyed, earlier, earlier.modified_on)
    found = the_violation(keyed, "D-2")
    assert found.message == "a key was accepted after a newer key for main01 was issued"
    assert "(the newer key, issued before)" in found.evidence[-1]
    page = findings_page([found], Counter({"events": 1}), "store")  # (its note in Japanese)
    assert "(先に発行された、より新しい通知キー)</pre>" in page and "newer key" not in page
    guessed = pending(keyed)
    now = guessed.modified_on
    for wrong in range(1, 6):  # the policy's five (its KeyIssued records them), no lock
        guessed.trigger_event(LoginAttempt.KeyRejected, wrong_entries=wrong, timestamp=now)
    guessed.trigger_event(LoginAttempt.KeyVerified, timestamp=now)
    complete_planted(keyed, guessed, now)
    assert [v.message for v in audit.verify(keyed) if v.rule == "D-4"] == [
        "a key was accepted after 5 wrong entries (the limit: 5), its attempt never locked"]


def test_D_3_a_key_used_twice_is_caught(keyed: BillingStation, mailbox: MailboxFolder) -> None:
    attempt = pending(keyed)
    keyed.enter_key(attempt.id, latest_key(mailbox, EMAIL))
    attempt = keyed.repository.get(attempt.id)
    attempt.trigger_event(LoginAttempt.KeyVerified, timestamp=attempt.modified_on)
    keyed.save(attempt)
    assert rules(keyed) == ["D-3"]


def test_LG_1_a_login_completes_only_an_accounts_whose_password_was_accepted(
    app: BillingStation
) -> None:
    """A LoginCompleted after PasswordRejected, or for a login ID with no account, passed
    verify unseen (the auditor's probe): the password is half of every login."""
    onboard(app)
    account = app.account("main01")
    assert account is not None
    now = account.modified_on
    rejected = LoginAttempt.request("main01", account.id, now, uuid4())
    rejected.reject_password(now)
    complete_planted(app, rejected, now)  # planted
    assert the_violation(app, "LG-1").message == (
        "a login completed without its password accepted")
    nobody = LoginAttempt.request("nobody01", None, now, uuid4())
    nobody.accept_password(False, False, now)  # planted, as its completion
    nobody.complete(now)
    app.save(nobody)
    found = [v.message for v in audit.verify(app)]
    assert found[1:] == ["a login completed for nobody01, a login ID with no account"]


def test_LG_6_a_login_attempt_is_issued_one_key(keyed: BillingStation) -> None:
    """A KeyIssued stored again on the same attempt passed verify (the auditor's probe)."""
    attempt = pending(keyed)
    attempt.issue_key(Hasher(4).digest("000000000000"), EMAIL, LoginPolicy(),
                      attempt.modified_on)  # planted: a second key for one login
    keyed.save(attempt)
    found = the_violation(keyed, "LG-6")
    assert found.message.startswith("a login attempt was issued a second key")
    assert sum("LoginAttempt.KeyIssued" in e for e in found.evidence) == 2


def test_D_3_a_login_attempt_completes_once(keyed: BillingStation, mailbox: MailboxFolder,
                                          start: FrozenDateTimeFactory) -> None:
    """A second LoginCompleted on a completed attempt, hours later, passed verify unseen."""
    log_in_with_key(keyed, mailbox, "main01", PASSWORD, EMAIL, start, timedelta(minutes=1))
    [completed] = [r for r in audit.history(replay(keyed)) if r.outcome == "completed"][-1:]
    attempt = keyed.get(UUID(completed.attempt_id), LoginAttempt)
    attempt.complete(attempt.modified_on + timedelta(hours=2))  # planted
    keyed.save(attempt)
    found = the_violation(keyed, "D-3")
    assert found.message == "a login attempt completed a second time"
    assert sum("LoginAttempt.LoginCompleted" in e for e in found.evidence) == 2


@pytest.mark.parametrize("before", ["wrong password", "completed", "key never entered"])
def test_LG_1_LG_5_D_3_a_login_on_an_attempt_long_over_is_judged_as_one_still_held(
        keyed: BillingStation, mailbox: MailboxFolder, start: FrozenDateTimeFactory,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, before: str) -> None:
    """verify holds only the latest closed attempts: a login completed on one it no longer
    held was said to be "used again" (D-3), with itself for evidence, even when its password
    had been rejected (the auditor's probe). Its events are now read again from the store,
    and it is judged as if held: the same findings however many attempts came between,
    through a checkpoint too."""
    if before == "wrong password":
        keyed.log_in("main01", "wrong-password")
    elif before == "completed":
        log_in_with_key(keyed, mailbox, "main01", PASSWORD, EMAIL, start, timedelta(minutes=1))
    else:
        keyed.log_in("main01", PASSWORD)  # (a key mailed, never entered)
    [first] = [r for r in audit.history(replay(keyed))][-1:]
    for _ in range(3):  # (later attempts closed)
        start.tick(timedelta(minutes=1))
        keyed.log_in("main01", "wrong-password")
    attempt = keyed.get(UUID(first.attempt_id), LoginAttempt)
    later = attempt.modified_on + timedelta(hours=2)
    if before == "key never entered":
        attempt.trigger_event(LoginAttempt.KeyVerified, timestamp=later)  # planted
    attempt.trigger_event(LoginAttempt.LoginCompleted, with_key=False, timestamp=later)
    keyed.save(attempt)
    held = [(v.rule, v.message, len(v.evidence)) for v in audit.verify(keyed)]
    assert held and any(rule != "D-1" for rule, _, _ in held)
    monkeypatch.setattr(recent_attempts, "REMEMBERED", 2)  # (the first one forgotten)
    assert [(v.rule, v.message, len(v.evidence)) for v in audit.verify(keyed)] == held
    path = tmp_path / "audit.ckpt"
    through = checkpoint.verify_incrementally(keyed, path).violations
    assert [(v.rule, v.message, len(v.evidence)) for v in through] == held
    expected = {"wrong password": "LG-1", "completed": "D-3", "key never entered": "LG-5"}
    assert expected[before] in {rule for rule, _, _ in held}


def _key_planted(app: BillingStation, to: str = EMAIL, window_recorded: bool = True
                 ) -> LoginAttempt:
    """Planted: a key for main01 issued by the domain directly, past the service's checks
    (D-10's), mailed ``to`` (``window_recorded``: as this version records a key, or as an
    earlier one did, without D-10's limit)."""
    account = app.account("main01")
    assert account is not None
    now = account.modified_on
    attempt = LoginAttempt.request("main01", account.id, now, uuid4())
    attempt.accept_password(True, False, now)
    if window_recorded:
        attempt.issue_key(Hasher(4).digest("000000000000"), to, LoginPolicy(), now)
    else:
        attempt.trigger_event(LoginAttempt.KeyIssued, key_digest=Hasher(4).digest("0" * 12),
                              mailed_to=to, valid_for_seconds=600, max_wrong_entries=5,
                              timestamp=now)
    app.save(attempt)
    return attempt


def test_a_policy_s_span_that_is_no_whole_minute_is_said_in_seconds() -> None:
    """A tampered event's 5 s read "0.0833333 minutes" in findings and summaries."""
    assert span(3600, " minutes", " seconds") == "60 minutes"
    assert span(5, " minutes", " seconds") == "5 seconds"


def test_D_10_a_key_mailed_past_the_hours_limit_is_caught(
    keyed: BillingStation, start: FrozenDateTimeFactory
) -> None:
    for _ in range(5):  # the service's five of the hour (its sixth is withheld)
        pending(keyed)
        start.tick(timedelta(minutes=5))
    withheld = keyed.log_in("main01", PASSWORD)
    assert isinstance(withheld, ErrorPage) and withheld.refusal is Refusal.KEY_LIMIT
    assert rules(keyed) == []
    _key_planted(keyed)
    violation = the_violation(keyed, "D-10")
    assert violation.message == ("a key was mailed to main01 after 5 within 60 minutes "
                                 "(the limit: 5)")
    assert sum("KeyIssued" in evidence for evidence in violation.evidence) == 6


def test_D_10_keys_an_hour_apart_and_keys_issued_before_the_limit_was_recorded_pass(
    keyed: BillingStation, start: FrozenDateTimeFactory
) -> None:
    """A window counts back from each key; a key whose event does not carry its limit (an
    earlier version's) cannot be judged: it is counted as such, not called a violation."""
    for _ in range(5):
        pending(keyed)
        start.tick(timedelta(minutes=5))
    start.tick(timedelta(minutes=40))  # the first key is now over 60 minutes old
    pending(keyed)
    _key_planted(keyed, window_recorded=False)
    verifier = Verifier()
    assert [v.rule for v in verifier.check(replay(keyed))] == []
    assert verifier.counts["keys issued without their D-10 limit"] == 1


def test_D_10_is_judged_across_a_checkpoint(tmp_path: Path, mailbox: MailboxFolder) -> None:
    """verify --checkpoint keeps each login ID's recent keys in its fold: the planted
    sixth key, stored after the checkpoint, is judged with the five before it. (On the
    real clock: a checkpoint holds no freezegun datetime.)"""
    app = build(store_settings("sqlite", tmp_path / "store.sqlite3"), mailbox)
    keyed_main(app)
    for _ in range(5):
        pending(app)
    saved = tmp_path / "audit.ckpt"
    assert checkpoint.verify_incrementally(app, saved).violations == []
    _key_planted(app)
    after = checkpoint.verify_incrementally(app, saved)
    assert [v.rule for v in after.violations] == ["D-10"] and after.read == 3
    app.close()


T = TypeVar("T")


@attrs.define
class _Unguarded:
    """A portal that forgot D-14's limit (planted): it reads the address's failures and
    records what it read, as the portal does, and admits every password all the same."""

    app: BillingStation
    client_address: str
    checked: AddressCheck | None = None

    def admits(self) -> bool:
        client = self.app.find(client_address_id(self.client_address), ClientAddress)
        self.checked = attrs.evolve(
            AddressCheck.first(self.client_address, clock.now(), self.app.policy),
            count_version=client.version if client else 0)
        return True

    def mismatched(self) -> None:
        pass


def _stuffed(app: BillingStation, address: str = "203.0.113.9") -> None:
    """D-14's limit reached: twenty failed logins from ``address``, as the portal counts them."""
    for n in range(20):
        assert app.log_in_from(address, f"nobody{n}", "wrong") == ErrorPage(
            Refusal.LOGIN_FAILED)


def test_D_14_a_password_checked_from_an_address_past_its_limit_is_caught(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    onboard(app)
    _stuffed(app)
    start.tick(timedelta(minutes=1))
    assert isinstance(app.log_in_from("203.0.113.9", "main01", PASSWORD), Throttled)
    assert rules(app) == []  # the portal's own: twenty checked, then none
    unguarded = _Unguarded(app, "203.0.113.9")
    assert isinstance(app.log_in("main01", PASSWORD, gate=unguarded), TopPage)
    violation = the_violation(app, "D-14")
    assert violation.message == ("a password was checked for main01 from 203.0.113.9 after 20 "
                                "failed logins from it within 10 minutes (the limit: 20)")
    assert sum("ClientAddress.LoginFailed" in e for e in violation.evidence) == 20
    assert "LoginRequestedFrom" in violation.evidence[20]
    assert "client_address=203.0.113.9" in violation.evidence[20]
    assert "count_version=21" in violation.evidence[20]  # (its first sight, 20 failures)


def test_D_14_each_password_is_judged_by_the_limit_and_window_its_check_recorded(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    """A policy may change (the portal restarted with another): in one store, a password
    checked under 20 in 10 minutes is judged by those, one checked under 3 in 30 by these."""
    onboard(app)
    for n in range(4):
        app.log_in_from("203.0.113.9", f"nobody{n}", "wrong")
    start.tick(timedelta(minutes=11))  # the four are out of 10 minutes' window ...
    app.log_in("main01", PASSWORD, gate=_Unguarded(app, "203.0.113.9"))
    app.policy = LoginPolicy(address_failure_limit=3, address_window=timedelta(minutes=30))
    assert isinstance(app.log_in_from("203.0.113.9", "main01", PASSWORD), Throttled)
    app.log_in("main01", PASSWORD, gate=_Unguarded(app, "203.0.113.9"))  # ... not of 30's
    violation = the_violation(app, "D-14")
    assert violation.message == ("a password was checked for main01 from 203.0.113.9 after 4 "
                                "failed logins from it within 30 minutes (the limit: 3)")
    assert "failure_limit=3" in violation.evidence[4]


def test_D_14_a_lengthened_window_is_judged_on_what_the_address_kept(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    """Failures counted under a 10-minute window are kept 20 minutes: once the portal's
    window is 30 minutes, a check counts those kept, and the audit counts the same, whatever
    other addresses did; the new window's own failures then count in full."""
    onboard(app)
    app.log_in_from("198.51.100.7", "other", "wrong")  # another address, another window
    for n in range(3):
        app.log_in_from("203.0.113.9", f"nobody{n}", "wrong")
    start.tick(timedelta(minutes=21))  # past twice the 10 minutes they were counted under
    app.log_in_from("203.0.113.9", "nobody3", "wrong")
    app.policy = LoginPolicy(address_failure_limit=3, address_window=timedelta(minutes=30))
    app.log_in_from("198.51.100.7", "other", "wrong")
    assert isinstance(app.log_in_from("203.0.113.9", "main01", PASSWORD), TopPage)  # 1 kept
    assert list(audit.verify(app)) == []
    for n in range(2):
        app.log_in_from("203.0.113.9", f"nobody{n}", "wrong")
    assert isinstance(app.log_in_from("203.0.113.9", "main01", PASSWORD), Throttled)
    app.log_in("main01", PASSWORD, gate=_Unguarded(app, "203.0.113.9"))
    violation = the_violation(app, "D-14")
    assert "after 3 failed logins from it within 30 minutes (the limit: 3)" in violation.message


def test_D_14_a_check_is_judged_on_what_the_address_held_at_the_version_it_read(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    """A failure counted while a check's digest runs, by a worker already on a shorter
    window, makes the address forget failures the check counted: the audit still judges the
    check on those it read."""
    app.policy = LoginPolicy(address_failure_limit=3)
    onboard(app)
    for n in range(3):  # minutes 0, 1 and 2
        app.log_in_from("203.0.113.9", f"nobody{n}", "wrong")
        start.tick(timedelta(minutes=1))
    start.tick(timedelta(minutes=6))  # minute 9: three within 10 minutes
    assert isinstance(app.log_in_from("203.0.113.9", "main01", PASSWORD), Throttled)
    meanwhile: list[object] = []

    class Busy(type(app.hasher)):  # type: ignore[misc]
        def _in_turn(self, work: Callable[[], T]) -> T:
            done = work()  # (the planted check has read the three, and admitted)
            if not meanwhile:
                meanwhile.append("another worker, on a window of 4 minutes:")
                app.policy = LoginPolicy(address_failure_limit=3,
                                         address_window=timedelta(minutes=4))
                meanwhile.append(app.log_in_from("203.0.113.9", "nobody9", "wrong"))
            return done

    app.hasher = Busy(app.hasher.cost)
    assert isinstance(app.log_in("main01", PASSWORD, gate=_Unguarded(app, "203.0.113.9")),
                      TopPage)
    assert meanwhile[1:] == [ErrorPage(Refusal.LOGIN_FAILED)]  # (it forgot minutes 0 and 1)
    assert len(app.get(client_address_id("203.0.113.9"), ClientAddress).failures) == 2
    violation = the_violation(app, "D-14")
    assert "after 3 failed logins from it within 10 minutes (the limit: 3)" in violation.message
    app.policy = LoginPolicy(address_failure_limit=3)  # back on 10 minutes: a check that
    shown = app.log_in_from("203.0.113.9", "main01", PASSWORD)  # reads the forgetting's
    assert isinstance(shown, TopPage)  # version, where the address held minutes 2 and 9 only
    assert rules(app).count("D-14") == 1  # (not minutes 0 and 1 again: no second finding)


def test_D_14_another_address_a_window_past_and_the_services_own_logins_pass(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    """A window counts back from each check's instant; another address has its own count;
    the services' own logins (no address) are not D-14's."""
    onboard(app)
    _stuffed(app)
    app.log_in("main01", PASSWORD, gate=_Unguarded(app, "203.0.113.10"))  # another address
    app.log_in("main01", PASSWORD)  # not at the portal
    start.tick(timedelta(minutes=10))
    assert isinstance(app.log_in_from("203.0.113.9", "main01", PASSWORD), TopPage)
    verifier = Verifier()
    assert [v.rule for v in verifier.check(replay(app))] == []
    assert verifier.counts["passwords checked from a client address (D-14)"] == 22


def test_D_14_failures_stored_after_a_check_read_its_count_are_not_held_against_it(
    app: BillingStation
) -> None:
    """A burst: while a login's digest works, other workers store the address's twentieth
    failure and more, all before its own events and at the same instant. Its check read
    none of them, and rightly let the password be checked; the audit counts what it read."""
    onboard(app)
    stuffed: list[bool] = []

    class Busy(type(app.hasher)):  # type: ignore[misc]
        def _in_turn(self, work: Callable[[], T]) -> T:
            done = work()  # (the gate reads the count first)
            if not stuffed:
                stuffed.append(True)
                _stuffed(app)
            return done

    app.hasher = Busy(app.hasher.cost)
    assert isinstance(app.log_in_from("203.0.113.9", "main01", PASSWORD), TopPage)
    assert rules(app) == []
    assert isinstance(app.log_in_from("203.0.113.9", "main01", PASSWORD), Throttled)


def test_D_14_failed_logins_the_portal_did_not_count_are_counted_as_such(
    app: BillingStation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limit is judged on the portal's count: where a failed login's count is missing
    (a count that lost every race gives up, and logs it), the audit says how many."""
    onboard(app)
    app.log_in_from("203.0.113.9", "nobody", "wrong")
    verifier = Verifier()
    assert list(verifier.check(replay(app))) == [] and UNCOUNTED_D14 not in verifier.counts
    monkeypatch.setattr(app, "_count_failure", lambda address: None)
    for _ in range(3):
        app.log_in_from("203.0.113.9", "nobody", "wrong")
    verifier = Verifier()
    assert list(verifier.check(replay(app))) == [] and verifier.counts[UNCOUNTED_D14] == 3


def test_D_14_is_judged_across_a_checkpoint(tmp_path: Path, mailbox: MailboxFolder) -> None:
    """verify --checkpoint keeps each address's recent failures in its fold: a password
    checked after the checkpoint is judged with the twenty before it. (On the real clock:
    a checkpoint holds no freezegun datetime.)"""
    app = build(store_settings("sqlite", tmp_path / "store.sqlite3"), mailbox)
    onboard(app)
    _stuffed(app)
    saved = tmp_path / "audit.ckpt"
    assert checkpoint.verify_incrementally(app, saved).violations == []
    app.log_in("main01", PASSWORD, gate=_Unguarded(app, "203.0.113.9"))
    after = checkpoint.verify_incrementally(app, saved)
    assert [v.rule for v in after.violations] == ["D-14"]
    app.close()


def _session_planted(app: BillingStation, token: str, login_id: str = "main01",
                     recorded: bool = True) -> None:
    """A portal session saved on its own (planted, as a portal that skipped the login would);
    ``recorded``: with its 前回ログイン, as sessions are saved since they keep it (else as an
    earlier version saved one, apart from its login)."""
    account = app.account("main01")
    assert account is not None
    session = PortalSession.start(token, account.id, login_id, None, clock.now())
    if not recorded:
        started = session.pending_events[0]
        object.__delattr__(started, "previous_login")
    app.save(session)


def test_D_12_a_portal_session_no_login_began_is_caught(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    onboard(app)
    assert isinstance(app.log_in_from("203.0.113.9", "main01", PASSWORD, Opening()), TopPage)
    assert rules(app) == []  # the portal's: the session in its login's own save
    _session_planted(app, "t" * 43)  # a second session of that login's instant
    violation = the_violation(app, "D-12")
    assert violation.message == ("a portal session began for main01 with no login of it "
                                "completing then")
    assert "PortalSession.Started" in violation.evidence[0]
    digest = token_digest("t" * 43)  # (a session's digest reads as one, not as a secret)
    assert f"token_digest=sha256:{digest[:8]} " in violation.evidence[0]
    assert "previous_login=None" in violation.evidence[0] and digest not in violation.evidence[0]
    assert shown("previous_login", datetime(2026, 4, 6, 5, tzinfo=UTC)) == "2026/04/06 14:00:00 JST"


def test_D_12_a_session_of_another_instant_or_login_ID_than_its_login_is_caught(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    onboard(app)
    app.log_in("main01", PASSWORD)
    start.tick(timedelta(seconds=1))
    _session_planted(app, "t" * 43)  # a second after the login: not saved with it
    assert rules(app) == ["D-12"]
    app.log_in("main01", PASSWORD)
    _session_planted(app, "u" * 43, login_id="sub01")  # the instant, not the login ID
    assert rules(app) == ["D-12", "D-12"]


def test_LG_1_a_login_recorded_on_an_account_with_no_attempt_completing_is_caught(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    """An account's LoggedIn with no login attempt completing beside it, and the portal
    session it let begin (D-12), passed verify: a login with no password checked (the
    auditor's probe). Nor is one login recorded twice on its account."""
    onboard(app)
    first_login(app)
    start.tick(timedelta(minutes=5))
    account = app.get(app.account("main01").id, Account)  # type: ignore[union-attr]
    account.logged_in(uuid4(), clock.now())  # planted: no attempt
    app.save(account, PortalSession.start("t" * 43, account.id, "main01", None, clock.now()))
    found = the_violation(app, "LG-1")
    assert found.message == ("a login of main01 was recorded on its account with no login "
                             "attempt of it completing then (no password checked)")
    assert "Customer.LoggedIn" in found.evidence[0]
    login = next(e for e in replay(app) if isinstance(e, Account.LoggedIn))
    again = app.get(account.id, Account)
    again.logged_in(login.attempt_id, login.timestamp)  # planted: the first login again
    app.save(again)
    assert rules(app) == ["LG-1", "LG-1"]


def test_D_1_a_login_completed_with_no_login_recorded_on_its_account_is_caught(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    """A completed attempt with no LoggedIn beside it passed verify, and left its account's
    logins uncounted: every such login could say it was the first and skip the key (LG-4)."""
    set_notify_key(app, onboard(app))  # 利用する, never logged in
    account = app.account("main01")
    assert account is not None
    for _ in range(2):
        start.tick(timedelta(minutes=5))
        attempt = LoginAttempt.request("main01", account.id, clock.now(), uuid4())
        attempt.accept_password(True, True, clock.now())  # "a first login": no key asked
        attempt.complete(clock.now())  # planted: the account not told
        app.save(attempt)
    found = list(audit.verify(app))
    assert [v.rule for v in found] == ["D-1", "D-1"]
    assert found[0].message == ("a login of main01 completed with no login of it recorded "
                                "on its account then (its logins miscounted, and with them "
                                "which is its first)")
    assert "LoginAttempt.LoginCompleted" in found[0].evidence[-1]


def test_a_login_half_recorded_is_found_by_a_checkpointed_verify_as_by_a_whole_one(
    tmp_path: Path, mailbox: MailboxFolder
) -> None:
    """A store that ends with a login's account half alone: the checkpointed verify says so
    at the store's end; the store grown, the half is found waiting too long (a login since
    is over a minute younger), once, as a whole verify finds it. (On the real clock.)"""
    app = build(store_settings("sqlite", tmp_path / "store.sqlite3"), mailbox)
    onboard(app)
    account = app.get(app.account("main01").id, Account)  # type: ignore[union-attr]
    account.logged_in(uuid4(), clock.now() - timedelta(minutes=5))  # planted: no attempt
    app.save(account)
    saved = tmp_path / "audit.ckpt"
    assert [v.rule for v in checkpoint.verify_incrementally(app, saved).violations] == ["LG-1"]
    first_login(app)
    for _ in range(2):  # (the second: nothing new)
        after = checkpoint.verify_incrementally(app, saved)
        assert after.violations == list(audit.verify(app))
        assert [v.rule for v in after.violations] == ["LG-1"]
    app.close()


def test_LG_1_two_logins_recorded_alike_on_an_account_are_no_pair(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    """Two LoggedIn of one made-up attempt at one instant paired with each other, and the
    session planted with them passed (the auditor's probe): a login pairs only with its
    attempt's completion."""
    onboard(app)
    first_login(app)
    start.tick(timedelta(minutes=5))
    account = app.get(app.account("main01").id, Account)  # type: ignore[union-attr]
    forged = uuid4()
    for _ in range(2):
        account.logged_in(forged, clock.now())  # planted: no attempt, twice
    app.save(account, PortalSession.start("t" * 43, account.id, "main01", None, clock.now()))
    assert rules(app) == ["LG-1", "LG-1"]


def test_LG_1_a_login_attempt_names_its_login_IDs_own_account(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    """An attempt for sub01 naming main01's account, naming an account never registered,
    or naming a second account registered as main01 (its SubIDAdded beside it), completed
    with its account's login beside it and passed (the auditor's probes): its keys and
    logins were counted on another account (D-10 dodged, a first login forged)."""
    main = onboard(app)
    add_sub_id(app, main, "sub01")
    first_login(app)
    account = app.account("main01")
    assert account is not None
    customer = app.get(account.id, Customer)
    twin = SubID.register(customer, id=uuid4(), login_id="main01", information={},
                          password_digest=Hasher(4).digest("Temp-pass1"))  # planted
    customer.add_sub_id(twin, by="main01")
    app.save(customer, twin)
    for login_id, account_id in (("sub01", account.id), ("intruder", uuid4()),
                                 ("main01", twin.id)):
        start.tick(timedelta(minutes=5))
        attempt = LoginAttempt.request(login_id, account_id, clock.now(), uuid4())
        attempt.accept_password(False, False, clock.now())  # planted
        if login_id == "intruder":
            app.save(attempt)
        else:
            complete_planted(app, attempt, clock.now())
    found = list(audit.verify(app))
    assert [v.message for v in found] == [
        "a login attempt for sub01 names the account of main01",
        f"a login attempt for intruder names an account not registered before it "
        f"({found[1].evidence[0].split('account_id=')[1]})",
        f"a login attempt for main01 names a second account registered as main01 ({twin.id})"]
    assert [v.rule for v in found] == ["LG-1", "LG-1", "LG-1"]


def test_SB_2_a_sub_ID_is_registered_only_as_its_customers_main_ID_adds_it(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    """SubID.RegisteredBy was never checked (the auditor's probe): a sub ID registered with
    no SubIDAdded on its customer, or one naming a sub ID as its customer (whose changes of
    it then passed as the main ID's), passed verify."""
    main = onboard(app)
    add_sub_id(app, main, "sub01")
    assert rules(app) == []  # the services': both halves, one save
    customer = app.get(main.customer_id, Customer)
    sub01 = app.get(customer.sub_ids["sub01"], SubID)
    digest = Hasher(4).digest("Temp-pass1")
    alone = SubID.register(customer, id=uuid4(), login_id="sub02", password_digest=digest,
                           information={"email": EMAIL})  # planted: never added
    app.save(alone)
    found = list(audit.verify(app))
    assert [v.message for v in found] == [
        "sub ID sub02 was registered as main01's with no main ID adding it to its "
        "permission settings"]
    owned = SubID.register(sub01, id=uuid4(), login_id="sub03",  # type: ignore[arg-type]
                           password_digest=digest, information={"email": EMAIL})  # planted:
    #   a sub ID registered as a sub ID's
    customer.add_sub_id(owned, by="main01")  # (added by the main ID, registered as sub01's)
    app.save(customer, owned)
    owned.change_information({"email": "x@example.net"}, by="sub01")
    app.save(owned)
    assert [v.rule for v in audit.verify(app)] == ["SB-2", "SB-2", "SB-2", "SB-2"]


def test_D_12_sessions_an_earlier_version_saved_apart_and_cut_stores_are_not_judged(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    """Sessions that do not record their 前回ログイン were saved by versions that saved
    them apart from their login: counted, not judged. A store cut short before an account's
    registration still has its logins: its sessions are judged on them (no D-12), the
    logins themselves found to name an account not registered before them (LG-1)."""
    onboard(app)
    app.log_in("main01", PASSWORD)
    start.tick(timedelta(seconds=1))
    _session_planted(app, "t" * 43, recorded=False)
    assert isinstance(app.log_in_from("203.0.113.9", "main01", PASSWORD, Opening()), TopPage)
    verifier = Verifier()
    assert list(verifier.check(replay(app))) == []
    assert verifier.counts[UNJUDGED_D12] == 1
    cut = [e for e in replay(app) if not isinstance(e, Customer.Onboarded)]
    assert [v.rule for v in Verifier().check(cut)] == ["LG-1", "LG-1"]


def test_LG_3_a_key_mailed_to_another_address_than_the_registered_one_is_caught(
    keyed: BillingStation,
) -> None:
    _key_planted(keyed, "someone@example.net")
    found = list(audit.verify(keyed))
    assert [v.rule for v in found] == ["LG-3"]
    assert found[0].message == ("a key for main01 was mailed to someone@example.net, not to "
                                f"its registered address {EMAIL}")
    # the attempt's events first (the auditor's page files a finding under its first
    # evidence's time), then the event that set the address the key should have gone to
    assert "LoginRequested" in found[0].evidence[0] and "KeyIssued" in found[0].evidence[-2]
    assert "Customer.Onboarded" in found[0].evidence[-1]
    assert f"email={EMAIL}" in found[0].evidence[-1]


def test_LG_3_keys_follow_a_changed_address_and_a_sub_IDs_own(
    app: BillingStation, mailbox: MailboxFolder, start: FrozenDateTimeFactory
) -> None:
    """A main ID's keys go to its contact email as お客様情報変更 last set it (a change of
    other fields keeps it), a sub ID's to its own 登録先メールアドレス as 副ID 情報変更 last
    set it; a key to the address before the change is caught."""
    main = keyed_main(app)
    moved = "keiri@example.co.jp"
    form = {"email": moved, "email_confirmation": moved}
    app.submit_customer_information(main, app.confirm_customer_information(main, form))
    phone = {"phone": "0311112222"}  # another change: the address stays
    app.submit_customer_information(main, app.confirm_customer_information(main, phone))
    start.tick(timedelta(minutes=1))
    assert isinstance(log_in_with_key(app, mailbox, "main01", PASSWORD, moved), TopPage)
    add_sub_id(app, main, "sub01", notify_key="利用する")
    first_login(app, "sub01", SUB_PASSWORD)
    sub_moved = {"email": "sato@example.co.jp"}
    app.submit_sub_id_change(main, app.confirm_sub_id_change(main, "sub01", sub_moved))
    sub_login = log_in_with_key(app, mailbox, "sub01", SUB_PASSWORD, "sato@example.co.jp")
    assert isinstance(sub_login, TopPage)
    assert rules(app) == []
    _key_planted(app, EMAIL)  # the address before the change
    violation = the_violation(app, "LG-3")
    assert "InformationChanged" in violation.evidence[-1] and moved in violation.evidence[-1]


def test_LG_3_a_key_for_a_login_ID_with_no_account_is_caught(app: BillingStation) -> None:
    """Planted: a key issued for a login ID no account has (the services answer such a
    login as a wrong password, D-9, and mail nothing)."""
    onboard(app)
    now = app.account("main01").modified_on  # type: ignore[union-attr]
    attempt = LoginAttempt.request("ghost01", None, now, uuid4())
    attempt.accept_password(True, False, now)
    attempt.issue_key(Hasher(4).digest("000000000000"), "someone@example.net", LoginPolicy(), now)
    app.save(attempt)
    violation = the_violation(app, "LG-3")
    assert violation.message == ("a key was mailed to someone@example.net for ghost01, a login "
                                "ID with no account")


def test_an_accounts_events_without_its_registration_are_judged_not_a_crash(
    app: BillingStation,
) -> None:
    """A store cut short at its start: a setting, a change and a login of an account whose
    registration is not in it are folded as nothing, and the changes are still judged (no
    main ID can be shown to have made them: SB-2), and so is the login (its attempt names
    an account the store never registered: LG-1)."""
    main = onboard(app)
    set_notify_key(app, main)
    moved = {"email": "keiri@example.co.jp", "email_confirmation": "keiri@example.co.jp"}
    app.submit_customer_information(main, app.confirm_customer_information(main, moved))
    assert isinstance(app.log_in("main01", PASSWORD), TopPage)  # a first login: no key
    events = [e for e in replay(app) if not isinstance(e, Account.Registered)]
    verifier = Verifier()
    found = list(verifier.check(events))
    assert [v.rule for v in found] == ["SB-2", "SB-2", "LG-1"]
    assert found[-1].message.startswith("a login attempt for main01 names an account not "
                                        "registered before it")
    assert verifier.accounts.accounts == {}


def test_LG_3_is_judged_across_a_checkpoint(tmp_path: Path, mailbox: MailboxFolder) -> None:
    """The registered address is in the checkpoint's fold: a key stored after it, mailed
    elsewhere, is caught."""
    app = build(store_settings("sqlite", tmp_path / "store.sqlite3"), mailbox)
    keyed_main(app)
    saved = tmp_path / "audit.ckpt"
    assert checkpoint.verify_incrementally(app, saved).violations == []
    _key_planted(app, "someone@example.net")
    after = checkpoint.verify_incrementally(app, saved)
    assert [v.rule for v in after.violations] == ["LG-3"] and after.read == 3
    app.close()


def test_D_7_an_auditor_sees_a_changed_password_only_as_its_short_tag(
        app: BillingStation) -> None:
    """Evidence, timeline and the findings page print a password's digest only as its short
    tag, also among a change's fields (お客様情報変更's download-file password)."""
    main = onboard(app)
    app.submit_customer_information(main, app.confirm_customer_information(
        main, {"download_file_password": "Secret123"}))
    *_, changed = (e for e in replay(app) if isinstance(e, Account.InformationChanged))
    digest = changed.changes["download_file_password"]
    assert Hasher.is_digest(digest)
    shown = line(changed)
    assert digest not in shown and "Secret123" not in shown
    assert f"'download_file_password': '{Hasher.short(digest)}'" in shown


def test_CI_1_and_SB_2_changes_not_made_by_the_main_ID_are_caught(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    main = onboard(app)
    add_sub_id(app, main, "sub01")
    set_notify_key(app, main)  # made by main01: lawful
    customer = app.get(main.customer_id, Customer)
    sub = app.get(customer.sub_ids["sub01"], SubID)
    customer.change_information({"phone": "0399999999"}, by="sub01")  # planted
    sub.change_information({"notify_key": "利用する"}, by="sub01")  # planted: its own setting
    customer.register_organization("大阪支店", by="sub01")  # planted
    app.save(customer, sub)
    found = list(audit.verify(app))
    assert [v.rule for v in found] == ["CI-1", "SB-2", "SB-2"]
    assert "by sub01, not by the main ID main01" in found[0].message
    assert "InformationChanged" in found[0].evidence[0]


def test_a_late_key_entry_is_judged_after_its_attempt_left_memory(
    keyed: BillingStation, mailbox: MailboxFolder, start: FrozenDateTimeFactory
) -> None:
    """verify forgets attempts once their key's time is up; a key entered later is still
    caught, by the bounded table of recently closed attempts."""
    attempt = pending(keyed)
    start.tick(timedelta(hours=2))
    pending(keyed)  # moves the replay's clock past the first key's validity, supersedes it
    attempt = keyed.repository.get(attempt.id)
    attempt.trigger_event(LoginAttempt.KeyVerified, timestamp=attempt.modified_on)
    keyed.save(attempt)
    assert rules(keyed) == ["LG-5", "D-2"]


def test_an_attempt_open_at_the_stores_end_is_pending_while_its_key_is_valid_then_abandoned(
    keyed: BillingStation, mailbox: MailboxFolder, start: FrozenDateTimeFactory
) -> None:
    """An attempt seconds old, its key still valid, was counted "abandoned" (途中でやめた):
    nothing said it was over. Once its key expired unentered, it is."""
    pending(keyed)
    start.tick(timedelta(minutes=9, seconds=59))
    keyed.log_in("nobody1", "wrong-password")  # (the store's end moves: its last event)
    assert [r.outcome for r in audit.history(replay(keyed))][-2:] == ["pending",
                                                                      "password_rejected"]
    start.tick(timedelta(seconds=1))  # D-5: at 10:00 the key has expired
    keyed.log_in("nobody2", "wrong-password")
    assert [r.outcome for r in audit.history(replay(keyed))][-3:] == [
        "abandoned", "password_rejected", "password_rejected"]


def test_verify_keeps_only_the_attempts_still_open(
    keyed: BillingStation, mailbox: MailboxFolder, start: FrozenDateTimeFactory
) -> None:
    verifier = Verifier()
    for _ in range(30):
        log_in_with_key(keyed, mailbox, "main01", PASSWORD, EMAIL, start, timedelta(minutes=1))
        start.tick(timedelta(minutes=20))
    pending(keyed)
    events = replay(keyed)
    assert list(verifier.check(events)) == []
    assert verifier.counts["completed"] == 31 and verifier.counts["pending"] == 1  # key valid
    assert len(verifier.attempts.open) == 0  # all ended at the end of the store
    books = AttemptBook()
    for event in replay(keyed):
        if isinstance(event, LoginAttempt.Event):
            books.fold(event, verifier.accounts)
            list(books.pop_over())
            assert len(books.open) <= 2  # the one in progress and at most one before it


def test_verify_keeps_only_the_failed_logins_of_d_14s_window(
    app: BillingStation, start: FrozenDateTimeFactory
) -> None:
    """Failures are kept as the address keeps them, two windows (a check is stored after
    its digest, so failures stored later than it read may come first), then forgotten, and
    an address gone quiet for twice the longest window a policy may have with them: memory
    stays flat as stuffers come and go, or one stays on."""
    assert timedelta(minutes=120) == QUIET_FORGOTTEN
    verifier = Verifier()
    for n in range(40):  # a new address every 4 minutes, 3 failures each, and one that
        for _ in range(3):  # fails every 4 minutes throughout (it has been away before)
            app.log_in_from(f"198.51.100.{n}", "nobody", "wrong")
        if n < 3 or n > 10:
            app.log_in_from("192.0.2.1", "nobody", "wrong")
        start.tick(timedelta(minutes=4))
    assert list(verifier.check(replay(app))) == []
    stayed = verifier.clients.failures.pop(client_address_id("192.0.2.1"))
    assert len(stayed) == 5  # (156 minutes in: its failures since minute 136)
    assert len(verifier.clients.failures) == 30  # the other addresses since minute 36
    assert all(len(times) == 3 for times in verifier.clients.failures.values())


