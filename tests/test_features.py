"""The step vocabulary of features/*.feature: it drives the application services only,
and reads keys from the mailbox as a person reads their mail."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner, Result
from freezegun.api import FrozenDateTimeFactory
from pytest_bdd import given, parsers, scenarios, then, when

from application import screens
from application.adapters.mailbox import MailboxFolder
from application.billing_station import BillingStation
from application.bootstrap import store_settings
from application.messages import key_in
from application.outcomes import Confirmation, ErrorPage, Form, KeyEntry, Refused, Session, TopPage
from billing_station.cli import main
from domain.fields import InvalidInput
from domain.forms import CUSTOMER_INFORMATION, PERMISSIONS, SUB_ID_REGISTRATION, Plan
from tests.conftest import build
from tests.story import PASSWORD, SUB_PASSWORD, information, sub_id_form

scenarios("customer_information.feature", "login.feature", "sub_ids.feature",
          "decisions.feature")

CUSTOMER_LABELS = {f.label: k for k, f in CUSTOMER_INFORMATION.items()}
SUB_ID_LABELS = {f.label: k for k, f in (SUB_ID_REGISTRATION | PERMISSIONS).items()} | {
    "所属組織": "organization"}


@attrs.define
class World:
    """What a person at the screen knows: who is logged in, what the screen shows."""

    app: BillingStation
    mailbox: MailboxFolder
    clock: FrozenDateTimeFactory
    store: Path
    main: dict[str, Session] = attrs.Factory(dict)  # main login ID -> its session
    passwords: dict[str, str] = attrs.Factory(dict)
    emails: dict[str, str] = attrs.Factory(dict)
    sessions: dict[str, Session] = attrs.Factory(dict)
    screen: Any = None  # the last screen, message or error shown
    confirmation: Confirmation | None = None
    attempt: KeyEntry | None = None
    attempts: list[KeyEntry] = attrs.Factory(list)  # every 通知キー照合 screen shown
    login_id: str = ""  # who pressed 「ログイン」 last
    keys: list[str] = attrs.Factory(list)  # keys read from the mailbox, in order

    @property
    def first_main(self) -> Session:
        return next(iter(self.main.values()))

    @property
    def confirmed(self) -> Confirmation:
        """The 確認 screen shown last (a step sequence without one is a broken spec)."""
        assert self.confirmation is not None, "no 確認 screen was shown"
        return self.confirmation

    def show(self, action: Callable[[], Any]) -> Any:
        """Runs a screen action; what it shows (or refuses with) becomes the screen."""
        try:
            self.screen = action()
        except (InvalidInput, Refused) as shown:
            self.screen = shown
        if isinstance(self.screen, TopPage):
            self.sessions[self.screen.session.login_id] = self.screen.session
        if isinstance(self.screen, Confirmation):
            self.confirmation = self.screen
        if isinstance(self.screen, KeyEntry):
            self.attempt = self.screen
            if self.screen.attempt_id not in [a.attempt_id for a in self.attempts]:
                self.attempts.append(self.screen)
        return self.screen

    def read_key(self, email: str) -> str:
        key = key_in(self.mailbox.messages(email)[-1])
        self.keys.append(key)
        return key


@pytest.fixture
def world(tmp_path: Path, mailbox: MailboxFolder,
          start: FrozenDateTimeFactory) -> Iterator[World]:
    store = tmp_path / "features.sqlite3"
    app = build(store_settings("sqlite", store), mailbox)
    yield World(app, mailbox, start, store)
    app.close()


def _minutes(text: str) -> timedelta:
    match = re.fullmatch(r"(?:(\d+)日)?(?:(\d+)分)?(?:(\d+)秒)?", text)
    assert match and text, f"not a duration: {text}"
    days, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, minutes=minutes, seconds=seconds)


# 前提 ---------------------------------------------------------------------------------------
@given(parsers.parse("{plan}プランのお客様の主ID \"{login_id}\" が登録されている"))
def customer(world: World, plan: str, login_id: str) -> None:
    number = f"BS{5928544 + len(world.main)}"
    world.main[login_id] = world.app.onboard_customer(
        number, "デモ用ユーザ01", "デモヨウユーザ", Plan(plan), login_id, PASSWORD, information())
    world.passwords[login_id], world.emails[login_id] = PASSWORD, information()["email"]


@given(parsers.parse("副ID \"{login_id}\" が登録されている"))
def sub_id(world: World, login_id: str) -> None:
    register_sub_id(world, next(iter(world.main)), login_id)


@given(parsers.parse("\"{login_id}\" は一度ログインしている"))
def logged_in_once(world: World, login_id: str) -> None:
    assert isinstance(world.app.log_in(login_id, world.passwords[login_id]), TopPage)


@given(parsers.parse("主IDが通知キーの利用を \"{setting}\" にしている"))
@when(parsers.parse("主IDが通知キーの利用を \"{setting}\" にする"))
def notify_key_setting(world: World, setting: str) -> None:
    confirm_information(world, {"通知キーの利用": setting})
    world.show(lambda: world.app.submit_customer_information(world.first_main,
                                                             world.confirmed))


@given(parsers.parse("組織設定で \"{name}\" が登録されている"))
def organization(world: World, name: str) -> None:
    world.app.register_organization(world.first_main, name)


# もし: logging in ---------------------------------------------------------------------------
@when(parsers.re(r"(?:(?P<wait>\S+)後に )?\"(?P<login_id>[^\"]+)\" がパスワードを入力して「ログイン」をクリックする"))
def log_in(world: World, login_id: str, wait: str | None) -> None:
    if wait:
        world.clock.tick(_minutes(wait))
    world.login_id = login_id
    world.show(lambda: world.app.log_in(login_id, world.passwords.get(login_id, PASSWORD)))


@when(parsers.parse("\"{login_id}\" が誤ったパスワードで「ログイン」をクリックする"))
def wrong_password(world: World, login_id: str) -> None:
    world.show(lambda: world.app.log_in(login_id, "not-the-password"))


@when(parsers.parse("\"{login_id}\" が5分おきに{times:d}回ログインする"))
def repeated_logins(world: World, login_id: str, times: int) -> None:
    for _ in range(times):
        log_in(world, login_id, None)
        world.clock.tick(timedelta(minutes=5))


@when(parsers.parse("{duration}が経過する"))
def time_passes(world: World, duration: str) -> None:
    world.clock.tick(_minutes(duration))


def enter(world: World, key: str) -> None:
    assert world.attempt is not None, "no 通知キー照合 screen was shown"
    attempt = world.attempt
    world.show(lambda: world.app.enter_key(attempt.attempt_id, key))


@when("届いた通知キーを入力して「OK」をクリックする")
def enter_mailed_key(world: World) -> None:
    enter(world, world.read_key(world.emails[world.login_id]))


@when("同じ通知キーをもう一度入力して「OK」をクリックする")
def enter_same_key(world: World) -> None:
    enter(world, world.keys[-1])


@when("古い通知キーを入力して「OK」をクリックする")
def enter_old_key(world: World) -> None:
    world.attempt = world.attempts[0]  # back to the first 通知キー照合 screen
    enter(world, world.keys[0])


@when(parsers.parse("誤った通知キーを{times:d}回入力する"))
def enter_wrong_keys(world: World, times: int) -> None:
    for _ in range(times):
        enter(world, "000000000000" if not world.keys or world.keys[-1] != "000000000000"
              else "111111111111")


# もし: お客様情報変更 and 権限設定 ------------------------------------------------------------
def confirm_information(world: World, by_label: dict[str, str]) -> None:
    form = {CUSTOMER_LABELS[label]: value for label, value in by_label.items()}
    world.show(lambda: world.app.confirm_customer_information(world.first_main, form))


@when(parsers.parse("主IDがお客様情報変更で \"{label}\" に \"{value}\" を入力して「確認」をクリックする"))
def confirm_one(world: World, label: str, value: str) -> None:
    confirm_information(world, {label: value})


@when(parsers.parse("主IDがお客様情報変更で \"{label}\" に \"{char}\" を{count:d}文字入力して「確認」をクリックする"))
def confirm_repeated(world: World, label: str, char: str, count: int) -> None:
    confirm_information(world, {label: char * count})


@when("主IDがお客様情報変更で連絡先メールアドレスに255文字のアドレスを入力して「確認」をクリックする")
def confirm_longest_email(world: World) -> None:
    email = "a" * 243 + "@example.com"
    confirm_information(world, {"連絡先メールアドレス": email, "連絡先メールアドレス(確認)": email})


@when("主IDがお客様情報変更で次のように入力して「確認」をクリックする")
def confirm_table(world: World, datatable: list[list[str]]) -> None:
    confirm_information(world, dict((row[0], row[1]) for row in datatable[1:]))


@when("「OK」をクリックする")
def ok(world: World) -> None:
    confirmation = world.confirmation
    assert confirmation is not None
    session = world.first_main
    submit = (world.app.submit_customer_information
              if confirmation.form is Form.CUSTOMER_INFORMATION
              else world.app.submit_new_sub_id)
    world.show(lambda: submit(session, confirmation))


@when(parsers.parse("\"{login_id}\" がお客様情報変更を開く"))
def open_information(world: World, login_id: str) -> None:
    session = world.sessions[login_id]  # its own login, as it logged in
    world.show(lambda: world.app.customer_information(session))


@when(parsers.parse("\"{login_id}\" が権限設定を開く"))
def open_permission_settings(world: World, login_id: str) -> None:
    session = world.sessions[login_id]
    world.show(lambda: world.app.permission_settings(session))


def register_sub_id(world: World, main: str, login_id: str) -> None:
    session = world.main[main]
    world.show(lambda: world.app.confirm_new_sub_id(session, sub_id_form(login_id)))
    confirmation = world.confirmed
    world.show(lambda: world.app.submit_new_sub_id(session, confirmation))
    world.passwords[login_id] = SUB_PASSWORD
    world.emails[login_id] = sub_id_form(login_id)["email"]


@when(parsers.parse("\"{main}\" が権限設定の「新規追加」で副ID \"{login_id}\" を登録する"))
def add_sub_id_of(world: World, main: str, login_id: str) -> None:
    register_sub_id(world, main, login_id)


@when(parsers.re(r"主IDが権限設定の「新規追加」で副ID \"(?P<login_id>[^\"]+)\" を(?P<without>担当者なしで)?入力して「確認」をクリックする"))
def confirm_new_sub_id(world: World, login_id: str, without: str | None) -> None:
    form = sub_id_form(login_id) | ({"person_in_charge": ""} if without else {})
    world.passwords[login_id] = SUB_PASSWORD
    world.show(lambda: world.app.confirm_new_sub_id(world.first_main, form))


@when(parsers.parse("主IDが副ID \"{login_id}\" の \"{label}\" を \"{value}\" に変更する"))
def change_sub_id(world: World, login_id: str, label: str, value: str) -> None:
    session, form = world.first_main, {SUB_ID_LABELS[label]: value}
    confirmation = world.show(lambda: world.app.confirm_sub_id_change(session, login_id, form))
    if isinstance(confirmation, Confirmation):
        world.show(lambda: world.app.submit_sub_id_change(session, confirmation))


# ならば ---------------------------------------------------------------------------------------
@then("トップページが表示される")
def top_page(world: World) -> None:
    assert isinstance(world.screen, TopPage), world.screen


@then(parsers.parse("ヘッダに「{header}」と表示される"))
def header(world: World, header: str) -> None:
    assert screens.header(world.screen) == header


@then(parsers.parse("通知キー照合画面に「{message}」と表示される"))
def key_screen(world: World, message: str) -> None:
    assert isinstance(world.screen, KeyEntry), world.screen
    assert message in screens.message(world.screen)


@then(parsers.parse("エラー画面に「{message}」と表示される"))
def error_page(world: World, message: str) -> None:
    assert isinstance(world.screen, ErrorPage), world.screen
    assert screens.message(world.screen) == message


@then(parsers.parse("「{message}」と表示される"))
def message_shown(world: World, message: str) -> None:
    assert screens.message(world.screen) == message, world.screen


@then(parsers.parse("「{title}」画面が表示される"))
def confirmation_screen(world: World, title: str) -> None:
    assert isinstance(world.screen, Confirmation), world.screen
    assert screens.title(world.screen) == title


@then(parsers.parse("確認画面の \"{label}\" は \"{shown}\" と表示される"))
def confirmation_line(world: World, label: str, shown: str) -> None:
    assert f"{label}: {shown}" in screens.confirmation_lines(world.screen)


@then(parsers.re(r"(?:\"(?P<login_id>[^\"]+)\" の)?お客様情報の \"(?P<label>[^\"]+)\" は \"(?P<value>[^\"]+)\" (?:である|のままである)"))
def information_value(world: World, label: str, value: str, login_id: str | None) -> None:
    session = world.main[login_id] if login_id else world.first_main
    assert world.app.customer_information(session)[label] == value


@then(parsers.parse("\"{label}\" のエラー「{message}」が表示される"))
def one_error(world: World, label: str, message: str) -> None:
    assert isinstance(world.screen, InvalidInput), world.screen
    assert [(e.label, e.message) for e in world.screen.errors] == [(label, message)]


@then("次のエラーが表示される")
def errors_table(world: World, datatable: list[list[str]]) -> None:
    assert isinstance(world.screen, InvalidInput), world.screen
    expected = sorted(tuple(row) for row in datatable[1:])
    assert sorted((e.label, e.message) for e in world.screen.errors) == expected


@then(parsers.parse("入力した \"{label}\" の \"{value}\" は保持されている"))
def input_kept(world: World, label: str, value: str) -> None:
    assert world.screen.form[CUSTOMER_LABELS[label]] == value


@then(parsers.parse("入力は{outcome}"))
def accepted_or_not(world: World, outcome: str) -> None:
    accepted = isinstance(world.screen, Confirmation)
    assert accepted == (outcome == "受け付けられる"), world.screen
    if not accepted:
        assert len(world.screen.errors) == 1 and world.screen.errors[0].rule == "CI-2"


@then(parsers.parse("\"{email}\" に \"{sender}\" から12桁の通知キーが届く"))
def key_mail(world: World, email: str, sender: str) -> None:
    mail = world.mailbox.messages(email)[-1]
    assert sender in mail["From"]
    assert re.fullmatch(r"\d{12}", world.read_key(email))


@then(parsers.parse("\"{email}\" には通知キーのメールが届いていない"))
def no_key_mail(world: World, email: str) -> None:
    assert world.mailbox.messages(email) == []


@then(parsers.parse("メールの有効期限は日本時間で「{expiry}」と表示される"))
def mail_expiry(world: World, expiry: str) -> None:
    assert f"有効期限: {expiry} (日本時間)" in world.mailbox.messages()[-1].get_content()


@then(parsers.parse("\"{email}\" に届いた通知キーは2通で、新しいキーは古いキーと異なる"))
def two_different_keys(world: World, email: str) -> None:
    keys = [key_in(m) for m in world.mailbox.messages(email)]
    assert len(keys) == 2 and keys[0] != keys[1]
    world.keys = keys


@then(parsers.parse("\"{email}\" に届いた通知キーは{count:d}通である"))
def key_count(world: World, email: str, count: int) -> None:
    assert len(world.mailbox.messages(email)) == count


@then(parsers.parse("\"{email}\" に「{subject}」が届く"))
def notice(world: World, email: str, subject: str) -> None:
    assert any(subject in m["Subject"] for m in world.mailbox.messages(email))


@then("保存ファイルに通知キーとパスワードは含まれない")
def nothing_in_clear(world: World) -> None:
    data = b"".join(p.read_bytes() for p in world.store.parent.glob(world.store.name + "*"))
    assert world.emails["main01"].encode() in data  # the file does hold the events
    for secret in [*world.keys, PASSWORD]:
        assert secret.encode() not in data


@then(parsers.parse("\"{login_id}\" の連絡先は「{route}」である"))
def contact(world: World, login_id: str, route: str) -> None:
    assert screens.contact(world.app.key_mail_contact(login_id)).splitlines()[-1] == route


@then(parsers.re(r"権限設定の一覧に \"(?P<login_id>[^\"]+)\" (?P<shown>が表示される|は表示されない)"))
def listed(world: World, login_id: str, shown: str) -> None:
    ids = [row["ログインID"] for row in world.app.permission_settings(world.first_main)]
    assert (login_id in ids) == (shown == "が表示される")


@then(parsers.re(r"\"(?P<main>[^\"]+)\" の副ID 新規登録画面に \"(?P<label>[^\"]+)\" (?P<shown>が表示される|は表示されない)"))
def field_shown(world: World, main: str, label: str, shown: str) -> None:
    labels = world.app.sub_id_fields(world.main[main], new=True)
    assert (label in labels) == (shown == "が表示される")


@then(parsers.parse("副ID \"{login_id}\" の \"{label}\" は \"{value}\" である"))
def sub_id_value(world: World, login_id: str, label: str, value: str) -> None:
    assert world.app.sub_id_information(world.first_main, login_id)[label] == value



# 監査 (D-16) ----------------------------------------------------------------------------------
@when("監査人がこのストアを検証する", target_fixture="audited")
def audit_this_store(world: World) -> tuple[Result, bytes]:
    world.app.close()  # the application stops; the auditor reads the file it left
    before = world.store.read_bytes()
    return CliRunner().invoke(main, ["verify"], env={"BS_SQLITE_PATH": str(world.store)}), before


@then(parsers.parse("検証は「{last}」で終わり、ストアは1バイトも変わらない"))
def audited_clean(world: World, audited: tuple[Result, bytes], last: str) -> None:
    result, before = audited
    assert result.exit_code == 0 and result.output.splitlines()[-1] == last, result.output
    assert world.store.read_bytes() == before


@when("監査人がデータベースでないファイルを検証する", target_fixture="audited")
def audit_a_file_that_is_not_a_store(world: World) -> tuple[Result, bytes]:
    other = world.store.parent / "notes.txt"
    other.write_text("メモ")
    return CliRunner().invoke(main, ["verify"], env={"BS_SQLITE_PATH": str(other)}), b""


@then(parsers.parse("監査は1行「{words}」で答え、終了コードは{code:d}である"))
def audit_refused(audited: tuple[Result, bytes], words: str, code: int) -> None:
    result, _ = audited
    assert result.exit_code == code and words in result.output
    assert len(result.output.strip().splitlines()) == 1
