"""Logging in with the notify key (LG-1..LG-8) and the decisions D-1..D-11."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from freezegun.api import FrozenDateTimeFactory

from application import audit, japan_time, screens
from application.adapters.mailbox import MailboxFolder
from application.billing_station import BillingStation
from application.bootstrap import store_settings
from application.login import LOGIN_RACES
from application.messages import SENDER, key_in
from application.outcomes import Contact, ContactRoute, ErrorPage, KeyEntry, Refusal, Throttled, TopPage
from application.screens import KEY_PROMPT
from domain import clock
from domain.accounts import Account
from domain.crypto import Hasher
from domain.login_attempt import KEY_AWAITED, LoginAttempt, Status
from domain.policy import LoginPolicy
from tests.conftest import build
from tests.story import (
    EMAIL,
    PASSWORD,
    SUB_PASSWORD,
    add_sub_id,
    first_login,
    latest_key,
    log_in_with_key,
    losing_every_race,
    onboard,
    set_notify_key,
)

Clock = FrozenDateTimeFactory


def key_entry(app: BillingStation) -> KeyEntry:
    entry = app.log_in("main01", PASSWORD)
    assert isinstance(entry, KeyEntry), entry
    return entry


def test_LG_1_login_id_and_password(app: BillingStation) -> None:
    onboard(app)
    assert isinstance(app.log_in("main01", PASSWORD), TopPage)
    assert app.log_in("main01", "wrong-password") == ErrorPage(Refusal.LOGIN_FAILED)


def test_LG_2_notify_key_off_password_alone_completes(app: BillingStation,
                                                      mailbox: MailboxFolder) -> None:
    onboard(app)
    for _ in range(3):
        assert isinstance(app.log_in("main01", PASSWORD), TopPage)
    assert mailbox.messages() == []


def test_LG_3_a_12_digit_key_is_mailed_and_completes_the_login(
    keyed: BillingStation, mailbox: MailboxFolder
) -> None:
    entry = key_entry(keyed)
    assert screens.message(entry) == KEY_PROMPT
    mail = mailbox.messages(EMAIL)[-1]
    assert SENDER in mail["From"] and mail["To"] == EMAIL
    key = key_in(mail)
    assert len(key) == 12 and key.isdigit()
    assert "有効期限: 2015/01/16 10:08:00 (日本時間)" in mail.get_content()
    assert isinstance(keyed.enter_key(entry.attempt_id, key), TopPage)
    *_, verified, completed = keyed.events.get(entry.attempt_id)  # what an audit reads
    assert isinstance(verified, LoginAttempt.KeyVerified)
    assert isinstance(completed, LoginAttempt.LoginCompleted) and completed.with_key


@pytest.mark.parametrize("typed", [
    lambda key: key.translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # IME on
    lambda key: f"  {key[:4]} {key[4:8]}\u3000{key[8:]} ",  # copied in groups, spaces around
    lambda key: f"{key[:4]}-{key[4:8]}\uff0d{key[8:]}",  # in groups of four, hyphens between
])
def test_LG_3_the_key_typed_in_full_width_digits_or_in_groups_is_the_key(
    keyed: BillingStation, mailbox: MailboxFolder, typed: Any
) -> None:
    entry = key_entry(keyed)
    assert isinstance(keyed.enter_key(entry.attempt_id, typed(latest_key(mailbox, EMAIL))),
                      TopPage)


def test_LG_1_a_login_id_typed_in_full_width_is_the_login_id_a_password_is_as_typed(
        app: BillingStation) -> None:
    onboard(app)
    assert isinstance(app.log_in(" ｍａｉｎ０１ ", PASSWORD), TopPage)
    assert isinstance(app.log_in("main0¹", PASSWORD), TopPage)  # NFKC, as README says
    full_width = PASSWORD.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    assert app.log_in("main01", full_width) == ErrorPage(Refusal.LOGIN_FAILED)


def test_LG_3_and_D_5_the_key_mail_reads_as_a_japanese_service_sends_it(
    keyed: BillingStation, mailbox: MailboxFolder
) -> None:
    key_entry(keyed)
    mail = mailbox.messages(EMAIL)[-1]
    body = mail.get_content()
    # D-5: at 10:08 the key has expired, so 10:08 is when it stops, not the last minute.
    assert "有効期限: 2015/01/16 10:08:00 (日本時間)\nこの時刻に失効します。それより前に入力してください" \
        in body
    assert "まで" not in body.split("有効期限")[1].splitlines()[0]
    assert mail["Date"] == "Fri, 16 Jan 2015 09:58:00 +0900"
    assert mail["Message-ID"].endswith("@billingstation.ntt.com>")
    assert "このメールは送信専用です" in body and "オペレータ担当" in body
    assert "ログイン画面: http://127.0.0.1:8000/" in body


def test_LG_4_and_D_1_no_key_at_the_first_login_even_when_on(
    app: BillingStation, mailbox: MailboxFolder
) -> None:
    main = onboard(app)
    set_notify_key(app, main)
    assert isinstance(app.log_in("main01", "wrong-password"), ErrorPage)  # not a login (D-1)
    assert isinstance(app.log_in("main01", PASSWORD), TopPage)  # first successful: no key
    assert isinstance(app.log_in("main01", PASSWORD), KeyEntry)  # from the second on
    assert len(mailbox.messages(EMAIL)) == 1


@pytest.mark.parametrize(("after", "ok"), [(timedelta(minutes=9, seconds=59), True),
                                           (timedelta(minutes=10), False)])
def test_LG_5_and_D_5_valid_for_10_minutes_expired_at_10_00(
    keyed: BillingStation, mailbox: MailboxFolder, start: Clock, after: timedelta, ok: bool
) -> None:
    screen = log_in_with_key(keyed, mailbox, "main01", PASSWORD, EMAIL, start, after)
    assert isinstance(screen, TopPage) if ok else screen == ErrorPage(Refusal.KEY_EXPIRED)


@pytest.mark.parametrize(("late", "recorded"), [(KEY_AWAITED - timedelta(seconds=1), True),
                                               (KEY_AWAITED, False)])
def test_D_5_an_entry_an_hour_after_expiry_is_told_so_and_records_nothing(
    keyed: BillingStation, mailbox: MailboxFolder, start: Clock, late: timedelta,
    recorded: bool
) -> None:
    """Within the hour after expiry the late entry is recorded (KeyExpired); after it the
    attempt is long over: the same screen, and nothing stored, so an audit knows when an
    attempt whose key was never entered is settled."""
    entry = key_entry(keyed)
    start.tick(timedelta(minutes=10) + late)
    before = keyed.get(entry.attempt_id, LoginAttempt).version
    shown = keyed.enter_key(entry.attempt_id, latest_key(mailbox, EMAIL))
    assert shown == ErrorPage(Refusal.KEY_EXPIRED)
    attempt = keyed.get(entry.attempt_id, LoginAttempt)
    assert attempt.version == before + recorded
    assert (attempt.status is Status.EXPIRED) is recorded


@pytest.mark.parametrize(("validity", "must"), [
    (timedelta(seconds=7.5), "whole seconds"), (timedelta(0), "positive"),
    (timedelta(seconds=-5), r"positive \(not -5 seconds\)")])
def test_LG_5_a_validity_is_whole_seconds_as_its_key_is_held_to(validity: timedelta,
                                                                 must: str) -> None:
    """KeyIssued records the validity in whole seconds: a policy of 7.5 s would run keys
    of 7 s while a report of it said 7.5."""
    with pytest.raises(ValueError, match=f"a key's validity must be {must}"):
        LoginPolicy(validity=validity)


def test_LG_6_relogin_after_expiry_mails_a_new_key_old_one_refused(
    keyed: BillingStation, mailbox: MailboxFolder, start: Clock
) -> None:
    old = key_entry(keyed)
    old_key = latest_key(mailbox, EMAIL)
    start.tick(timedelta(minutes=11))
    assert keyed.enter_key(old.attempt_id, old_key) == ErrorPage(Refusal.KEY_EXPIRED)
    new = key_entry(keyed)
    new_key = latest_key(mailbox, EMAIL)
    assert new_key != old_key and len(mailbox.messages(EMAIL)) == 2
    assert keyed.enter_key(old.attempt_id, old_key) == ErrorPage(Refusal.KEY_UNUSABLE)
    assert isinstance(keyed.enter_key(new.attempt_id, new_key), TopPage)


def test_LG_7_top_page_header_shows_previous_login_in_jst(
    app: BillingStation, start: Clock
) -> None:
    onboard(app)
    top = app.log_in("main01", PASSWORD)
    assert isinstance(top, TopPage)
    assert screens.header(top) == "デモ用ユーザ01様 (BSお客様番号: BS5928544) 前回ログイン: なし"
    start.tick(timedelta(days=1, minutes=3))
    top = app.log_in("main01", PASSWORD)
    assert isinstance(top, TopPage)
    assert screens.header(top) == (
        "デモ用ユーザ01様 (BSお客様番号: BS5928544) 前回ログイン: 2015/01/16 09:58")
    assert app.top_page(top.session) == top


def test_D_2_a_newer_key_supersedes_the_earlier_one(
    keyed: BillingStation, mailbox: MailboxFolder
) -> None:
    first = key_entry(keyed)
    first_key = latest_key(mailbox, EMAIL)
    second = key_entry(keyed)
    assert keyed.enter_key(first.attempt_id, first_key) == ErrorPage(Refusal.KEY_UNUSABLE)
    assert isinstance(keyed.enter_key(second.attempt_id, latest_key(mailbox, EMAIL)), TopPage)
    events = [type(e).__name__ for e in keyed.events.get(first.attempt_id)]
    assert "KeySuperseded" in events and events[-1] == "KeyRefused"


def test_D_2_D_4_an_earlier_mails_key_on_the_newest_keys_screen_is_not_counted_once(
    keyed: BillingStation, mailbox: MailboxFolder
) -> None:
    """A person who logged in again (the first mail was late) and then typed the first
    mail's key: told to use the newest mail's key, and that entry not counted towards D-4's
    lock (it said 「通知キーが正しくありません」 and counted one). It is recorded on the
    attempt it was typed on, naming the attempt whose key it was; typed again, it counts."""
    first = key_entry(keyed)
    first_key = latest_key(mailbox, EMAIL)
    key_entry(keyed)  # superseded by this one
    third = key_entry(keyed)
    key = latest_key(mailbox, EMAIL)
    first_events = list(keyed.events.get(first.attempt_id))
    assert keyed.enter_key(third.attempt_id, first_key) == KeyEntry(
        third.attempt_id, Refusal.KEY_SUPERSEDED)
    assert screens.message(KeyEntry(third.attempt_id, Refusal.KEY_SUPERSEDED)) == (
        f"{screens.KEY_SUPERSEDED}\n{KEY_PROMPT}")
    entered = list(keyed.events.get(third.attempt_id))[-1]
    assert isinstance(entered, LoginAttempt.EarlierKeyEntered)
    assert entered.attempt_id == first.attempt_id
    assert list(keyed.events.get(first.attempt_id)) == first_events  # nothing there
    wrong = f"{(int(key) + 1) % 10**12:012d}"
    for left in (4, 3, 2, 1):  # D-4's five entries are all still there
        assert keyed.enter_key(third.attempt_id, wrong) == KeyEntry(
            third.attempt_id, Refusal.KEY_WRONG, left)
    assert isinstance(keyed.enter_key(third.attempt_id, key), TopPage)


@pytest.mark.parametrize("over", ["expired", "locked"])
def test_D_2_D_4_an_earlier_mails_key_whose_login_was_over_is_not_counted_either(
    keyed: BillingStation, mailbox: MailboxFolder, start: Clock, over: str
) -> None:
    """The manual's way after an expired key (LG-5, LG-6): its 「OK」, the error, a new
    login; then the first mail's key typed on the new screen counted as a guess, where the
    same key not typed before the new login was told apart (the first attempt was then
    superseded, not expired). Likewise after a lock."""
    first = key_entry(keyed)
    first_key = latest_key(mailbox, EMAIL)
    if over == "expired":
        start.tick(timedelta(minutes=11))
        assert keyed.enter_key(first.attempt_id, first_key) == ErrorPage(Refusal.KEY_EXPIRED)
    else:
        wrong = f"{(int(first_key) + 1) % 10**12:012d}"
        answers = [keyed.enter_key(first.attempt_id, wrong) for _ in range(5)]
        assert answers[-1] == ErrorPage(Refusal.LOGIN_FAILED)  # D-4's lock, read as D-9's
    second = key_entry(keyed)
    assert keyed.enter_key(second.attempt_id, first_key) == KeyEntry(
        second.attempt_id, Refusal.KEY_SUPERSEDED)
    entered = list(keyed.events.get(second.attempt_id))[-1]
    assert isinstance(entered, LoginAttempt.EarlierKeyEntered)
    assert entered.attempt_id == first.attempt_id


def test_D_3_D_4_a_used_key_typed_on_a_later_login_counts_as_a_wrong_entry(
    keyed: BillingStation, mailbox: MailboxFolder
) -> None:
    """A key that logged in is spent (D-3): not looked for among the earlier mails (a
    digest more per earlier login at each wrong entry), a wrong key like any other."""
    first = key_entry(keyed)
    used = latest_key(mailbox, EMAIL)
    assert isinstance(keyed.enter_key(first.attempt_id, used), TopPage)
    second = key_entry(keyed)
    assert keyed.enter_key(second.attempt_id, used) == KeyEntry(
        second.attempt_id, Refusal.KEY_WRONG, 4)


def test_D_4_an_earlier_mails_key_typed_again_counts_as_a_wrong_entry(
    keyed: BillingStation, mailbox: MailboxFolder
) -> None:
    """Not counted once, not for ever: each entry costs a digest per earlier mail."""
    key_entry(keyed)
    first_key = latest_key(mailbox, EMAIL)
    second = key_entry(keyed)
    outcomes = [keyed.enter_key(second.attempt_id, first_key) for _ in range(6)]
    assert outcomes[0] == KeyEntry(second.attempt_id, Refusal.KEY_SUPERSEDED)
    assert outcomes[1:5] == [KeyEntry(second.attempt_id, Refusal.KEY_WRONG, left)
                             for left in (4, 3, 2, 1)]
    assert outcomes[5] == ErrorPage(Refusal.LOGIN_FAILED)  # locked (D-4), read as D-9


def test_D_3_a_key_completes_one_login_only(keyed: BillingStation, mailbox: MailboxFolder) -> None:
    entry = key_entry(keyed)
    key = latest_key(mailbox, EMAIL)
    assert isinstance(keyed.enter_key(entry.attempt_id, key), TopPage)
    assert keyed.enter_key(entry.attempt_id, key) == ErrorPage(Refusal.KEY_UNUSABLE)
    refused = keyed.get(entry.attempt_id, LoginAttempt).version  # (its KeyRefused recorded)
    for _ in range(3):  # the form replayed: told alike, and nothing more recorded (each
        assert keyed.enter_key(entry.attempt_id, key) == ErrorPage(Refusal.KEY_UNUSABLE)
    assert keyed.get(entry.attempt_id, LoginAttempt).version == refused  # grew the store)


def test_D_4_wrong_keys_retry_until_five_lock_the_attempt(
    keyed: BillingStation, mailbox: MailboxFolder
) -> None:
    entry = key_entry(keyed)
    key = latest_key(mailbox, EMAIL)
    wrong = f"{(int(key) + 1) % 10**12:012d}"
    for left in (4, 3, 2, 1):  # each says how many more the attempt takes
        shown = keyed.enter_key(entry.attempt_id, wrong)
        assert shown == KeyEntry(entry.attempt_id, Refusal.KEY_WRONG, left)
        assert screens.message(shown) == (f"通知キーが正しくありません。あと{left}回誤ると"
                                          f"このログインは無効になります。\n{KEY_PROMPT}")
    assert keyed.enter_key(entry.attempt_id, wrong) == ErrorPage(Refusal.LOGIN_FAILED)
    assert keyed.enter_key(entry.attempt_id, key) == ErrorPage(Refusal.KEY_UNUSABLE)  # locked
    assert isinstance(log_in_with_key(keyed, mailbox, "main01", PASSWORD, EMAIL), TopPage)


@pytest.mark.parametrize("typed", ["", "12345", "abcdefghijkl", "1234567890123", "１２３４５"],
                         ids=["empty", "short", "letters", "13 digits", "full-width short"])
def test_D_6_what_cannot_be_a_key_is_asked_again_and_not_counted_towards_D_4(
    keyed: BillingStation, mailbox: MailboxFolder, typed: str
) -> None:
    """A slip in the number of digits is no guess: five of them lock nothing, and nothing
    is recorded (an auditor sees the attempt's wrong keys only)."""
    entry = key_entry(keyed)
    key = latest_key(mailbox, EMAIL)
    version = keyed.get(entry.attempt_id, LoginAttempt).version
    for _ in range(6):
        assert keyed.enter_key(entry.attempt_id, typed) == KeyEntry(entry.attempt_id,
                                                                    Refusal.NOT_A_KEY)
    assert keyed.get(entry.attempt_id, LoginAttempt).version == version
    assert screens.REFUSALS[Refusal.NOT_A_KEY] == "通知キーは12桁の数字で入力してください。"
    wrong = f"{(int(key) + 1) % 10**12:012d}"
    for left in (4, 3, 2, 1):  # D-4's five are still all there
        assert keyed.enter_key(entry.attempt_id, wrong) == KeyEntry(entry.attempt_id,
                                                                    Refusal.KEY_WRONG, left)
    assert isinstance(keyed.enter_key(entry.attempt_id, key), TopPage)


def test_D_6_keys_are_12_random_digits_leading_zeros_allowed() -> None:
    policy = LoginPolicy()
    keys = [policy.new_key(secrets) for _ in range(2000)]
    assert all(len(k) == 12 and k.isdigit() for k in keys)
    assert len(set(keys)) == len(keys)
    first_digits = {k[0] for k in keys}
    assert "0" in first_digits and len(first_digits) == 10


def test_D_7_keys_and_passwords_are_stored_as_digests(
    keyed: BillingStation, mailbox: MailboxFolder
) -> None:
    entry = key_entry(keyed)
    key = latest_key(mailbox, EMAIL)
    stored = keyed.recorder.select_notifications(start=None, limit=10**6)
    blob = b"".join(n.state for n in stored)
    assert key.encode() not in blob and PASSWORD.encode() not in blob
    attempt = keyed.get(entry.attempt_id, LoginAttempt)
    assert isinstance(attempt, LoginAttempt) and attempt.key_digest
    assert keyed.hasher.matches(key, attempt.key_digest)


def test_D_7_every_key_and_password_is_compared_in_constant_time(
    keyed: BillingStation, mailbox: MailboxFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A password, a wrong key and the right key: each comparison of a derived digest with
    the stored one is hmac.compare_digest's (its time does not tell how much matched)."""
    compared: list[tuple[str, str]] = []
    constant_time = hmac.compare_digest

    def recorded(a: str, b: str) -> bool:
        compared.append((a, b))
        return constant_time(a, b)

    monkeypatch.setattr("domain.crypto.hmac.compare_digest", recorded)
    entry = key_entry(keyed)  # (the password's comparison)
    assert isinstance(keyed.enter_key(entry.attempt_id, "000000000000"), KeyEntry)
    assert isinstance(keyed.enter_key(entry.attempt_id, latest_key(mailbox, EMAIL)), TopPage)
    assert len(compared) == 3 and all(len(a) == len(b) == 64 for a, b in compared)


def test_D_8_stored_in_utc_shown_in_jst(keyed: BillingStation) -> None:
    entry = key_entry(keyed)
    attempt = keyed.get(entry.attempt_id, LoginAttempt)
    assert attempt.created_on.utcoffset() == timedelta(0)
    assert attempt.created_on.hour == 0  # 09:58 JST is 00:58 UTC


def test_D_9_a_password_digested_at_another_cost_is_renewed_at_its_next_right_login(
    tmp_path: Path, mailbox: MailboxFolder
) -> None:
    """BS_HASH_COST raised: an account's digest kept its old cost, so its wrong password
    answered sooner than an unknown ID's tag (D-9), and weaker than the operator asked."""
    store = store_settings("sqlite", tmp_path / "store.sqlite3")
    before = build(store, mailbox, hasher=Hasher(2))
    onboard(before)
    before.close()
    app = build(store, mailbox, hasher=Hasher(3))
    assert app.log_in("main01", "wrong-password") == ErrorPage(Refusal.LOGIN_FAILED)
    old = app.account("main01")
    assert old is not None and app.hasher.outdated(old.password_digest)  # not on a failure
    assert isinstance(app.log_in("main01", PASSWORD), TopPage)  # the first login (D-1)
    assert isinstance(app.log_in("main01", PASSWORD), TopPage)
    renewed = [e for e in audit.replay(app) if isinstance(e, Account.PasswordDigestRenewed)]
    assert len(renewed) == 1 and renewed[0].password_digest.startswith("scrypt$3$")
    account = app.account("main01")
    assert account is not None and Hasher(3).matches(PASSWORD, account.password_digest)
    app.close()


@pytest.mark.parametrize("notify_key", [False, True], ids=["password only", "with a key"])
@pytest.mark.parametrize("address", [None, "192.0.2.1"], ids=["service", "portal (D-14)"])
def test_D_2_a_login_that_lost_a_race_is_decided_again_without_deriving_again(
    app: BillingStation, monkeypatch: pytest.MonkeyPatch, derivations: list[tuple[str, int]],
    notify_key: bool, address: str | None
) -> None:
    """Another login of the ID commits while this one works (its save is refused): this one
    is decided again on what was committed, with its password's check and its key's digest
    already worked out, so a crowd at one ID neither keeps the cores busy nor loses its
    races for as long; at a D-14 check of its own, so what it records follows the winner."""
    main = onboard(app)
    if notify_key:
        set_notify_key(app, main)
        first_login(app)
    shown = KeyEntry if notify_key else TopPage

    def log_in() -> Any:
        return (app.log_in("main01", PASSWORD) if address is None
                else app.log_in_from(address, "main01", PASSWORD))

    save, rival = app.save, iter([log_in])

    def rival_first(*aggregates: Any) -> None:
        for login in rival:  # once: the rival's own save goes straight through
            assert isinstance(login(), shown)
        save(*aggregates)

    monkeypatch.setattr(app, "save", rival_first)
    derivations.clear()
    assert isinstance(log_in(), shown)
    per_login = 2 if notify_key else 1  # (the password's check; the key's digest)
    assert len(derivations) == 2 * per_login  # this login's once, the rival's
    assert [d for d in derivations if d[0] == PASSWORD] == [(PASSWORD, app.hasher.cost)] * 2
    account = app.account("main01")
    assert account is not None
    assert (len(account.key_mail_times) if notify_key else account.logins) == 2  # none lost
    events: dict[UUID, list[datetime]] = {}
    for event in audit.replay(app):
        events.setdefault(event.originator_id, []).append(event.timestamp)
    assert all(times == sorted(times) for times in events.values())  # (the winner's first)


def test_LG_1_a_login_that_lost_every_race_records_nothing_and_says_to_try_again(
        keyed: BillingStation, mailbox: MailboxFolder, derivations: list[tuple[str, int]]
) -> None:
    """A login ID shared by many, its 「ログイン」 pressed again and again: a login that lost
    every race it may lose (LOGIN_RACES) checked its password and digested its key once,
    recorded nothing, mailed nothing, and its page says to try again later (not an OK's
    「他の操作で…」); the next login goes through."""
    recorded, mails = keyed.recorder.max_notification_id(), len(mailbox.messages())
    derivations.clear()
    with losing_every_race(keyed) as tried:
        assert keyed.log_in("main01", PASSWORD) == ErrorPage(Refusal.BUSY)
    assert len(tried) == LOGIN_RACES and len(derivations) == 2  # (the password, the key)
    assert keyed.recorder.max_notification_id() == recorded
    assert len(mailbox.messages()) == mails
    assert screens.refusal_text(Refusal.BUSY) == (
        "ただいま混み合っているため処理できませんでした。しばらく時間をおいてから再度お試しください。")
    assert isinstance(keyed.log_in("main01", PASSWORD), KeyEntry)
    assert len(mailbox.messages()) == mails + 1


@pytest.mark.parametrize("right", [True, False], ids=["the key", "a wrong key"])
def test_LG_3_a_key_entry_that_lost_every_race_records_nothing_and_asks_again(
        keyed: BillingStation, mailbox: MailboxFolder, derivations: list[tuple[str, int]],
        right: bool) -> None:
    """A key entry that lost every race (to other writes of its attempt or account) compared
    the key once, recorded nothing (a wrong key is not counted, D-4), and 通知キー照合 asks
    for the key again at once (its 10 minutes run, LG-5); entered again, it is decided."""
    entry = key_entry(keyed)
    key = latest_key(mailbox, EMAIL) if right else "000000000000"
    recorded = keyed.recorder.max_notification_id()
    derivations.clear()
    with losing_every_race(keyed) as tried:
        assert keyed.enter_key(entry.attempt_id, key) == KeyEntry(entry.attempt_id, Refusal.BUSY)
    assert len(tried) == LOGIN_RACES and len(derivations) == 1
    assert keyed.recorder.max_notification_id() == recorded
    assert screens.key_error(Refusal.BUSY) == (
        "ただいま混み合っているため処理できませんでした。もう一度通知キーを入力して「OK」を"
        "クリックしてください。")
    again = keyed.enter_key(entry.attempt_id, key)
    assert isinstance(again, TopPage) if right else again == KeyEntry(
        entry.attempt_id, Refusal.KEY_WRONG, 4)  # (the first wrong entry counted: 4 left)


def test_D_9_unknown_id_wrong_password_and_lock_read_the_same(
    keyed: BillingStation, mailbox: MailboxFolder
) -> None:
    unknown = keyed.log_in("nobody", PASSWORD)
    wrong = keyed.log_in("main01", "not-the-password")
    entry = key_entry(keyed)
    for _ in range(5):
        locked = keyed.enter_key(entry.attempt_id, "000000000000")
    assert unknown == wrong == locked == ErrorPage(Refusal.LOGIN_FAILED)


def test_login_ids_are_matched_as_typed_in_case_as_passwords_are(app: BillingStation) -> None:
    """A decision (README): 「MAIN01」 is not 「main01」, so it is an unknown login ID (D-9)
    and can be another's; full-width letters and digits are still read as meant (the
    Japanese input mode on)."""
    main = onboard(app)
    first_login(app)
    assert app.log_in("MAIN01", PASSWORD) == ErrorPage(Refusal.LOGIN_FAILED)
    assert isinstance(app.log_in("ｍａｉｎ０１", PASSWORD), TopPage)
    add_sub_id(app, main, "Main01")
    assert isinstance(app.log_in("Main01", SUB_PASSWORD), TopPage)
    assert app.log_in("Main01", PASSWORD) == ErrorPage(Refusal.LOGIN_FAILED)


def test_D_10_at_most_5_keys_an_hour_and_the_page_says_from_when(
    keyed: BillingStation, mailbox: MailboxFolder, start: Clock
) -> None:
    first = clock.now()
    for _ in range(5):
        key_entry(keyed)
        start.tick(timedelta(minutes=5))
    withheld = keyed.log_in("main01", PASSWORD)
    assert withheld == ErrorPage(Refusal.KEY_LIMIT, first + timedelta(minutes=60))
    assert screens.message(withheld) == (
        f"通知キーの送信回数が上限に達しました。{japan_time.jst(first + timedelta(minutes=60))}"
        "以降に再度ログインしてください。")
    assert len(mailbox.messages(EMAIL)) == 5
    start.tick(first + timedelta(minutes=60, seconds=-1) - clock.now())
    assert isinstance(keyed.log_in("main01", PASSWORD), ErrorPage)  # the first key's hour
    start.tick(timedelta(seconds=1))  # ... is over: at the time the page said
    assert isinstance(keyed.log_in("main01", PASSWORD), KeyEntry)


def test_D_10_the_time_said_is_the_first_whole_minute_from_when_a_key_is_mailed_again() -> None:
    at = datetime(2026, 4, 6, 1, 4, tzinfo=UTC)  # 10:04 JST
    assert "10:04以降" in screens.refusal_text(Refusal.KEY_LIMIT, at)
    assert "10:05以降" in screens.refusal_text(Refusal.KEY_LIMIT, at + timedelta(seconds=1))
    assert screens.refusal_text(Refusal.KEY_LIMIT) == screens.KEY_LIMIT  # (none known)
    with pytest.raises(ValueError, match="max_keys_per_window"):
        LoginPolicy(max_keys_per_window=0)  # (no time to say: no key would ever be mailed)


def test_D_11_turning_the_key_off_or_moving_its_address_notifies_the_old_address(
    keyed: BillingStation, mailbox: MailboxFolder
) -> None:
    session = keyed.log_in("main01", PASSWORD)
    assert isinstance(session, KeyEntry)
    top = keyed.enter_key(session.attempt_id, latest_key(mailbox, EMAIL))
    assert isinstance(top, TopPage)
    new = "new@example.co.jp"
    keyed.submit_customer_information(top.session, keyed.confirm_customer_information(
        top.session, {"email": new, "email_confirmation": new, "notify_key": "利用しない"}))
    [notice] = [m for m in mailbox.messages(EMAIL) if "変更のお知らせ" in m["Subject"]]
    assert not mailbox.messages(new)  # (one OK, one notice: it was two mails)
    assert notice.get_content().startswith(
        "ログインID main01 の通知キーの送付先メールアドレスが変更されました。\n"
        "ログインID main01 の通知キーの利用が「利用しない」に変更されました。\n")


def test_D_11_an_address_no_key_goes_to_is_told_by_its_label(
        app: BillingStation, mailbox: MailboxFolder) -> None:
    """A sub ID that takes no key, its 登録先メールアドレス moved: the notice said the
    notify key's address had changed (a newcomer's reading); it names the field."""
    main = onboard(app)
    add_sub_id(app, main, "sub01")
    app.submit_sub_id_change(main, app.confirm_sub_id_change(
        main, "sub01", {"email": "sub01-new@example.co.jp"}))
    [notice] = [m for m in mailbox.messages("sub01@example.co.jp")
                if "変更のお知らせ" in m["Subject"]]
    assert "ログインID sub01 の登録先メールアドレスが変更されました。" in notice.get_content()
    new = "new@example.co.jp"  # (the main ID, its key off too: its form's label)
    app.submit_customer_information(main, app.confirm_customer_information(
        main, {"email": new, "email_confirmation": new}))
    [notice] = [m for m in mailbox.messages(EMAIL) if "変更のお知らせ" in m["Subject"]]
    assert "ログインID main01 の連絡先メールアドレスが変更されました。" in notice.get_content()


def test_LG_8_whom_to_ask_when_the_key_mail_does_not_arrive(app: BillingStation) -> None:
    main = onboard(app)
    add_sub_id(app, main, "sub01")
    assert app.key_mail_contact("main01") == Contact(ContactRoute.OPERATOR)
    assert app.key_mail_contact("sub01") == Contact(ContactRoute.MAIN_ID_PERSON)
    assert screens.contact(app.key_mail_contact("main01")).endswith("主IDの場合：オペレータ担当")
    assert screens.contact(app.key_mail_contact("sub01")).endswith(
        "副IDの場合：主IDの担当者")  # the manual's words, no name: only the password is known
    assert first_login(app, "sub01", SUB_PASSWORD).is_main_id is False


def test_D_14_the_throttled_login_reads_as_the_rule_says() -> None:
    throttled = Throttled("192.0.2.1")
    assert screens.message(throttled) == "しばらく時間をおいてから再度ログインしてください。"
    assert screens.title(throttled) == "ログイン"  # the login screen again, as the portal shows
