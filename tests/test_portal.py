"""The portal over HTTP: the manual's screens in a real browser (Debian's Chromium through
Playwright), and headers, cookies and CSRF through httpx, against a real uvicorn server."""

from __future__ import annotations

import base64
import html
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

pytest.register_assert_rewrite("tests.portal_fixtures")

from playwright.sync_api import Page, expect  # noqa: E402

from application import screens  # noqa: E402
from application.adapters.mailbox import MailboxFolder, read  # noqa: E402
from application.bootstrap import store_settings  # noqa: E402
from application.outcomes import Refusal, TopPage  # noqa: E402
from application.samples import INFORMATION, MAIN_ID, PASSWORD  # noqa: E402
from domain.accounts import Customer  # noqa: E402
from domain.forms import Plan  # noqa: E402
from domain.policy import LoginPolicy  # noqa: E402
from domain.portal_sessions import IDLE_TIMEOUT  # noqa: E402
from portal.app import create_app  # noqa: E402
from portal.config import PortalConfig  # noqa: E402
from portal.fields import RETYPE  # noqa: E402
from tests.conftest import build, stored_bytes  # noqa: E402
from tests.portal_fixtures import (  # noqa: E402
    SECRET,
    Camera,
    Served,
    async_login,
    browser_login,
    confirm_then_ok,
    confirmation_shown,
    csrf_of,
    fill_new_sub_id,
    fresh_shots_folder,
    http_log_in,
    in_process,
    shots_root,
    sub_id_of,
)
from tests.story import PASSWORD as TEST_PASSWORD  # noqa: E402
from tests.story import losing_every_race, sub_id_form  # noqa: E402

pytest_plugins = ["tests.portal_fixtures"]


def test_SC_3_the_login_screen_and_its_two_help_links(tab: Page, camera: Camera) -> None:
    tab.goto("/login")
    expect(tab.locator("html")).to_have_attribute("lang", "ja")
    expect(tab.get_by_label("ログインID")).to_be_visible()
    expect(tab.get_by_label("パスワード")).to_have_attribute("type", "password")
    expect(tab.get_by_role("button", name="ログイン")).to_be_visible()
    camera.shot("login", docs="login.png")
    tab.get_by_role("link", name="ログインID/パスワード忘れ、パスワード失効でお困りの方").click()
    expect(tab.get_by_text("主IDの場合：オペレータ担当").first).to_be_visible()
    expect(tab.get_by_text("副IDの場合：主IDの担当者").first).to_be_visible()
    camera.shot("forgot")
    tab.goto("/login")
    tab.get_by_role("link", name="ご利用上の注意").click()
    expect(tab.get_by_role("heading", name="ご利用上の注意")).to_be_visible()
    expect(tab.get_by_text("通知キーの有効期限は10分間となります。", exact=False)).to_be_visible()
    d14 = LoginPolicy()  # the portal's (the notes say what is enforced)
    minutes, limit = int(d14.address_window.total_seconds() // 60), d14.address_failure_limit
    expect(tab.get_by_text(f"同じ接続元（IPアドレス）から{minutes}分間に{limit}回ログインに失敗すると",
                           exact=False)).to_be_visible()
    expect(tab.get_by_text(f"{int(IDLE_TIMEOUT.total_seconds() // 60)}分間操作がない場合は",
                           exact=False)).to_be_visible()
    camera.shot("notes")
    tab.goto("/login")  # a failed login's page offers the form again, with both links
    tab.get_by_label("ログインID").fill("nobody01")
    tab.get_by_label("パスワード").fill("wrong-password")
    tab.get_by_role("button", name="ログイン").click()
    expect(tab.get_by_role("alert")).to_have_text(screens.LOGIN_FAILED)
    for link in ("ログインID/パスワード忘れ、パスワード失効でお困りの方", "ご利用上の注意"):
        expect(tab.get_by_role("link", name=link)).to_be_visible()


def test_LG_3_the_demo_story_turn_the_key_on_log_out_log_in_with_the_mailed_key(
        tab: Page, camera: Camera, served: Served) -> None:
    """The issue's 'done': demo01 turns the notify key on (確認 → OK), logs out, logs in
    again, reads the key mail, enters the key and sees the top page with 前回ログイン."""
    browser_login(tab, MAIN_ID, PASSWORD)
    expect(tab.get_by_role("heading", name="トップページ")).to_be_visible()
    camera.shot("first-login")
    tab.get_by_role("link", name="お客様情報変更").click()
    expect(tab.get_by_role("heading", name="お客様情報変更")).to_be_visible()
    expect(tab.get_by_role("group", name="通知キーの利用").get_by_label("利用しない")).to_be_checked()
    tab.get_by_role("group", name="通知キーの利用").get_by_label("利用する").check()
    camera.shot("customer-information")
    confirm_then_ok(tab, camera, "お客様情報変更確認", "通知キーの利用: 利用する",
                    "お客様情報変更を完了しました。")
    camera.shot("completed")
    tab.get_by_role("button", name="ログアウト").click()
    expect(tab.get_by_role("heading", name="ログイン")).to_be_visible()
    browser_login(tab, MAIN_ID, PASSWORD)
    expect(tab.get_by_role("heading", name="通知キー照合")).to_be_visible()
    expect(tab.get_by_text(screens.KEY_PROMPT, exact=True)).to_be_visible()
    camera.shot("key-entry", docs="key-entry.png")
    tab.get_by_label("通知キー").fill(served.key(INFORMATION["email"]))
    tab.get_by_role("button", name="OK").click()
    expect(tab.get_by_role("heading", name="トップページ")).to_be_visible()
    header = tab.locator("#account-header")
    expect(header).to_contain_text("デモ用ユーザ01様 (BSお客様番号: BS5928544) 前回ログイン: 20")
    expect(tab.get_by_role("heading", name="ご利用プラン")).to_be_visible()
    expect(tab.get_by_role("heading", name="お知らせ")).to_be_visible()
    camera.shot("top-page", docs="top-page.png")


def test_SC_2_top_page_shows_plan_and_notices_newest_first(tab: Page, served: Served) -> None:
    browser_login(tab, served.customer(Plan.DOWNLOAD))
    expect(tab.get_by_role("cell", name="データダウンロード")).to_be_visible()
    dates = tab.locator("section[aria-labelledby=notice-title] tbody td:first-child")
    shown = dates.all_inner_texts()
    assert shown and shown == sorted(shown, reverse=True)


def test_SC_1_every_menu_item_leads_somewhere_and_unmodelled_ones_say_so(
        tab: Page, camera: Camera, served: Served) -> None:
    browser_login(tab, served.customer())
    menu = tab.get_by_role("navigation", name="標準メニュー")
    expect(menu.get_by_role("link")).to_have_text([  # in the manual's order
        "請求・内訳の確認", "ダイヤル通話履歴の参照", "その他レポートの参照", "ダウンロード", "権限設定",
        "パスワード変更", "お客様情報変更", "ドコモ明細登録・変更", "ご登録情報照会", "トップページ"])
    for label in ("請求・内訳の確認", "ダイヤル通話履歴の参照", "その他レポートの参照", "ダウンロード",
                  "パスワード変更", "ドコモ明細登録・変更", "ご登録情報照会"):
        menu.get_by_role("link", name=label, exact=True).click()
        expect(tab.get_by_role("heading", name=label)).to_be_visible()
        expect(tab.locator("#not-modelled")).to_contain_text("モデル化していません")
    camera.shot("not-modelled")
    for label, heading in (("権限設定", "権限設定"), ("お客様情報変更", "お客様情報変更")):
        menu.get_by_role("link", name=label, exact=True).click()
        expect(tab.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def test_CI_4_every_field_error_at_once_beside_its_field_and_the_input_kept(
        tab: Page, camera: Camera, served: Served) -> None:
    login_id = served.customer()
    browser_login(tab, login_id)
    tab.goto("/customer-information")
    tab.get_by_label("連絡先電話番号").fill("03-1234-5678")
    tab.get_by_label("※ 連絡先担当姓名", exact=True).fill("")
    tab.get_by_label("部署名", exact=True).fill("経理部")
    tab.get_by_role("button", name="確認").click()
    phone = tab.get_by_label("連絡先電話番号")
    expect(phone).to_have_value("03-1234-5678")
    expect(tab.get_by_label("部署名", exact=True)).to_have_value("経理部")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(tab.locator("#error-phone")).to_have_text(
        "連絡先電話番号は半角数字9文字以上11文字以内、ハイフンなしで入力してください。")
    assert "error-phone" in (phone.get_attribute("aria-describedby") or "")
    expect(tab.locator("#error-contact_name")).to_have_text("連絡先担当姓名を入力してください。")
    expect(tab.get_by_role("alert")).to_contain_text("2件")
    camera.shot("errors")
    information = served.station.customer_information(served.session(login_id)).by_label()
    assert information["部署名"] == "総務部"  # nothing recorded (CI-4)


@pytest.mark.parametrize("plan", [Plan.STANDARD, Plan.DOWNLOAD])
def test_SB_8_a_sub_id_registered_and_changed_on_each_plan(
        tab: Page, camera: Camera, served: Served, plan: Plan) -> None:
    login_id = served.customer(plan)
    sub = f"{login_id}s1"
    browser_login(tab, login_id)
    tab.get_by_role("link", name="権限設定").click()
    tab.get_by_role("link", name="新規追加").click()
    expect(tab.get_by_role("heading", name="副ID 新規登録")).to_be_visible()
    standard = plan is Plan.STANDARD
    expect(tab.get_by_role("group", name="所属組織")).to_have_count(1 if standard else 0)
    expect(tab.get_by_role("group", name="操作権限設定")).to_have_count(1 if standard else 0)
    fill_new_sub_id(tab, sub)
    tab.get_by_role("group", name="通知キーの利用").get_by_label("利用する").check()
    if standard:
        tab.get_by_role("group", name="請求金額照会").get_by_label("利用権限なし").check()
    camera.shot("new-sub-id")
    confirm_then_ok(tab, camera, "副ID 設定内容確認", "仮パスワード: ********",
                    "ログインユーザ情報変更を完了しました。")
    tab.get_by_role("link", name="権限設定へ戻る").click()  # back where the change began
    expect(tab.get_by_role("cell", name=sub, exact=True)).to_be_visible()
    tab.get_by_role("link", name=f"{sub} を変更").click()
    expect(tab.get_by_role("heading", name="副ID 情報変更")).to_be_visible()
    expect(tab.get_by_role("group", name="操作権限設定")).to_have_count(1 if standard else 0)
    tab.get_by_label("メモ").fill("経理担当")
    tab.get_by_role("button", name="確認").click()
    tab.get_by_role("button", name="OK").click()
    expect(tab.get_by_text("ログインユーザ情報変更を完了しました。", exact=True)).to_be_visible()
    camera.shot("changed")
    info = served.station.sub_id_information(served.session(login_id), sub).by_label()
    assert info["メモ"] == "経理担当" and info["通知キーの利用"] == "利用する"


def test_SB_7_the_new_sub_id_form_has_the_manual_s_help(tab: Page, served: Served) -> None:
    """The manual shows 「副ID 新規登録 ヘルプ」: its help link opens, beside the form (what
    was typed stays), the manual's sentences on sub IDs and their notify key (SB-1, SB-3,
    SB-6), which offer a main ID the form; 副ID 情報変更 has none, as in the manual."""
    sub = sub_id_of(served)
    browser_login(tab, sub.removesuffix("s1"))
    tab.goto("/permission-settings/new")
    tab.get_by_label("担当者").fill("佐藤　花子")
    with tab.context.expect_page() as opened:
        tab.get_by_role("link", name="ヘルプ", exact=True).click()
    helped = opened.value
    expect(helped.get_by_role("heading", name="副ID 新規登録 ヘルプ")).to_be_visible()
    for said in ("副IDでも「通知キーの利用」が可能です。副IDの登録情報更新は権限設定から行ってください。",
                 "ダウンロードプランの場合、「所属組織」「操作権限設定」は非表示となります。",
                 "通知キーが有効になった状態でのログインは、主IDと同じです。",
                 screens.MAIN_ID_ONLY_PERMISSIONS):
        expect(helped.get_by_text(said, exact=True)).to_be_visible()
    expect(helped.locator("header")).to_contain_text("前回ログイン")  # (the session's header)
    expect(helped.get_by_role("link", name="副ID 新規登録へ戻る")).to_be_visible()
    helped.close()
    expect(tab.get_by_label("担当者")).to_have_value("佐藤　花子")
    tab.goto(f"/permission-settings/sub-ids/{sub}")
    expect(tab.get_by_role("heading", name="副ID 情報変更")).to_be_visible()
    expect(tab.get_by_role("link", name="ヘルプ", exact=True)).to_have_count(0)
    tab.context.clear_cookies()
    browser_login(tab, sub)  # (a sub ID is offered the top page, not a form it cannot use)
    tab.goto("/help/sub-ids")
    expect(tab.get_by_role("link", name="トップページへ")).to_be_visible()
    expect(tab.get_by_role("link", name="副ID 新規登録へ戻る")).to_have_count(0)


def test_SB_5_a_sub_ids_change_refused_keeps_what_was_typed_beside_its_error(
        tab: Page, served: Served) -> None:
    """As お客様情報変更 does (CI-4): the stored 電話番号 had come back over the one typed."""
    main = served.customer()
    session, sub = served.session(main), f"{main}s5"
    served.station.submit_new_sub_id(session, served.station.confirm_new_sub_id(
        session, sub_id_form(sub)))
    browser_login(tab, main)
    tab.goto(f"/permission-settings/sub-ids/{sub}")
    tab.get_by_label("※ 電話番号", exact=True).fill("0311112222")
    tab.get_by_label("※ 担当者", exact=True).fill("")
    tab.get_by_role("button", name="確認").click()
    expect(tab.locator("#error-summary")).to_contain_text("（1件）")  # (担当者 empty)
    expect(tab.get_by_label("※ 電話番号", exact=True)).to_have_value("0311112222")


def test_SB_7_a_login_id_taken_between_confirm_and_ok_gives_the_form_again_with_its_error(
        tab: Page, served: Served) -> None:
    """What 確認 accepted no longer holds at OK: the form again, its error beside the field,
    the input kept but the password; nothing recorded."""
    login_id = served.customer()
    sub = f"{login_id}s7"
    browser_login(tab, login_id)
    tab.goto("/permission-settings/new")
    fill_new_sub_id(tab, sub)
    tab.get_by_role("button", name="確認").click()
    expect(tab.get_by_role("heading", name="副ID 設定内容確認")).to_be_visible()
    other = served.session(served.customer())  # meanwhile another customer takes the ID
    served.station.submit_new_sub_id(other, served.station.confirm_new_sub_id(
        other, sub_id_form(sub, temporary_password=TEST_PASSWORD)))
    recorded = served.station.recorder.max_notification_id()
    with tab.expect_response(lambda r: r.url.endswith("/permission-settings/new/ok")) as ok:
        tab.get_by_role("button", name="OK").click()
    assert ok.value.status == 422
    expect(tab.get_by_role("heading", name="副ID 新規登録")).to_be_visible()
    expect(tab.get_by_text("このログインIDは既に使用されています。")).to_be_visible()
    expect(tab.get_by_label("ログインID")).to_have_value(sub)
    expect(tab.get_by_label("担当者")).to_have_value("佐藤　花子")
    expect(tab.get_by_label("仮パスワード")).to_have_value("")
    expect(tab.get_by_label("仮パスワード")).to_have_accessible_description(re.compile(RETYPE))
    assert served.station.recorder.max_notification_id() == recorded
    assert sub not in served.station.get(served.session(login_id).customer_id,
                                         Customer).sub_ids


def test_CI_1_SB_2_a_sub_id_sees_neither_screen_and_is_refused_by_url(
        tab: Page, camera: Camera, served: Served) -> None:
    browser_login(tab, sub_id_of(served))
    expect(tab.get_by_role("heading", name="トップページ")).to_be_visible()
    menu = tab.get_by_role("navigation", name="標準メニュー")
    expect(menu.get_by_role("link", name="お客様情報変更")).to_have_count(0)
    expect(menu.get_by_role("link", name="権限設定")).to_have_count(0)
    expect(menu.get_by_role("link", name="パスワード変更")).to_have_count(1)
    for url, message in (("/customer-information", screens.MAIN_ID_ONLY_INFORMATION),
                         ("/permission-settings", screens.MAIN_ID_ONLY_PERMISSIONS),
                         ("/permission-settings/new", screens.MAIN_ID_ONLY_PERMISSIONS)):
        response = tab.goto(url)
        assert response is not None and response.status == 403
        expect(tab.locator("#message")).to_have_text(message)
    camera.shot("refused")


def test_SC_4_after_logout_a_page_behind_the_login_shows_the_login_screen(
        tab: Page, served: Served, client: httpx.Client) -> None:
    login_id = served.customer()
    browser_login(tab, login_id)
    token = next(c["value"] for c in tab.context.cookies() if c["name"] == "bs_session")
    tab.get_by_role("button", name="ログアウト").click()
    tab.goto("/top")
    expect(tab.get_by_role("heading", name="ログイン")).to_be_visible()
    client.cookies.set("bs_session", token)  # the old cookie, replayed
    response = client.get("/top")
    assert response.status_code == 303 and response.headers["location"] == "/login?ended=1"


def test_D_12_a_new_session_id_at_each_login_in_httponly_samesite_cookies(
        served: Served, client: httpx.Client) -> None:
    login_id = served.customer()
    first = http_log_in(client, login_id)
    assert first.headers["location"] == "/top"
    cookie = next(v for k, v in first.headers.multi_items()
                  if k == "set-cookie" and v.startswith("bs_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    token = client.cookies["bs_session"]
    client.cookies.delete("bs_session")
    http_log_in(client, login_id)
    assert client.cookies["bs_session"] != token
    assert b"bs_session" not in stored_bytes(served.store)
    assert token.encode() not in stored_bytes(served.store)  # only its digest is kept


def test_D_12_the_cookie_is_an_opaque_id_and_rights_come_from_the_store(
        served: Served, client: httpx.Client) -> None:
    """The browser holds 256 random bits and nothing else: not the login ID, not whether
    it is a main ID. The session's account, and its kind, are read from the store."""
    login_id = served.customer()
    http_log_in(client, login_id)
    token = client.cookies["bs_session"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token) and login_id not in token
    member = served.station.member(token)
    assert member is not None
    assert member.session.login_id == login_id and member.session.is_main_id
    assert client.get("/permission-settings").status_code == 200
    client.cookies.set("bs_session", token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert client.get("/permission-settings").headers["location"] == "/login?ended=1"


def test_D_13_a_changing_form_without_its_session_token_changes_nothing(
        served: Served, client: httpx.Client) -> None:
    login_id = served.customer()
    http_log_in(client, login_id)
    form = {"notify_key": "利用する"}
    assert client.post("/customer-information", data=form).status_code == 403
    assert client.post("/customer-information", data=form | {"csrf": "0" * 64}).status_code == 403
    with httpx.Client(base_url=served.url) as other:  # a token of another session
        http_log_in(other, served.customer())
        foreign = csrf_of(other.get("/top").text)
    assert client.post("/customer-information", data=form | {"csrf": foreign}).status_code == 403
    assert client.post("/logout", data={}).status_code == 403  # (and says so)
    assert client.get("/top").status_code == 200  # logout without the token did not log out
    session = served.session(login_id)
    assert served.station.customer_information(session).by_label()["通知キーの利用"] == "利用しない"
    token = csrf_of(client.get("/top").text)
    shown = confirmation_shown(client, "/customer-information", form | {"csrf": token})
    assert shown.status_code == 200 and "お客様情報変更確認" in shown.text


def test_LG_5_and_D_10_the_notes_say_the_policy_s_spans_as_a_person_reads_them(
        tmp_path: Path, mailbox: MailboxFolder) -> None:
    """A key valid 90 s read 「1分間」 (its minutes cut to a whole number), as the key mail
    had read 「1.5分間」."""
    policy = LoginPolicy(validity=timedelta(seconds=90), key_window=timedelta(minutes=45))
    station = build(store_settings("sqlite", tmp_path / "notes.sqlite3"), mailbox, policy=policy)

    @in_process(create_app(station, PortalConfig(SECRET)), "http://portal.example")
    async def _(reader: httpx.AsyncClient) -> None:
        notes = (await reader.get("/help/notes")).text
        assert "通知キーの有効期限は90秒間となります。" in notes
        assert "1つのログインIDにつき45分間に5通までです。" in notes

    station.close()


def test_CI_2_the_customer_s_number_name_and_its_reading_are_shown_in_the_manual_s_order(
        served: Served, client: httpx.Client) -> None:
    assert http_log_in(client, served.customer()).headers["location"] == "/top"
    page = client.get("/customer-information").text
    shown = re.search(r'<dl class="shown">(.*?)</dl>', page, flags=re.S)
    assert shown and re.findall(r"<dt>(.*?)</dt>", shown.group(1)) == [
        "BSお客様番号", "会社名", "会社名フリガナ"]


def test_SB_4_a_sub_ID_of_another_customer_or_of_none_is_no_page_of_this_one(
        served: Served, client: httpx.Client) -> None:
    """Another customer's sub ID, and a login ID of nobody, typed into the address bar:
    the page says it is no sub ID here, with a 404."""
    others = sub_id_of(served)
    assert http_log_in(client, served.customer()).headers["location"] == "/top"
    for login_id in (others, "nobody01"):
        page = client.get(f"/permission-settings/sub-ids/{login_id}")
        assert page.status_code == 404 and "この副IDは登録されていません。" in page.text


def test_D_13_the_login_form_needs_its_token_too(served: Served, client: httpx.Client) -> None:
    client.get("/login")
    response = client.post("/login", data={"login_id": served.customer(),
                                           "password": TEST_PASSWORD})
    assert response.status_code == 403 and "bs_session" not in client.cookies


def test_D_14_twenty_failed_logins_from_one_address_then_no_password_is_checked(
        served: Served) -> None:
    app = create_app(served.station, PortalConfig(SECRET))
    login_id = served.customer()

    @in_process(app, "http://portal.example", "198.51.100.14")
    async def _(attacker: httpx.AsyncClient) -> None:
        for n in range(20):
            failed = await async_login(attacker, f"nobody{n}", "wrong-password")
            assert failed.headers["location"] == "/login/error"
            assert "ログインIDまたはパスワードが正しくありません。" in (
                await attacker.get("/login/error")).text
        refused = await async_login(attacker, login_id)  # the right password, unchecked
        assert refused.headers["location"] == "/login/error"  # a reload re-posts nothing
        waiting = await attacker.get("/login/error")
        assert waiting.status_code == 429
        assert "しばらく時間をおいてから再度ログインしてください。" in waiting.text
        assert f'value="{login_id}"' in waiting.text
        assert "bs_session" not in attacker.cookies

    @in_process(app, "http://portal.example", "198.51.100.15")
    async def _(neighbour: httpx.AsyncClient) -> None:
        assert (await async_login(neighbour, login_id)).headers["location"] == "/top"


def test_D_4_a_reload_after_a_wrong_key_enters_nothing(served: Served,
                                                      client: httpx.Client) -> None:
    """The wrong key's page comes by GET: reloading it, as a person does, is no new entry
    (five reloads of the POST's page would have locked the attempt)."""
    login_id = served.customer(notify_key=True)
    assert http_log_in(client, login_id).headers["location"] == "/key"
    token = csrf_of(client.get("/key").text)
    wrong = client.post("/key", data={"key": "000000000000", "csrf": token})
    for _ in range(6):  # reloads
        assert screens.KEY_WRONG in client.get(wrong.headers["location"]).text
    done = client.post("/key", data={"key": served.key(f"{login_id}@example.co.jp"),
                                     "csrf": token})
    assert done.headers["location"] == "/top"


def test_D_14_a_reload_of_a_failed_login_s_page_sends_nothing(served: Served,
                                                              client: httpx.Client) -> None:
    """The failed login's page comes by GET, with the login ID typed kept (never the
    password): 25 reloads, past D-14's twenty failures, check no password, and the right
    one then logs in. Another browser, without its sealed cookie, gets the login form."""
    login_id = served.customer()
    failed = http_log_in(client, login_id, "Wrong-pass-123")
    assert failed.status_code == 303 and failed.headers["location"] == "/login/error"
    assert "Wrong-pass-123" not in str(failed.headers)
    for _ in range(25):
        page = client.get("/login/error")
        assert page.status_code == 200 and screens.LOGIN_FAILED in page.text
        assert f'value="{login_id}"' in page.text and "Wrong-pass-123" not in page.text
    assert http_log_in(client, login_id).headers["location"] == "/top"
    assert client.get("/login/error").headers["location"] == "/top"  # logged in
    with httpx.Client(base_url=served.url, follow_redirects=False) as other:
        assert other.get("/login/error").headers["location"] == "/login"
        # A password typed into the login ID's field is offered again on the page, but the
        # cookie carrying it is sealed: not the text, not its base64.
        typed = "Secret-pass-42"
        http_log_in(other, typed, "")
        cookie = other.cookies["bs_login_error"]
        assert typed not in cookie and not any(  # nor its base64, at any of the 3 offsets
            base64.urlsafe_b64encode(pad + typed.encode()).decode()[4:-4] in cookie
            for pad in (b"", b"x", b"xx"))
        assert f'value="{typed}"' in other.get("/login/error").text


def test_LG_3_a_password_accepted_leaves_no_failed_login_page_to_go_back_to(
        served: Served, client: httpx.Client) -> None:
    """A wrong password, then the right one (the key page): 「戻る」 to /login/error gives
    the login form, not 「…正しくありません」 of a password since accepted (which would have
    the person log in again and mail another key, D-10). A key's error (expired, locked)
    offers the attempt's login ID again, as a password's does."""
    login_id = served.customer(notify_key=True)
    assert http_log_in(client, login_id, "Wrong-pass-123").headers["location"] == "/login/error"
    assert http_log_in(client, login_id).headers["location"] == "/key"
    assert client.get("/login/error").headers["location"] == "/login"
    token = csrf_of(client.get("/key").text)
    for n in range(5):  # D-4: the attempt is locked
        locked = client.post("/key", data={"key": f"{n:012d}", "csrf": token})
    assert locked.headers["location"] == "/login/error"
    page = client.get("/login/error").text
    assert screens.LOGIN_FAILED in page and f'value="{login_id}"' in page


def test_LG_1_LG_3_a_login_or_key_that_lost_every_race_says_to_try_again_and_records_nothing(
        served: Served, client: httpx.Client) -> None:
    """A login ID shared by many, pressed again and again: a 「ログイン」 that lost every race
    shows the failed login's page saying to try again, its login ID offered again; a key's
    「OK」 that did, 通知キー照合 asking for the key again. Nothing recorded, nothing mailed."""
    login_id = served.customer(notify_key=True)
    recorded, mails = (served.station.recorder.max_notification_id(),
                       len(served.mailbox.messages()))
    with losing_every_race(served.station):
        busy = http_log_in(client, login_id)
    assert busy.headers["location"] == "/login/error"
    page = client.get("/login/error").text
    assert screens.BUSY in page and f'value="{login_id}"' in page
    assert served.station.recorder.max_notification_id() == recorded
    assert len(served.mailbox.messages()) == mails
    assert http_log_in(client, login_id).headers["location"] == "/key"
    key_page = client.get("/key")
    recorded = served.station.recorder.max_notification_id()
    with losing_every_race(served.station):
        busy = client.post("/key", data={"key": served.key(f"{login_id}@example.co.jp"),
                                         "csrf": csrf_of(key_page.text)})
    assert re.fullmatch(r"/key\?busy=1\.[0-9a-f]{64}", busy.headers["location"])
    assert screens.KEY_BUSY in client.get(busy.headers["location"]).text
    assert screens.KEY_BUSY not in client.get("/key?busy=1").text  # (signed for the attempt)
    assert served.station.recorder.max_notification_id() == recorded
    done = client.post("/key", data={"key": served.key(f"{login_id}@example.co.jp"),
                                     "csrf": csrf_of(key_page.text)})
    assert done.headers["location"] == "/top"


def test_D_15_the_key_only_in_a_post_body_never_cached_nor_logged(
        served: Served, client: httpx.Client) -> None:
    login_id = served.customer(notify_key=True)
    start = len(served.logs.lines)
    urls: list[str] = []
    client.event_hooks["request"] = [lambda r: urls.append(str(r.url))]
    assert http_log_in(client, login_id).headers["location"] == "/key"
    key_page = client.get("/key")
    assert key_page.headers["cache-control"] == "no-store"
    assert re.search(r'<form method="post" action="/key"', key_page.text)
    hidden = re.findall(r'type="hidden" name="(\w+)"', key_page.text)
    assert hidden == ["csrf"]  # no attempt id in the form
    key = served.key(f"{login_id}@example.co.jp")
    wrong = client.post("/key", data={"key": "000000000000", "csrf": csrf_of(key_page.text)})
    again = wrong.headers["location"]  # a reload of it enters nothing
    assert re.fullmatch(r"/key\?wrong=4\.[0-9a-f]{64}", again)  # (signed for the attempt)
    wrong = client.get(again)  # (4: the wrong keys the attempt still takes, D-4)
    assert wrong.headers["cache-control"] == "no-store"
    assert screens.key_error(Refusal.KEY_WRONG, 4) in wrong.text
    assert "あと4回誤るとこのログインは無効になります。" in wrong.text
    assert "あと" not in client.get("/key?wrong=1").text  # (typed, or another attempt's)
    assert "required" not in key_page.text  # an empty key: the server's words, not the browser's
    empty = client.post("/key", data={"key": "", "csrf": csrf_of(key_page.text)})
    assert empty.headers["location"].startswith("/key?digits=1.")  # (D-6: not counted, D-4)
    assert screens.NOT_A_KEY in client.get(empty.headers["location"]).text
    assert screens.NOT_A_KEY not in client.get("/key?digits=1").text
    done = client.post("/key", data={"key": key, "csrf": csrf_of(key_page.text)})
    assert done.headers["location"] == "/top" and done.headers["cache-control"] == "no-store"
    lines = served.logs.lines[start:]
    assert any("POST /key" in line for line in lines), "the server's log was not captured"
    for secret in (key, TEST_PASSWORD, client.cookies["bs_session"]):
        assert not any(secret in line for line in lines)
        assert not any(secret in url for url in urls)


def test_D_15_an_attempt_of_another_browser_cannot_be_used(
        served: Served, client: httpx.Client) -> None:
    login_id = served.customer(notify_key=True)
    http_log_in(client, login_id)
    with httpx.Client(base_url=served.url) as thief:
        token = csrf_of(thief.get("/login").text)
        thief.cookies.set("bs_attempt", client.cookies["bs_attempt"])
        key = served.key(f"{login_id}@example.co.jp")
        response = thief.post("/key", data={"key": key, "csrf": token})
        assert response.headers["location"] == "/login/error" and "bs_session" not in thief.cookies
        assert screens.KEY_UNUSABLE in thief.get("/login/error").text


def test_the_development_mailbox_is_absent_unless_enabled(
        served: Served, client: httpx.Client) -> None:
    assert client.get("/dev/mailbox").status_code == 404
    assert "開発用メールボックス" not in client.get("/login").text
    keyed = served.customer(notify_key=True)
    served.station.log_in(keyed, TEST_PASSWORD)  # a key mail in the mailbox at least

    @in_process(create_app(served.station, PortalConfig(SECRET, served.mailbox.folder)),
                "http://127.0.0.1:8000")
    async def _(dev: httpx.AsyncClient) -> None:
        listing = await dev.get("/dev/mailbox")
        assert listing.status_code == 200 and "通知キーのお知らせ" in listing.text
        name = re.search(r'href="/dev/mailbox/([^"]+)"', listing.text)
        assert name
        mail = await dev.get(f"/dev/mailbox/{name.group(1)}")
        assert "通知キー: " in mail.text and mail.headers["cache-control"] == "no-store"
        for path in ("/dev/mailbox", f"/dev/mailbox/{name.group(1)}"):  # by another name
            rebound = await dev.get(path, headers={"host": "attacker.example:8000"})
            assert rebound.status_code == 404 and "通知キー" not in rebound.text  # (DNS rebinding)
        for page in (listing, mail):  # the mail's time as the screens show times (JST)
            assert re.search(r"<td>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d</td>|"
                             r"<dd>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d</dd>", page.text)
            assert "+0900" not in page.text


def test_the_development_mailbox_lists_the_newest_mail_first_and_only_mails(
        served: Served, tmp_path: Path) -> None:
    """The README says to take the key from it: the first link is the newest key's, by the
    mail's number (the names' digits put mail 999,999 above 1,000,000). A file there that is
    no mail (its counter, .sequence) is no page."""
    served.station.log_in(served.customer(notify_key=True), TEST_PASSWORD)
    mail = served.mailbox.files()[-1].read_bytes()
    folder = tmp_path / "mailbox"
    folder.mkdir()
    numbers = [9, 10, 999_999, 1_000_000]
    for number in numbers:
        (folder / f"{number:06d}-0000abcd-x@example.co.jp.eml").write_bytes(mail)
    (folder / ".sequence").write_text("1000000")

    @in_process(create_app(served.station, PortalConfig(SECRET, folder)), "http://127.0.0.1:8000")
    async def _(dev: httpx.AsyncClient) -> None:
        listing = await dev.get("/dev/mailbox")
        links = re.findall(r'href="/dev/mailbox/([^"]+)"', listing.text)
        assert links == [f"{n:06d}-0000abcd-x%40example.co.jp.eml" for n in numbers[::-1]]
        assert (await dev.get("/dev/mailbox/.sequence")).status_code == 404
        gone = await dev.get("/dev/mailbox/000011-0000abcd-x@example.co.jp.eml")  # (no 500)
        assert gone.status_code == 404 and "メールが見つかりません。" in gone.text
        shown = (await dev.get(f"/dev/mailbox/{links[0]}")).text
        sent = read(served.mailbox.files()[-1])
        assert (f"<dt>差出人</dt><dd>{html.escape(str(sent['From']))}</dd><dt>宛先</dt>"
                f"<dd>{html.escape(str(sent['To']))}</dd>") in shown

    @in_process(create_app(served.station, PortalConfig(SECRET, folder)), "http://[::1]:8000")
    async def _(dev: httpx.AsyncClient) -> None:  # (serve --host ::1, as it allows)
        assert (await dev.get("/dev/mailbox")).status_code == 200


def test_errors_are_pages_in_japanese_never_a_traceback(client: httpx.Client,
                                                        tmp_path: Path) -> None:
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "ページが見つかりません。" in missing.text
    assert 'lang="ja"' in missing.text and "Traceback" not in missing.text
    station = build(store_settings("sqlite", tmp_path / "gone.sqlite3"),
                    MailboxFolder(tmp_path / "mailbox"))
    app = create_app(station, PortalConfig(SECRET))
    station.close()  # the store goes away under the portal: every read now fails

    async def steps(http: httpx.AsyncClient) -> None:
        http.cookies.set("bs_session", "x" * 43)
        broken = await http.get("/top")
        assert broken.status_code == 500 and 'lang="ja"' in broken.text
        assert "システムエラーが発生しました。" in broken.text
        assert "Traceback" not in broken.text and "Error" not in broken.text

    in_process(app, "http://portal.example", raise_errors=False)(steps)


def test_LG_1_the_whole_login_works_from_the_keyboard(tab: Page, served: Served) -> None:
    login_id = served.customer(notify_key=True)
    tab.goto("/login")
    expect(tab.locator("#login_id")).to_be_focused()  # autofocus: type at once
    tab.keyboard.type(login_id)
    tab.keyboard.press("Tab")
    tab.keyboard.type(TEST_PASSWORD)
    tab.keyboard.press("Enter")
    expect(tab.get_by_role("heading", name="通知キー照合")).to_be_visible()
    expect(tab.get_by_label("通知キー")).to_be_focused()  # autofocus
    tab.keyboard.type(served.key(f"{login_id}@example.co.jp"))
    tab.keyboard.press("Enter")
    expect(tab.get_by_role("heading", name="トップページ")).to_be_visible()


def test_every_input_has_a_label(tab: Page, served: Served) -> None:
    browser_login(tab, served.customer())
    for url in ("/login", "/customer-information", "/permission-settings/new"):
        tab.goto(url)
        for field in tab.locator("input:not([type=hidden])").all():
            labels = field.evaluate("e => e.labels.length")
            assert labels >= 1, f"an input without a label on {url}"


def test_LG_2_the_station_behind_the_portal_is_the_real_one(served: Served) -> None:
    """The portal's store is the application's: a login through it is a login there."""
    assert isinstance(served.station.log_in(served.customer(), TEST_PASSWORD), TopPage)


def test_D_12_logging_in_again_while_logged_in_ends_the_old_session(
        served: Served, client: httpx.Client) -> None:
    """A browser that holds a session logs in again (another login ID, with a key): the key
    entry works, the new session has a new id, and the old one has ended."""
    http_log_in(client, served.customer())
    old = client.cookies["bs_session"]
    client.cookies.delete("bs_browser")
    keyed = served.customer(notify_key=True)
    assert client.get("/login").headers["location"] == "/top"  # logged in: no login form
    token = csrf_of(client.get("/top").text)  # a form posted from an older tab
    assert client.post("/login", data={"login_id": keyed, "password": TEST_PASSWORD,
                                       "csrf": token}).headers["location"] == "/key"
    key_page = client.get("/key")
    done = client.post("/key", data={"key": served.key(f"{keyed}@example.co.jp"),
                                     "csrf": csrf_of(key_page.text)})
    assert done.headers["location"] == "/top"
    assert client.cookies["bs_session"] != old
    assert served.station.member(old) is None
    top = client.get("/top")
    assert "BSお客様番号" in top.text and "テスト商事様" in top.text
    member = served.station.member(client.cookies["bs_session"])
    assert member is not None and member.session.login_id == keyed


def test_LG_3_a_key_pasted_in_groups_or_typed_full_width_logs_in_in_the_browser(
        tab: Page, served: Served) -> None:
    """The field takes what a person pastes (12 digits in groups, spaces around): the
    browser cut a grouped key at 12 characters, a wrong entry towards D-4's lock."""
    for typed in (lambda key: f" {key[:4]} {key[4:8]} {key[8:]} ",
                  lambda key: key.translate(str.maketrans("0123456789", "０１２３４５６７８９"))):
        login_id = served.customer(notify_key=True)
        browser_login(tab, login_id)
        expect(tab.get_by_role("heading", name="通知キー照合")).to_be_visible()
        tab.get_by_label("通知キー", exact=True).fill(
            typed(served.key(f"{login_id}@example.co.jp")))
        tab.get_by_role("button", name="OK").click()
        expect(tab.get_by_role("heading", name="トップページ")).to_be_visible()
        tab.context.clear_cookies()


def test_the_browser_s_screenshots_go_where_go_report_out_says(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """(./go report --out FOLDER sets BS_SCREENSHOTS: FOLDER/screenshots, which the page reads.)"""
    monkeypatch.setenv("BS_SCREENSHOTS", str(tmp_path / "screenshots"))
    assert fresh_shots_folder("test_x[a b]") == tmp_path / "screenshots" / "test_x_a_b_"
    monkeypatch.delenv("BS_SCREENSHOTS")
    assert shots_root() == Path(__file__).resolve().parents[1] / "reports" / "screenshots"
