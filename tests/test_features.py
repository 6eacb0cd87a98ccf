"""The step vocabulary of features/*.feature, over one of two drivers (tests/spec_drivers.py):
the application services (the default), or a person at a real browser on the served portal
(``pytest --driver=browser``). Keys are read from the mailbox, as a person reads their mail;
time moves with freezegun. Scenarios marked service-only are not about a screen: in a
browser run they are reported as skipped, with the reason."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner, Result
from freezegun.api import FrozenDateTimeFactory
from playwright.sync_api import Browser
from pytest_bdd import given, parsers, scenario, scenarios, then, when

from application import screens
from application.adapters.mailbox import MailboxFolder
from application.bootstrap import store_settings
from application.messages import is_key_mail, key_in
from billing_station.cli import main
from domain.forms import Plan
from tests.conftest import build
from tests.story import PASSWORD, SUB_PASSWORD, duration, information, says, sub_id_form

# Imported here first (this file is collected before the portal's tests): their asserts
# keep pytest's messages.
pytest.register_assert_rewrite("tests.portal_fixtures", "tests.spec_drivers")

from tests.spec_drivers import (  # noqa: E402
    ELSEWHERE,
    BrowserDriver,
    Driver,
    Kind,
    ServiceDriver,
    served,
)

SERVICE_ONLY = pytest.mark.__getattr__("service-only")  # registered in tests/conftest.py


# The scenarios not about a screen, marked service-only (a feature file's tags must name
# rules: tests/test_rule_catalogue.py), under the names scenarios() would give them. A
# browser run reports them as skipped, with the reason below (pytest -rs prints it).
@SERVICE_ONLY
@scenario("decisions.feature", "監査はストアを読むだけで、このシステムのイベントストアでないものは拒む")
def test_監査はストアを読むだけでこのシステムのイベントストアでないものは拒む() -> None:
    pass


SERVICE_ONLY_BECAUSE = {
    "test_監査はストアを読むだけでこのシステムのイベントストアでないものは拒む":
        "D-16: the audit is a command on the store's file, not a screen",
}


scenarios("customer_information.feature", "login.feature", "sub_ids.feature",
          "decisions.feature")


@attrs.define
class World:
    """What a person at the screen knows: whom they log in as, the passwords and addresses,
    the keys they read; the driver does what they do and tells what the screen shows."""

    driver: Driver
    clock: FrozenDateTimeFactory
    passwords: dict[str, str] = attrs.Factory(dict)
    emails: dict[str, str] = attrs.Factory(dict)
    login_id: str = ""  # who pressed 「ログイン」 last
    typed_in: str = ""  # the field (its label) the outline's row typed into last
    keys: list[str] = attrs.Factory(list)  # keys read from the mailbox, in order
    elsewhere: int = 0  # how many other client addresses the person has logged in from

    def other_address(self) -> str:
        """A client address not used yet in the story (not the person's own)."""
        self.elsewhere += 1
        return ELSEWHERE.format(self.elsewhere)

    @property
    def mailbox(self) -> MailboxFolder:
        return self.driver.mailbox

    @property
    def store(self) -> Path:
        return self.driver.store

    @property
    def screen(self) -> object:
        """The services' last outcome (the living documentation's evidence reads it); a
        browser's screen is read from its page (``person``)."""
        return getattr(self.driver, "screen", None)

    @property
    def shown(self) -> int:
        """How many screens the services have shown (the evidence's: a step's own)."""
        return int(getattr(self.driver, "shown", 0))

    def read_key(self, email: str) -> str:
        key = key_in(self.mailbox.messages(email)[-1])
        self.keys.append(key)
        return key


@pytest.fixture(autouse=True)
def driver_kind(request: pytest.FixtureRequest) -> str:
    """--driver=services|browser; a service-only scenario is skipped, with its reason, in a
    browser run."""
    kind = str(request.config.getoption("--driver"))
    if kind == "browser" and request.node.get_closest_marker("service-only"):
        why = SERVICE_ONLY_BECAUSE.get(request.node.name, "not about a screen")
        pytest.skip(f"service-only, not run in the browser: {why}")
    return kind


@pytest.fixture
def world(request: pytest.FixtureRequest, driver_kind: str, tmp_path: Path,
          mailbox: MailboxFolder, start: FrozenDateTimeFactory) -> Iterator[World]:
    store = tmp_path / "features.sqlite3"
    app = build(store_settings("sqlite", store), mailbox)
    if driver_kind == "services":
        yield World(ServiceDriver(app, mailbox, store), start)
        app.close()
        return
    browser: Browser = request.getfixturevalue("chromium")
    with served(app) as url:
        person = BrowserDriver(browser, url, app, mailbox, store, request.node.name)
        try:
            yield World(person, start)
        finally:
            person.close()
    app.close()


@pytest.fixture(autouse=True)
def person(request: pytest.FixtureRequest, driver_kind: str) -> BrowserDriver | None:
    """The person at the browser (the living documentation reads its page), if any."""
    if driver_kind != "browser":
        return None
    found = request.getfixturevalue("world").driver
    assert isinstance(found, BrowserDriver)
    return found


# 前提 ---------------------------------------------------------------------------------------
@given(parsers.parse("{plan}プランのお客様の主ID \"{login_id}\" が登録されている"))
def customer(world: World, plan: str, login_id: str) -> None:
    number = f"BS{5928544 + len(world.driver.mains())}"
    world.driver.onboard(number, Plan(plan), login_id, PASSWORD, information())
    world.passwords[login_id], world.emails[login_id] = PASSWORD, information()["email"]


@given(parsers.parse("副ID \"{login_id}\" が登録されている"))
def sub_id(world: World, login_id: str) -> None:
    register_sub_id(world, world.driver.mains()[0], login_id)


@given(parsers.parse("\"{login_id}\" は一度ログインしている"))
def logged_in_once(world: World, login_id: str) -> None:
    assert world.driver.logged_in_once(login_id, world.passwords[login_id])


@given(parsers.parse("主IDが通知キーの利用を \"{setting}\" にしている"))
@when(parsers.parse("主IDが通知キーの利用を \"{setting}\" にする"))
def notify_key_setting(world: World, setting: str) -> None:
    world.driver.confirm_information({"通知キーの利用": setting})
    world.driver.ok()


@given(parsers.parse("組織設定で \"{name}\" が登録されている"))
def organization(world: World, name: str) -> None:
    world.driver.register_organization(name)


# もし: logging in ---------------------------------------------------------------------------
@when(parsers.re(r"(?:(?P<wait>\S+)後に )?(?P<elsewhere>別の接続元から )?\"(?P<login_id>[^\"]+)\""
                 r" がパスワードを入力して「ログイン」をクリックする"))
def log_in(world: World, login_id: str, wait: str | None, elsewhere: str | None) -> None:
    if wait:
        world.clock.tick(duration(wait))
    world.login_id = login_id
    world.driver.log_in(login_id, world.passwords.get(login_id, PASSWORD),
                        world.other_address() if elsewhere else None)


@when(parsers.parse("\"{login_id}\" が誤ったパスワードで「ログイン」をクリックする"))
def wrong_password(world: World, login_id: str) -> None:
    world.driver.log_in(login_id, "not-the-password")


@when(parsers.parse("同じ接続元から、異なる{count:d}のログインIDが誤ったパスワードで「ログイン」をクリックする"))
def stuffed(world: World, count: int) -> None:
    """A stuffer's list from the person's own address: IDs of no account (D-9: the same).
    Each is answered as a failed login: none is refused before the limit is reached."""
    for n in range(count):
        world.driver.log_in(f"guess{n + 1:02d}", "not-the-password")
        error_page(world, screens.LOGIN_FAILED)


@when(parsers.re(r"\"(?P<login_id>[^\"]+)\" が5分おきに(?P<times>\d+)回(?P<elsewhere>、そのたびに別の接続元から)?"
                 r"ログインする"))
def repeated_logins(world: World, login_id: str, times: str, elsewhere: str | None) -> None:
    for _ in range(int(times)):
        log_in(world, login_id, None, elsewhere)
        world.clock.tick(timedelta(minutes=5))


@when(parsers.parse("{span}が経過する"))
def time_passes(world: World, span: str) -> None:
    world.clock.tick(duration(span))


@when("届いた通知キーを入力して「OK」をクリックする")
@when("通知キー照合画面に戻り、届いた通知キーを入力して「OK」をクリックする")
def enter_mailed_key(world: World) -> None:
    world.driver.enter_key(world.read_key(world.emails[world.login_id]))


@when("同じ通知キーをもう一度入力して「OK」をクリックする")
def enter_same_key(world: World) -> None:
    world.driver.enter_key(world.keys[-1])


@when("最初の通知キー照合画面に戻り、古い通知キーを入力して「OK」をクリックする")
def enter_old_key(world: World) -> None:
    world.driver.enter_key(world.keys[0], first_screen=True)


@when("古い通知キーを新しい通知キー照合画面で入力して「OK」をクリックする")
def enter_old_key_where_the_new_one_is_asked(world: World) -> None:
    world.driver.enter_key(world.keys[0])


@when(parsers.parse("誤った通知キーを{times:d}回入力する"))
def enter_wrong_keys(world: World, times: int) -> None:
    for _ in range(times):
        world.driver.enter_key("000000000000" if not world.keys
                               or world.keys[-1] != "000000000000" else "111111111111")


@when(parsers.parse("通知キーに \"{typed}\" と入力して「OK」を{times:d}回クリックする"))
def enter_typed_key(world: World, typed: str, times: int) -> None:
    for _ in range(times):
        world.driver.enter_key(typed)


# もし: お客様情報変更 and 権限設定 ------------------------------------------------------------
@when(parsers.parse("主IDがお客様情報変更で \"{label}\" に \"{value}\" を入力して「確認」をクリックする"))
def confirm_one(world: World, label: str, value: str) -> None:
    world.driver.confirm_information({label: value})


@when(parsers.parse("主IDがお客様情報変更で \"{label}\" に \"{char}\" を{count:d}文字入力して「確認」をクリックする"))
def confirm_repeated(world: World, label: str, char: str, count: int) -> None:
    world.typed_in = label
    world.driver.confirm_information({label: char * count})


@when(parsers.parse("主IDがお客様情報変更で \"{label}\" を空にして「確認」をクリックする"))
def confirm_emptied(world: World, label: str) -> None:
    world.typed_in = label
    world.driver.confirm_information({label: ""})


@when(parsers.parse("主IDがお客様情報変更で連絡先メールアドレスに{count:d}文字のアドレスを入力して"
                     "「確認」をクリックする"))
def confirm_long_email(world: World, count: int) -> None:
    email = "a" * (count - len("@example.com")) + "@example.com"
    world.driver.confirm_information({"連絡先メールアドレス": email,
                                      "連絡先メールアドレス(確認)": email})


@when("主IDがお客様情報変更で次のように入力して「確認」をクリックする")
def confirm_table(world: World, datatable: list[list[str]]) -> None:
    world.driver.confirm_information(dict((row[0], row[1]) for row in datatable[1:]))


@when("「OK」をクリックする")
def ok(world: World) -> None:
    world.driver.ok()


@when(parsers.parse("\"{login_id}\" がお客様情報変更を開く"))
def open_information(world: World, login_id: str) -> None:
    world.driver.open_customer_information(login_id)


@when(parsers.parse("\"{login_id}\" が権限設定を開く"))
def open_permission_settings(world: World, login_id: str) -> None:
    world.driver.open_permission_settings(login_id)


def register_sub_id(world: World, main: str, login_id: str) -> None:
    world.driver.register_sub_id(main, sub_id_form(login_id))
    world.passwords[login_id] = SUB_PASSWORD
    world.emails[login_id] = sub_id_form(login_id)["email"]


@when(parsers.parse("\"{main}\" が権限設定の「新規追加」で副ID \"{login_id}\" を登録する"))
def add_sub_id_of(world: World, main: str, login_id: str) -> None:
    register_sub_id(world, main, login_id)


@when(parsers.re(r"主IDが権限設定の「新規追加」で副ID \"(?P<login_id>[^\"]+)\" を(?P<without>担当者なしで)?入力して「確認」をクリックする"))
def confirm_new_sub_id(world: World, login_id: str, without: str | None) -> None:
    form = sub_id_form(login_id) | ({"person_in_charge": ""} if without else {})
    world.passwords[login_id] = SUB_PASSWORD
    world.driver.confirm_new_sub_id(form)


@when("主IDが権限設定の「新規追加」で何も入力せずに「確認」をクリックする")
def confirm_empty_sub_id(world: World) -> None:
    world.driver.confirm_new_sub_id({key: "" for key in sub_id_form()})


@when(parsers.parse("主IDが副ID \"{login_id}\" の \"{label}\" を \"{value}\" に変更する"))
def change_sub_id(world: World, login_id: str, label: str, value: str) -> None:
    world.driver.change_sub_id(login_id, label, value)


# ならば ---------------------------------------------------------------------------------------
# Each check's failure says, in the report's words, what the scenario expected and what the
# screen showed (an analyst reads it on features.html; pytest's diff follows, folded there).
def on_screen(world: World, kind: Kind, name: str) -> None:
    assert world.driver.kind() is kind, f"期待した画面: {name}\n実際の画面: {world.driver.title()}"


@then("トップページが表示される")
def top_page(world: World) -> None:
    on_screen(world, Kind.TOP, "トップページ")


@then(parsers.parse("ヘッダに「{header}」と表示される"))
def header(world: World, header: str) -> None:
    says(world.driver.header(), header, "ヘッダ")


@then(parsers.parse("通知キー照合画面に「{message}」と表示される"))
def key_screen(world: World, message: str) -> None:
    on_screen(world, Kind.KEY_ENTRY, "通知キー照合")
    says(world.driver.message(), message, within=True)


@then(parsers.parse("ログイン画面に「{message}」と表示される"))
def login_screen(world: World, message: str) -> None:
    on_screen(world, Kind.LOGIN, "ログイン")
    says(world.driver.message(), message)


@then(parsers.parse("エラー画面に「{message}」と表示される"))
def error_page(world: World, message: str) -> None:
    on_screen(world, Kind.ERROR, "エラー画面")
    says(world.driver.message(), message)


@then(parsers.parse("「{message}」と表示される"))
def message_shown(world: World, message: str) -> None:
    says(world.driver.message(), message)


@then(parsers.parse("「{title}」画面が表示される"))
def confirmation_screen(world: World, title: str) -> None:
    on_screen(world, Kind.CONFIRMATION, title)
    says(world.driver.title(), title, "画面")


@then(parsers.parse("確認画面の \"{label}\" は \"{shown}\" と表示される"))
def confirmation_line(world: World, label: str, shown: str) -> None:
    assert f"{label}: {shown}" in world.driver.confirmation_lines()


@then(parsers.re(r"(?:\"(?P<login_id>[^\"]+)\" の)?お客様情報の \"(?P<label>[^\"]+)\" は \"(?P<value>[^\"]+)\" (?:である|のままである)"))
def information_value(world: World, label: str, value: str, login_id: str | None) -> None:
    assert world.driver.information(login_id, label) == value


@then(parsers.parse("\"{label}\" のエラー「{message}」が表示される"))
def one_error(world: World, label: str, message: str) -> None:
    assert [(e.label, e.message) for e in world.driver.errors()] == [(label, message)]


@then("次のエラーが表示される")
def errors_table(world: World, datatable: list[list[str]]) -> None:
    expected = sorted(tuple(row) for row in datatable[1:])
    assert sorted((e.label, e.message) for e in world.driver.errors()) == expected


@then(parsers.parse("入力した \"{label}\" の \"{value}\" は保持されている"))
def input_kept(world: World, label: str, value: str) -> None:
    assert world.driver.kept(label) == value


@then(parsers.parse("入力は{outcome}"))
def accepted_or_not(world: World, outcome: str) -> None:
    accepted = world.driver.kind() is Kind.CONFIRMATION
    assert accepted == (outcome == "受け付けられる"), world.driver.title()
    if not accepted:
        errors = world.driver.errors()
        assert len(errors) == 1 and errors[0].rule in ("CI-2", None)  # a browser shows no rule
        says(errors[0].label, world.typed_in, "エラーの項目")


@then(parsers.parse("\"{email}\" に \"{sender}\" から12桁の通知キーが届く"))
def key_mail(world: World, email: str, sender: str) -> None:
    mail = world.mailbox.messages(email)[-1]
    assert sender in mail["From"]
    assert re.fullmatch(r"\d{12}", world.read_key(email))


def key_mails(world: World, email: str) -> list[Any]:
    """The key mails to ``email`` (a notice of a change is no key)."""
    return [m for m in world.mailbox.messages(email) if is_key_mail(m)]


@then(parsers.parse("\"{email}\" には通知キーのメールが届いていない"))
def no_key_mail(world: World, email: str) -> None:
    assert key_mails(world, email) == []


@then(parsers.parse("メールの有効期限は日本時間で「{expiry}」と表示される"))
def mail_expiry(world: World, expiry: str) -> None:
    assert f"有効期限: {expiry} (日本時間)" in world.mailbox.messages()[-1].get_content()


@then(parsers.parse("\"{email}\" に届いた通知キーは2通で、新しいキーは古いキーと異なる"))
def two_different_keys(world: World, email: str) -> None:
    keys = [key_in(m) for m in key_mails(world, email)]
    assert len(keys) == 2 and keys[0] != keys[1]
    world.keys = keys


@then(parsers.parse("\"{email}\" に届いた通知キーは{count:d}通である"))
def key_count(world: World, email: str, count: int) -> None:
    assert len(key_mails(world, email)) == count


@then(parsers.parse("\"{email}\" に「{subject}」が届く"))
def mail_with_subject(world: World, email: str, subject: str) -> None:
    assert any(subject in m["Subject"] for m in world.mailbox.messages(email))


@then(parsers.parse("\"{email}\" に届いた「{subject}」は1通で、本文に次の内容が記載されている"))
def one_notice_saying(world: World, email: str, subject: str, datatable: list[list[str]]) -> None:
    notices = [m for m in world.mailbox.messages(email) if subject in m["Subject"]]
    says(len(notices), 1, f"「{subject}」の通数")
    body = notices[0].get_content().split("お心当たりのない場合")[0]  # (then the footer)
    says(body.splitlines(), [row[0] for row in datatable[1:]], "お知らせの本文")


@then(parsers.parse("\"{email}\" にはメールが届いていない"))
def no_mail(world: World, email: str) -> None:
    says([m["Subject"] for m in world.mailbox.messages(email)], [], "届いたメール")


@then("保存ファイルに通知キーとパスワードは含まれない")
def nothing_in_clear(world: World) -> None:
    data = b"".join(p.read_bytes() for p in world.store.parent.glob(world.store.name + "*"))
    assert world.emails["main01"].encode() in data  # the file does hold the events
    for secret in [*world.keys, PASSWORD]:
        assert secret.encode() not in data


@then(parsers.parse("通知キー照合画面から開く連絡先は「{route}」である"))
def contact(world: World, route: str) -> None:
    assert world.driver.contact().splitlines()[-1] == route


@then(parsers.re(r"権限設定の一覧に \"(?P<login_id>[^\"]+)\" (?P<shown>が表示される|は表示されない)"))
def listed(world: World, login_id: str, shown: str) -> None:
    assert (login_id in world.driver.listed_sub_ids()) == (shown == "が表示される")


@then(parsers.re(r"\"(?P<main>[^\"]+)\" の副ID 新規登録画面に \"(?P<label>[^\"]+)\" (?P<shown>が表示される|は表示されない)"))
def field_shown(world: World, main: str, label: str, shown: str) -> None:
    assert (label in world.driver.new_sub_id_labels(main)) == (shown == "が表示される")


@then("お客様情報変更は次の項目を表示するだけで、入力欄はない")
def shown_not_editable(world: World, datatable: list[list[str]]) -> None:
    says(world.driver.shown_only(world.driver.mains()[0]), dict(datatable[1:]), "入力欄のない項目")


@then(parsers.parse("副ID \"{login_id}\" の \"{label}\" は \"{value}\" である"))
def sub_id_value(world: World, login_id: str, label: str, value: str) -> None:
    assert world.driver.sub_id_information(login_id, label) == value


@then(parsers.parse("副ID \"{login_id}\" の設定は次のとおりである"))
def sub_id_values(world: World, login_id: str, datatable: list[list[str]]) -> None:
    """SB-5's items, each with its value (a new sub ID's: each item's first choice)."""
    shown = {label: world.driver.sub_id_information(login_id, label) for label, _ in datatable[1:]}
    says(shown, dict(datatable[1:]), "設定")


# 監査 (D-16) ----------------------------------------------------------------------------------
@when("監査人がこのストアを検証する", target_fixture="audited")
def audit_this_store(world: World) -> tuple[Result, bytes]:
    assert isinstance(world.driver, ServiceDriver)
    world.driver.app.close()  # the application stops; the auditor reads the file it left
    before = world.store.read_bytes()
    return CliRunner().invoke(main, ["verify"], env={"BS_SQLITE_PATH": str(world.store)}), before


@then(parsers.parse("検証は「{last}」で終わり、ストアは1バイトも変わらない"))
def audited_clean(world: World, audited: tuple[Result, bytes], last: str) -> None:
    result, before = audited
    assert result.exit_code == 0 and result.output.splitlines()[-1] == last, result.output
    assert world.store.read_bytes() == before


@when(parsers.parse("監査人が{what}を検証する"), target_fixture="audited")
def audit_what_is_not_a_store(world: World, what: str) -> tuple[Result, bytes]:
    """D-16's three: a file that is no database, another program's database, an empty one."""
    other = world.store.parent / f"other-{what}.sqlite3"
    if what == "データベースでないファイル":
        other.write_text("メモ")
    else:
        with contextlib.closing(sqlite3.connect(other)) as db:
            if what == "ほかのプログラムのデータベース":
                db.execute("CREATE TABLE invoices (number TEXT, amount INTEGER)")
            else:
                assert what == "空のデータベース", what
            db.commit()
    before = other.read_bytes()
    result = CliRunner().invoke(main, ["verify"], env={"BS_SQLITE_PATH": str(other)})
    assert other.read_bytes() == before  # (read only: not even tables made)
    return result, before


@then(parsers.parse("監査は1行「{words}」で答え、終了コードは{code:d}である"))
def audit_refused(audited: tuple[Result, bytes], words: str, code: int) -> None:
    result, _ = audited
    assert result.exit_code == code and words in result.output
    assert len(result.output.strip().splitlines()) == 1
