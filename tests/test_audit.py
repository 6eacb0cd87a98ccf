"""Audit: timeline and verify on real stores, with violations planted by writing events
directly (bypassing the services), each of which verify must catch."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from freezegun.api import FrozenDateTimeFactory

from application import audit
from application.billing_station import BillingStation
from application.cli import main
from application.mail import MailboxFolder, key_in
from application.screens import KeyEntry
from domain.login_attempt import LoginAttempt
from tests.conftest import FAST_HASHER
from tests.story import PASSWORD, first_login, latest_key, onboard, set_notify_key

EMAIL = "yamada@example.co.jp"


def pending(app: BillingStation) -> LoginAttempt:
    entry = app.log_in("main01", PASSWORD)
    assert isinstance(entry, KeyEntry)
    attempt = app.repository.get(entry.attempt_id)
    assert isinstance(attempt, LoginAttempt)
    return attempt


def rules(app: BillingStation) -> list[str]:
    return [v.rule for v in audit.verify(app)]


def test_a_store_made_by_the_services_verifies_clean(
    keyed: BillingStation, mailbox: MailboxFolder, start: FrozenDateTimeFactory
) -> None:
    entry = pending(keyed)
    keyed.enter_key(entry.id, "000000000000")
    keyed.enter_key(entry.id, latest_key(mailbox, EMAIL))
    pending(keyed)
    start.tick(timedelta(minutes=11))
    assert rules(keyed) == []


def test_LG_4_a_login_completed_without_the_required_key_is_caught(
    keyed: BillingStation, start: FrozenDateTimeFactory
) -> None:
    attempt = pending(keyed)
    attempt.complete(attempt.modified_on)  # planted: no KeyVerified
    keyed.save(attempt)
    assert rules(keyed) == ["LG-4"]


def test_LG_5_a_key_accepted_after_10_minutes_is_caught(keyed: BillingStation) -> None:
    attempt = pending(keyed)
    late = attempt.modified_on + timedelta(minutes=10)
    attempt.trigger_event(LoginAttempt.KeyVerified, timestamp=late)
    attempt.complete(late)
    keyed.save(attempt)
    assert rules(keyed) == ["LG-5"]


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
        attempt.complete(now)
        keyed.save(attempt)
    assert rules(keyed) == ["D-2", "D-4"]


def test_D_3_a_key_used_twice_is_caught(keyed: BillingStation, mailbox: MailboxFolder) -> None:
    attempt = pending(keyed)
    keyed.enter_key(attempt.id, latest_key(mailbox, EMAIL))
    attempt = keyed.repository.get(attempt.id)
    attempt.trigger_event(LoginAttempt.KeyVerified, timestamp=attempt.modified_on)
    keyed.save(attempt)
    assert rules(keyed) == ["D-3"]


def test_cli_timeline_and_verify_on_the_demo_store(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["demo", "--out", str(tmp_path)],
                         env={"BS_HASH_COST": "8"}).exit_code == 0
    env = {"BS_SQLITE_PATH": str(tmp_path / "billing-station.sqlite3")}
    shown = runner.invoke(main, ["timeline", "demo01"], env=env)
    assert shown.exit_code == 0
    lines = shown.output.splitlines()
    assert "Customer.Onboarded" in lines[0] and lines[0].startswith("2015/01/16 09:58")
    assert sum("LoginAttempt.KeyIssued" in line for line in lines) == 3
    assert "LoginAttempt.KeyExpired" in shown.output
    keys = [key_in(m) for m in MailboxFolder(tmp_path / "mailbox").messages()]
    assert len(keys) == 3 and not any(k in shown.output for k in keys)  # digests only
    verified = runner.invoke(main, ["verify"], env=env)
    assert verified.exit_code == 0 and "verified: no violations" in verified.output


def test_cli_verify_prints_the_violation_with_its_events_and_exits_1(
    tmp_path: Path, mailbox: MailboxFolder, start: FrozenDateTimeFactory
) -> None:
    path = tmp_path / "planted.sqlite3"
    app = BillingStation({"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                          "SQLITE_DBNAME": str(path)}, mailer=mailbox, hasher=FAST_HASHER)
    set_notify_key(app, onboard(app))
    first_login(app)
    attempt = pending(app)
    attempt.complete(attempt.modified_on)  # planted: completed without the key
    app.save(attempt)
    app.close()
    result = CliRunner().invoke(main, ["verify"], env={"BS_SQLITE_PATH": str(path)})
    assert result.exit_code == 1
    assert "VIOLATION LG-4" in result.output and "1 violation(s) found" in result.output
    assert "LoginAttempt.KeyIssued" in result.output  # the evidence: the attempt's events
