"""The steps of features/portal.feature: a person at a real browser (Chromium through
Playwright) on the served portal, reading keys from the mailbox as they would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import freezegun
import pytest

pytest.register_assert_rewrite("tests.portal_fixtures")

from playwright.sync_api import Page, Response, expect  # noqa: E402
from pytest_bdd import given, parsers, scenarios, then, when  # noqa: E402

from tests.portal_fixtures import Camera, Served  # noqa: E402
from tests.story import PASSWORD, duration  # noqa: E402

pytest_plugins = ["tests.portal_fixtures"]

scenarios("portal.feature")


@attrs.define
class Person:
    """Who sits at the browser: the portal they use, their login ID, what they saw."""

    portal: Served
    tab: Page
    camera: Camera
    login_id: str = ""
    session_ids: list[str] = attrs.Factory(list)
    urls: list[str] = attrs.Factory(list)
    key_pages: list[Response] = attrs.Factory(list)
    key: str = ""
    log_start: int = 0
    mail_start: int = 0  # the mails in its portal's mailbox (shared by the session's tests)
    start: datetime = attrs.Factory(lambda: datetime.now(UTC))
    later: timedelta = timedelta()  # how far the story has moved the clock past its start

    def open(self, path: str) -> Response | None:
        """``path`` opened now, as the story's clock reads it (the portal, served in this
        process, reads the moved clock; the browser's own is its own)."""
        if not self.later:
            return self.tab.goto(self.portal.url + path)
        with freezegun.freeze_time(self.start + self.later, tick=True):
            return self.tab.goto(self.portal.url + path)

    def log_in(self, password: str = PASSWORD) -> None:
        self.open("/login")
        self.tab.get_by_label("ログインID").fill(self.login_id)
        self.tab.get_by_label("パスワード").fill(password)
        self.tab.get_by_role("button", name="ログイン").click()
        self.tab.wait_for_load_state()
        self.camera.shot("login")
        token = self.session_id()
        if token:
            self.session_ids.append(token)

    def session_id(self) -> str | None:
        cookie = self.cookie("bs_session")
        return str(cookie["value"]) if cookie else None

    def cookie(self, name: str) -> dict[str, object] | None:
        return next((dict(c) for c in self.tab.context.cookies() if c["name"] == name), None)


@pytest.fixture
def person(served: Served, tab: Page, camera: Camera) -> Person:
    seen = Person(served, tab, camera, log_start=len(served.logs.lines),
                  mail_start=len(served.mailbox.messages()))
    tab.on("request", lambda r: seen.urls.append(r.url))
    tab.on("response", lambda r: seen.key_pages.append(r) if r.url.endswith("/key") else None)
    return seen


# 前提 ---------------------------------------------------------------------------------------
@given("通知キーを「利用する」にした主IDがある")
def keyed_main(person: Person) -> None:
    person.login_id = person.portal.customer(notify_key=True)


@given("通知キーを「利用しない」主IDでログインしている")
def logged_in_main(person: Person) -> None:
    person.login_id = person.portal.customer()
    person.log_in()
    expect(person.tab.get_by_role("heading", name="トップページ")).to_be_visible()


@given("副IDでログインしている")
def logged_in_sub(person: Person) -> None:
    station = person.portal.station
    main = person.portal.customer()
    session = person.portal.session(main)
    person.login_id = f"{main}s1"
    form = {"login_id": person.login_id, "temporary_password": PASSWORD,
            "person_in_charge": "佐藤　花子", "phone": "0398765432",
            "email": f"{person.login_id}@example.co.jp"}
    station.submit_new_sub_id(session, station.confirm_new_sub_id(session, form))
    person.log_in()


# もし ---------------------------------------------------------------------------------------
@when("ログイン画面を開く")
def open_login(person: Person) -> None:
    person.open("/login")


@when(parsers.parse("リンク「{name}」をクリックする"))
def click_link(person: Person, name: str) -> None:
    person.tab.get_by_role("link", name=name).click()
    person.camera.shot("link")


@when(parsers.parse("ボタン「{name}」をクリックする"))
def click_button(person: Person, name: str) -> None:
    person.tab.get_by_role("button", name=name).click()
    person.camera.shot("button")


@when("その主IDでログインする")
def log_in(person: Person) -> None:
    person.log_in()


@when("メールで届いた通知キーを入力して「OK」をクリックする")
def enter_mailed_key(person: Person) -> None:
    person.key = person.portal.key(f"{person.login_id}@example.co.jp")
    person.tab.get_by_label("通知キー").fill(person.key)
    person.tab.get_by_role("button", name="OK").click()
    person.tab.wait_for_load_state()
    person.camera.shot("key")


@when(parsers.parse("標準メニューの「{item}」をクリックする"))
def menu_item(person: Person, item: str) -> None:
    menu = person.tab.get_by_role("navigation", name="標準メニュー")
    menu.get_by_role("link", name=item, exact=True).click()
    person.camera.shot("menu")


@when("トップページのURLを開く")
def open_top(person: Person) -> None:
    person.open("/top")


@when(parsers.re(r"(?:さらに)?(?P<wait>[0-9日分秒]+)後に、トップページのURLを開く"))
def open_top_later(person: Person, wait: str) -> None:
    """(Each wait counts from the one before: the story's clock only moves on.)"""
    person.later += duration(wait)
    person.open("/top")


@when(parsers.parse("URL「{path}」を開く"))
def open_url(person: Person, path: str) -> None:
    person.open(path)
    person.camera.shot("url")


@when(parsers.parse("お客様情報変更で「{label}」を「{choice}」にして「確認」をクリックする"))
def confirm_choice(person: Person, label: str, choice: str) -> None:
    person.open("/customer-information")
    person.tab.get_by_role("group", name=label).get_by_label(choice, exact=True).check()
    person.tab.get_by_role("button", name="確認").click()
    person.camera.shot("confirm")


@when("トークンを外して「OK」をクリックする")
def ok_without_token(person: Person) -> None:
    person.tab.locator("input[name=csrf]").evaluate_all("inputs => inputs.forEach(i => i.remove())")
    person.tab.get_by_role("button", name="OK").click()
    person.camera.shot("ok")


# ならば -------------------------------------------------------------------------------------
@then(parsers.parse("入力欄「{first}」「{second}」とボタン「{button}」が表示される"))
def inputs_shown(person: Person, first: str, second: str, button: str) -> None:
    for label in (first, second):
        expect(person.tab.get_by_label(label, exact=True)).to_be_visible()
    expect(person.tab.get_by_role("button", name=button)).to_be_visible()
    person.camera.shot("login-screen")


@then(parsers.parse("「{text}」と表示される"))
def text_shown(person: Person, text: str) -> None:
    expect(person.tab.get_by_text(text).first).to_be_visible()


@then(parsers.parse("画面「{title}」に「{message}」と表示される"))
def screen_says(person: Person, title: str, message: str) -> None:
    expect(person.tab.get_by_role("heading", name=title, exact=True)).to_be_visible()
    expect(person.tab.locator("main")).to_contain_text(message)
    person.camera.shot("screen")


@then(parsers.parse("画面「{title}」が表示され、「{text}」とは表示されない"))
def screen_without(person: Person, title: str, text: str) -> None:
    expect(person.tab.get_by_role("heading", name=title, exact=True)).to_be_visible()
    expect(person.tab.locator("main")).not_to_contain_text(text)
    person.camera.shot("screen")


@then(parsers.parse("画面「{title}」が表示される"))
def screen_shown(person: Person, title: str) -> None:
    expect(person.tab.get_by_role("heading", name=title, exact=True)).to_be_visible()
    person.camera.shot("screen")


@then(parsers.parse("ヘッダに「{text}」と表示される"))
def header_says(person: Person, text: str) -> None:
    expect(person.tab.locator("#account-header")).to_contain_text(text)


@then(parsers.parse("見出し「{first}」と「{second}」が表示される"))
def headings(person: Person, first: str, second: str) -> None:
    for name in (first, second):
        expect(person.tab.get_by_role("heading", name=name, exact=True)).to_be_visible()


@then("お知らせは日付と件名を、新しい順に並べている")
def notices_newest_first(person: Person) -> None:
    rows = person.tab.locator("section[aria-labelledby=notice-title] tbody tr")
    shown = [tuple(cell.strip() for cell in row.split("\t")) for row in rows.all_inner_texts()]
    assert len(shown) > 1 and all(len(row) == 2 and all(row) for row in shown), shown
    dates = [date for date, _ in shown]
    assert dates == sorted(dates, reverse=True), dates


@then("セッションのCookieは HttpOnly で SameSite=Lax である")
def cookie_flags(person: Person) -> None:
    cookie = person.cookie("bs_session")
    assert cookie and cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # served over plain HTTP here; Secure over HTTPS


@then("セッションIDは前回と異なる")
def new_session_id(person: Person) -> None:
    assert len(person.session_ids) == 2 and person.session_ids[0] != person.session_ids[1]


@then(parsers.parse("標準メニューに「{first}」と「{second}」が表示されない"))
def not_in_menu(person: Person, first: str, second: str) -> None:
    menu = person.tab.get_by_role("navigation", name="標準メニュー")
    expect(menu).to_be_visible()
    for name in (first, second):
        expect(menu.get_by_role("link", name=name, exact=True)).to_have_count(0)


@then(parsers.parse("主IDの通知キーの利用は「{setting}」のままである"))
def setting_kept(person: Person, setting: str) -> None:
    session = person.portal.session(person.login_id)
    assert person.portal.station.customer_information(session).by_label()["通知キーの利用"] == setting


@then(parsers.parse("通知キー照合画面の応答は「Cache-Control: {value}」である"))
def key_page_not_cached(person: Person, value: str) -> None:
    expect(person.tab.get_by_role("heading", name="通知キー照合")).to_be_visible()
    assert person.key_pages
    assert all(r.headers.get("cache-control") == value for r in person.key_pages)
    assert person.tab.locator("form[action='/key']").get_attribute("method") == "post"


@then("通知キーはどのURLにも現れない")
def key_not_in_urls(person: Person) -> None:
    assert person.key and person.urls
    assert not any(person.key in url for url in person.urls)
    assert all(r.headers.get("cache-control") == "no-store" for r in person.key_pages)


@then("通知キーとパスワードはサーバのログに現れない")
def key_not_logged(person: Person) -> None:
    lines = person.portal.logs.lines[person.log_start:]
    assert any("POST /key" in line for line in lines), "the server's log was not captured"
    assert not any(person.key in line or PASSWORD in line for line in lines)

