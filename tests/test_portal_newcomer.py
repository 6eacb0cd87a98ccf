"""What a newcomer at a headless browser found: error pages that forgot the session, a
「戻る」 that dropped the input, a 完了 page that said 409 on reload, a back button from
完了 that asked to send the form again, and smaller things of navigation, accessibility
and narrow screens. Each test failed before its fix."""

from __future__ import annotations

import re

import httpx
import pytest

pytest.register_assert_rewrite("tests.portal_fixtures")

from playwright.sync_api import Browser, Page, expect  # noqa: E402

from application import screens  # noqa: E402
from application.messages import KEY_MAIL_SUBJECT  # noqa: E402
from application.outcomes import TopPage  # noqa: E402
from portal.app import create_app  # noqa: E402
from portal.config import PortalConfig  # noqa: E402
from portal.fields import RETYPE  # noqa: E402
from tests.portal_fixtures import (  # noqa: E402
    SECRET,
    Served,
    browser_login,
    csrf_of,
    fill_new_sub_id,
    http_log_in,
    running,
    sub_id_of,
)
from tests.story import PASSWORD, sub_id_form  # noqa: E402

pytest_plugins = ["tests.portal_fixtures"]


def log_in(tab: Page, login_id: str, password: str = PASSWORD) -> None:
    browser_login(tab, login_id, password)
    expect(tab.get_by_role("heading", name="トップページ", exact=True)).to_be_visible()


def new_sub_id_confirmed(tab: Page, served: Served, suffix: str) -> str:
    """A new customer's main ID logged in, on the 確認 of its new sub ID <main ID><suffix>;
    the main ID."""
    main = served.customer()
    log_in(tab, main)
    tab.goto("/permission-settings/new")
    fill_new_sub_id(tab, f"{main}{suffix}")
    tab.get_by_role("button", name="確認").click()
    expect(tab.get_by_role("heading", name="副ID 設定内容確認")).to_be_visible()
    return main


def expect_logged_in(tab: Page) -> None:
    """The session's header, 標準メニュー and ログアウト, and no way to the login form."""
    expect(tab.locator("#account-header")).to_contain_text("BSお客様番号")
    expect(tab.get_by_role("navigation", name="標準メニュー")).to_be_visible()
    expect(tab.get_by_role("button", name="ログアウト")).to_be_visible()
    expect(tab.get_by_role("link", name="ログイン画面へ")).to_have_count(0)
    expect(tab.get_by_role("link", name="トップページへ")).to_be_visible()


def test_CI_1_SB_2_a_refusal_and_a_missing_page_keep_the_session(
        tab: Page, served: Served) -> None:
    log_in(tab, sub_id_of(served))
    for url, status in (("/customer-information", 403), ("/permission-settings", 403),
                        ("/no-such-page", 404)):
        response = tab.goto(url)
        assert response is not None and response.status == status, url
        expect_logged_in(tab)
    tab.goto("/login")  # logged in: the top page, not a login form
    expect(tab.get_by_role("heading", name="トップページ", exact=True)).to_be_visible()


@pytest.mark.parametrize("page", ["/help/notes", "/help/forgot", "/help/key-mail"])
def test_SC_1_every_help_page_keeps_a_logged_in_readers_menu(
        tab: Page, served: Served, page: str) -> None:
    """/help/notes offered a logged-in reader only 「ログイン画面へ」, with no menu (the
    newcomer's probe); so did the login screen's two help pages (the portal tester's); a
    reader not logged in is still led to the login form."""
    log_in(tab, served.customer())
    tab.goto(page)
    expect_logged_in(tab)
    tab.context.clear_cookies()
    tab.goto(page)
    expect(tab.get_by_role("link", name="ログイン画面へ")).to_be_visible()
    expect(tab.get_by_role("navigation", name="標準メニュー")).to_have_count(0)


def test_CI_4_ok_on_an_outdated_confirmation_keeps_the_session_and_links_its_form(
        tab: Page, served: Served) -> None:
    main = served.customer()
    log_in(tab, main)
    tab.goto("/customer-information")
    tab.get_by_label("部署名", exact=True).fill("経理部")
    tab.get_by_role("button", name="確認").click()
    session = served.session(main)  # meanwhile, another window changes it
    served.station.submit_customer_information(session, served.station.confirm_customer_information(
        session, {"department": "営業部"}))
    with tab.expect_response(lambda r: r.request.method == "POST") as answer:
        tab.get_by_role("button", name="OK").click()
    assert answer.value.status == 409
    expect(tab.locator("#message")).to_have_text(screens.CONFLICT)
    expect_logged_in(tab)
    tab.get_by_role("link", name="お客様情報変更へ").click()  # what the message asks: show it again
    expect(tab.get_by_label("部署名", exact=True)).to_have_value("営業部")


def test_CI_4_back_on_the_confirmation_keeps_the_input_and_asks_for_the_password_again(
        tab: Page, served: Served) -> None:
    """The download-file password is not sent back: the form says so beside it (it came
    back empty, which means 変更しない, and nothing said so)."""
    log_in(tab, served.customer())
    tab.goto("/customer-information")
    tab.get_by_label("部署名", exact=True).fill("経理部")
    tab.get_by_role("group", name="通知キーの利用").get_by_label("利用する").check()
    password = tab.get_by_label("分析データダウンロードファイル用パスワード")
    password.fill("Secret123")
    tab.get_by_role("button", name="確認").click()
    expect(tab.get_by_role("heading", name="お客様情報変更確認")).to_be_visible()
    assert "Secret123" not in tab.content()
    tab.get_by_role("button", name="戻る").click()
    expect(tab.get_by_role("heading", name="お客様情報変更", exact=True)).to_be_visible()
    expect(tab.get_by_label("部署名", exact=True)).to_have_value("経理部")
    expect(tab.get_by_role("group", name="通知キーの利用").get_by_label("利用する")).to_be_checked()
    expect(password).to_have_value("")
    expect(password).to_have_accessible_description(re.compile(RETYPE))
    assert "Secret123" not in tab.content()
    tab.get_by_role("button", name="確認").click()  # not typed again: no note the next time
    tab.get_by_role("button", name="戻る").click()
    expect(tab.get_by_text(RETYPE)).to_have_count(0)


def test_SB_8_back_on_a_new_sub_ids_confirmation_keeps_the_input_but_not_the_password(
        tab: Page, served: Served) -> None:
    main = new_sub_id_confirmed(tab, served, "b1")
    assert "Temp0rary-pass" not in tab.content()
    tab.get_by_role("button", name="戻る").click()
    expect(tab.get_by_role("heading", name="副ID 新規登録")).to_be_visible()
    expect(tab.get_by_label("ログインID")).to_have_value(f"{main}b1")
    expect(tab.get_by_label("担当者")).to_have_value("佐藤　花子")
    expect(tab.get_by_label("登録先メールアドレス")).to_have_value(f"{main}b1@example.co.jp")
    expect(tab.get_by_label("仮パスワード")).to_have_value("")
    expect(tab.get_by_label("仮パスワード")).to_have_accessible_description(re.compile(RETYPE))
    assert "Temp0rary-pass" not in tab.content()


def test_CI_4_SB_8_a_completed_page_reloads_without_a_false_conflict(
        tab: Page, served: Served, client: httpx.Client) -> None:
    main = served.customer()
    log_in(tab, main)
    tab.goto("/customer-information")
    tab.get_by_label("部署名", exact=True).fill("経理部")
    tab.get_by_role("button", name="確認").click()
    tab.get_by_role("button", name="OK").click()
    expect(tab.locator("#message")).to_have_text("お客様情報変更を完了しました。")
    response = tab.reload()
    assert response is not None and response.status == 200
    expect(tab.locator("#message")).to_have_text("お客様情報変更を完了しました。")
    # A 完了 URL not earned by this session's OK says nothing was done: back to the form.
    http_log_in(client, main)
    answer = client.get(tab.url.split(served.url, 1)[1])
    assert answer.status_code == 303 and answer.headers["location"] == "/customer-information"


def test_CI_4_confirmation_reloads_and_back_from_completed_shows_the_form_not_a_resend(
        tab: Page, served: Served) -> None:
    """確認 answered a POST: a reload asked to send the form again, and the back button from
    完了 gave the browser's own 「フォームの再送信の確認」 page. Each POST now redirects:
    確認 reloads as itself, and back from 完了 shows the form with what was saved."""
    log_in(tab, served.customer())
    tab.goto("/customer-information")
    tab.get_by_label("部署名", exact=True).fill("経理部")
    tab.get_by_role("button", name="確認").click()
    expect(tab.get_by_role("heading", name="お客様情報変更確認")).to_be_visible()
    assert tab.url.endswith("/customer-information/confirm")
    reloaded = tab.reload()
    assert reloaded is not None and reloaded.status == 200 and reloaded.request.method == "GET"
    expect(tab.get_by_role("heading", name="お客様情報変更確認")).to_be_visible()
    tab.get_by_role("button", name="OK").click()
    expect(tab.locator("#message")).to_have_text("お客様情報変更を完了しました。")
    back = tab.go_back()
    assert back is not None and back.ok  # (a resend would be refused: ERR_CACHE_MISS)
    expect(tab.get_by_role("heading", name="お客様情報変更", exact=True)).to_be_visible()
    expect(tab.get_by_label("部署名", exact=True)).to_have_value("経理部")  # what was saved
    assert tab.url.endswith("/customer-information")


def test_CI_4_back_on_the_confirmation_is_a_page_the_browser_can_come_back_to(
        tab: Page, served: Served) -> None:
    """「戻る」 on 確認 answered a POST too: after it, 確認 again and the back button gave
    the browser's offer to resend. It is now a link to the form with the input typed."""
    log_in(tab, served.customer())
    tab.goto("/customer-information")
    tab.get_by_label("部署名", exact=True).fill("経理部")
    tab.get_by_role("button", name="確認").click()
    with tab.expect_request(lambda r: "/customer-information?back" in r.url) as went:
        tab.get_by_role("button", name="戻る").click()
    assert went.value.method == "GET"
    tab.get_by_label("部署名", exact=True).fill("総務部")
    tab.get_by_role("button", name="確認").click()
    expect(tab.get_by_role("heading", name="お客様情報変更確認")).to_be_visible()
    back = tab.go_back()
    assert back is not None and back.ok  # (a resend would be refused: ERR_CACHE_MISS)
    expect(tab.get_by_label("部署名", exact=True)).to_have_value("総務部")  # the latest 確認's
    forward = tab.go_forward()
    assert forward is not None and forward.ok
    expect(tab.locator("ul.confirmation")).to_contain_text("総務部")


def test_SB_7_a_form_sent_back_with_errors_is_a_page_the_browser_can_come_back_to(
        tab: Page, served: Served) -> None:
    """A mistake, fixed, 確認, then the back button: the form with its errors answered a
    POST, and the browser offered to resend it. It is now a redirect to the form with the
    errors, which reloads as itself; the password typed is asked for again, and says so."""
    main = served.customer()
    log_in(tab, main)
    tab.goto("/permission-settings/new")
    fill_new_sub_id(tab, f"{main}e1")
    tab.get_by_label("電話番号").fill("03-9876-5432")
    with tab.expect_response(lambda r: r.request.method == "POST") as answer:
        tab.get_by_role("button", name="確認").click()
    assert answer.value.status == 303
    error = tab.get_by_text("電話番号は半角数字9文字以上11文字以内、ハイフンなしで入力してください。").first
    expect(error).to_be_visible()
    reloaded = tab.reload()
    assert reloaded is not None and reloaded.ok and reloaded.request.method == "GET"
    expect(error).to_be_visible()
    expect(tab.get_by_label("担当者")).to_have_value("佐藤　花子")
    expect(tab.get_by_label("仮パスワード")).to_have_value("")
    expect(tab.get_by_label("仮パスワード")).to_have_accessible_description(re.compile(RETYPE))
    tab.get_by_label("電話番号").fill("0398765432")
    tab.get_by_label("仮パスワード").fill("Temp0rary-pass")
    tab.get_by_role("button", name="確認").click()
    expect(tab.get_by_role("heading", name="副ID 設定内容確認")).to_be_visible()
    back = tab.go_back()
    assert back is not None and back.ok  # (a resend would be refused: ERR_CACHE_MISS)
    expect(tab.get_by_role("heading", name="副ID 新規登録")).to_be_visible()


def test_SB_8_back_from_a_sub_ids_completed_page_shows_its_form_not_a_resend(
        tab: Page, served: Served) -> None:
    main = new_sub_id_confirmed(tab, served, "h1")
    tab.get_by_role("button", name="OK").click()
    expect(tab.locator("#message")).to_have_text(screens.SUB_ID_DONE)
    back = tab.go_back()
    assert back is not None and back.ok
    expect(tab.get_by_role("heading", name="副ID 新規登録")).to_be_visible()
    expect(tab.get_by_label("ログインID")).to_have_value("")  # a new one: registered once
    tab.goto(f"/permission-settings/sub-ids/{main}h1")
    tab.get_by_label("担当者").fill("高橋　三郎")
    tab.get_by_role("button", name="確認").click()
    expect(tab.get_by_role("heading", name="副ID 設定内容確認")).to_be_visible()
    assert tab.url.endswith(f"/permission-settings/sub-ids/{main}h1/confirm")
    expect(tab.locator("#login-id")).to_have_text(f"ログインID: {main}h1")
    tab.get_by_role("button", name="OK").click()
    expect(tab.locator("#message")).to_have_text(screens.SUB_ID_DONE)
    back = tab.go_back()
    assert back is not None and back.ok
    expect(tab.get_by_label("担当者")).to_have_value("高橋　三郎")
    assert [row.person_in_charge for row in served.station.permission_settings(served.session(main))
            if row.login_id == f"{main}h1"] == ["高橋　三郎"]


def test_SB_8_a_sub_id_change_names_its_login_id_and_ends_back_at_permission_settings(
        tab: Page, served: Served) -> None:
    sub = sub_id_of(served)
    log_in(tab, sub.removesuffix("s1"))
    tab.goto("/permission-settings")
    tab.get_by_role("link", name=f"{sub} を変更").click()
    tab.get_by_label("メモ").fill("経理担当")
    tab.get_by_role("button", name="確認").click()
    expect(tab.get_by_role("heading", name="副ID 設定内容確認")).to_be_visible()
    expect(tab.locator("main #login-id")).to_have_text(f"ログインID: {sub}")
    tab.get_by_role("button", name="OK").click()
    expect(tab.locator("#message")).to_have_text("ログインユーザ情報変更を完了しました。")
    tab.reload()
    expect(tab.locator("#message")).to_have_text("ログインユーザ情報変更を完了しました。")
    tab.get_by_role("link", name="権限設定へ戻る").click()
    expect(tab.get_by_role("heading", name="権限設定", exact=True)).to_be_visible()


def test_D_9_a_wrong_password_keeps_the_login_id_typed_never_the_password(
        tab: Page, served: Served) -> None:
    login_id = served.customer()
    tab.goto("/login")
    tab.get_by_label("ログインID").fill(login_id)
    tab.get_by_label("パスワード").fill("Wrong-pass-123")
    tab.get_by_role("button", name="ログイン").click()
    expect(tab.locator("#message")).to_have_text(screens.LOGIN_FAILED)
    expect(tab.get_by_label("ログインID")).to_have_value(login_id)
    expect(tab.get_by_label("パスワード")).to_have_value("")
    expect(tab.get_by_label("パスワード")).to_be_focused()
    assert "Wrong-pass-123" not in tab.content()
    tab.get_by_label("パスワード").fill(PASSWORD)
    tab.get_by_role("button", name="ログイン").click()
    expect(tab.get_by_role("heading", name="トップページ", exact=True)).to_be_visible()


def test_a_skip_link_the_current_menu_item_and_focus_where_typing_starts(
        tab: Page, served: Served) -> None:
    tab.goto("/login")
    expect(tab.get_by_label("ログインID")).to_be_focused()
    log_in(tab, served.customer())
    tab.goto("/customer-information")
    menu = tab.get_by_role("navigation", name="標準メニュー")
    expect(menu.get_by_role("link", name="お客様情報変更")).to_have_attribute(
        "aria-current", "page")
    expect(menu.locator("[aria-current]")).to_have_count(1)
    tab.goto("/permission-settings/new")  # a page beneath an item: still that item's
    expect(menu.get_by_role("link", name="権限設定")).to_have_attribute("aria-current", "page")
    tab.goto("/customer-information")
    tab.keyboard.press("Tab")  # the first stop: past the header and menu
    skip = tab.get_by_role("link", name="本文へ移動")
    expect(skip).to_be_focused()
    skip.press("Enter")
    expect(tab.locator("main")).to_be_focused()


def test_D_13_the_login_form_answers_in_japanese_not_with_the_browsers_validation(
        tab: Page) -> None:
    tab.goto("/login")
    assert tab.locator("form.login").get_attribute("novalidate") is not None
    with tab.expect_navigation():
        tab.get_by_role("button", name="ログイン").click()  # both fields empty
    expect(tab.locator("#message")).to_have_text(screens.LOGIN_INCOMPLETE)


def test_the_favicon_is_no_404(client: httpx.Client) -> None:
    assert client.get("/favicon.ico").status_code in (200, 204)


def test_on_a_narrow_screen_the_menu_stacks_above_the_content(
        tab: Page, served: Served) -> None:
    tab.set_viewport_size({"width": 390, "height": 844})
    log_in(tab, served.customer())
    tab.wait_for_load_state()  # its stylesheet too: a layout measured before is unstyled
    menu = tab.get_by_role("navigation", name="標準メニュー").bounding_box()
    main = tab.locator("main").bounding_box()
    assert menu and main
    assert menu["y"] + menu["height"] <= main["y"] + 1, (menu, main)
    assert main["width"] >= 300, main


def test_on_a_narrow_screen_the_development_mailbox_and_its_mails_fit_the_width(
        chromium: Browser, served: Served) -> None:
    """At a phone's 390 px the mailbox's mails stack, one a box, each subject on its own
    width (three columns squeezed it to a word a line), and a mail's long lines wrap:
    nothing is wider than the screen."""
    served.station.log_in(served.customer(notify_key=True), PASSWORD)  # a key mail at least
    with running(create_app(served.station, PortalConfig(SECRET, served.mailbox.folder))
                 ) as url:
        context = chromium.new_context(base_url=url, locale="ja-JP",
                                       viewport={"width": 390, "height": 844})
        try:
            tab = context.new_page()
            tab.goto("/dev/mailbox")
            assert tab.evaluate("document.documentElement.scrollWidth") <= 390
            subject = tab.get_by_role("link", name=KEY_MAIL_SUBJECT, exact=True).first
            box = subject.bounding_box()
            assert box and box["width"] >= 300, box
            subject.click()
            expect(tab.locator("#mail-body")).to_contain_text("通知キー: ")
            tab.wait_for_load_state()  # its stylesheet too (measured before, the mail ran wide)
            assert tab.evaluate("document.documentElement.scrollWidth") <= 390
        finally:
            context.close()


def test_D_13_the_login_forms_token_still_works_after_a_redirect(
        served: Served, client: httpx.Client) -> None:
    """Logged in, /login leads to the top page; a login form posted from an older tab is
    still answered (D-12: the new login ends the old session)."""
    first = served.customer()
    http_log_in(client, first)
    assert client.get("/login").headers["location"] == "/top"
    token = csrf_of(client.get("/top").text)
    answer = client.post("/login", data={"login_id": served.customer(), "password": PASSWORD,
                                         "csrf": token})
    assert answer.headers["location"] == "/top"


def test_LG_8_the_key_screens_help_says_a_sub_id_asks_its_main_ids_person(
        tab: Page, served: Served) -> None:
    sub = sub_id_of(served)
    main = served.session(sub.removesuffix("s1"))
    served.station.submit_sub_id_change(main, served.station.confirm_sub_id_change(
        main, sub, {"notify_key": "利用する"}))
    assert isinstance(served.station.log_in(sub, PASSWORD), TopPage)  # first: no key (LG-4)
    tab.goto("/login")
    tab.get_by_label("ログインID").fill(sub)
    tab.get_by_label("パスワード").fill(PASSWORD)
    tab.get_by_role("button", name="ログイン").click()
    expect(tab.get_by_role("heading", name="通知キー照合")).to_be_visible()
    tab.get_by_role("link", name="通知キーのメールが届かない場合").click()
    expect(tab.get_by_role("heading", name="通知キーのメールが届かない場合")).to_be_visible()
    expect(tab.locator("main #contact")).to_have_text(
        f"{screens.KEY_NOT_RECEIVED}\n副IDの場合：主IDの担当者")  # the manual's: no name, to
    main_person = served.station.customer_information(main).by_label()["連絡先担当姓名"]  # one who has
    expect(tab.locator("main")).not_to_contain_text(main_person)  # shown only a password
    tab.context.clear_cookies()  # the same page in a browser with no attempt: no one's
    tab.goto("/help/key-mail")
    expect(tab.locator("main #contact")).to_have_count(0)
    expect(tab.get_by_text("副IDの場合：主IDの担当者")).to_be_visible()


def test_SC_4_the_login_screen_says_a_logout_and_a_session_that_is_gone(
        tab: Page, served: Served, client: httpx.Client) -> None:
    """After ログアウト, and after 確認 in a tab whose session another tab's ログアウト
    ended, the login screen came bare: the input was gone and nothing said why."""
    log_in(tab, served.customer())
    other = tab.context.new_page()
    other.goto("/customer-information")
    tab.get_by_role("button", name="ログアウト").click()
    expect(tab.locator("#login-notice")).to_have_text(screens.LOGGED_OUT)
    other.get_by_role("button", name="確認").click()
    expect(other.get_by_role("heading", name="ログイン")).to_be_visible()
    expect(other.locator("#login-notice")).to_have_text(screens.SESSION_ENDED)
    first_visit = client.get("/top")  # (no session ever: the login screen, saying nothing)
    assert first_visit.headers["location"] == "/login"
    assert "login-notice" not in client.get("/login").text


def test_CI_4_on_a_phone_the_errors_of_a_form_sent_back_are_on_the_screen(
        tab: Page, served: Served) -> None:
    """At 375×667 the page came back scrolled to its top, the error summary below the
    menu, out of sight, and the focus on the page's body."""
    tab.set_viewport_size({"width": 375, "height": 667})
    log_in(tab, served.customer())
    tab.goto("/customer-information")
    tab.locator("#f-contact_name").fill("")
    tab.get_by_role("button", name="確認").click()
    summary = tab.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()


def test_on_a_phone_the_sub_ids_of_permission_settings_fit_the_width(
        tab: Page, served: Served) -> None:
    """Five columns with a long address ran to 545 px on a 375 px screen, 「通知キーの利用」
    a character a line; each sub ID is now a box, each value after its column's name."""
    tab.set_viewport_size({"width": 375, "height": 667})
    main = served.customer()
    session = served.session(main)
    form = sub_id_form(f"{main}s1", email="misaki.tanaka@accounting.example-corp.co.jp")
    served.station.submit_new_sub_id(session, served.station.confirm_new_sub_id(session, form))
    log_in(tab, main)
    tab.goto("/permission-settings")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 375
    row = tab.locator("table.sub-ids tbody tr").first
    expect(row).to_contain_text("misaki.tanaka@accounting.example-corp.co.jp")
    label = tab.evaluate("getComputedStyle(document.querySelector("
                         "'table.sub-ids td[data-label]'), '::before').content")
    assert label == '"ログインID" ": "' or label.startswith('"ログインID'), label


def test_on_a_phone_a_text_box_and_its_focus_ring_stay_within_the_column(tab: Page) -> None:
    tab.set_viewport_size({"width": 375, "height": 667})
    tab.goto("/login")
    box = tab.get_by_label("ログインID").bounding_box()
    main = tab.locator("main").bounding_box()
    assert box and main and box["x"] + box["width"] <= main["x"] + main["width"] + 0.5, (box, main)


def test_SB_5_the_organizations_note_describes_its_choices(tab: Page, served: Served) -> None:
    """The note under 所属組織 stood apart from its radio group: a screen reader read the
    choices without it."""
    log_in(tab, served.customer())
    tab.goto("/permission-settings/new")
    group = tab.get_by_role("group", name="※ 所属組織")
    expect(group).to_have_accessible_description(re.compile("^組織設定メニューで登録された組織"))
