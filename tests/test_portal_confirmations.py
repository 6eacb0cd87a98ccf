"""The portal's 確認 and OK over HTTP (D-7, CI-4, SB-7, SB-8): what a confirmation shows the
browser and who may use it, where it shows, what an OK posted twice or after another change
does, and input too long for a cookie; against a real uvicorn server (tests/test_portal.py
has the screens themselves in the browser)."""

from __future__ import annotations

import base64
import random
import re
import zlib

import httpx
import pytest

pytest.register_assert_rewrite("tests.portal_fixtures")

from application import screens  # noqa: E402
from domain.fields import Kind, TextField  # noqa: E402
from domain.forms import CUSTOMER_INFORMATION  # noqa: E402
from portal.security import Signer  # noqa: E402
from tests.portal_fixtures import (  # noqa: E402
    SECRET,
    Served,
    confirmation_shown,
    csrf_of,
    http_log_in,
    sub_id_of,
)
from tests.story import PASSWORD as TEST_PASSWORD  # noqa: E402
from tests.story import sub_id_form  # noqa: E402

pytest_plugins = ["tests.portal_fixtures"]


def test_D_7_a_confirmation_shows_the_browser_nothing_and_only_its_session_can_use_it(
        served: Served, client: httpx.Client) -> None:
    """The 確認 screen's confirmation is sealed: no typed value and no digest of the
    temporary password (a browser could guess at it offline) can be read from it; altered,
    or sent from another session, its OK is refused and registers nothing."""
    login_id = served.customer()
    sub = f"{login_id}s9"

    def registered() -> list[str]:
        return [row.login_id for row in served.station.permission_settings(
            served.session(login_id))]

    assert http_log_in(client, login_id).headers["location"] == "/top"
    form = client.get("/permission-settings/new")
    shown = confirmation_shown(client, "/permission-settings/new", sub_id_form(
        sub, temporary_password=TEST_PASSWORD) | {"csrf": csrf_of(form.text)})
    found = re.search(r'name="confirmation" value="([^"]+)"', shown.text)
    assert found, shown.text
    sealed, token = found.group(1), csrf_of(shown.text)
    for seal, packed in ((sealed, False), (client.cookies["bs_confirm"], True)):  # OK's, 確認's
        opened = base64.urlsafe_b64decode(seal + "==")
        for secret in (b"scrypt$", sub.encode(), "佐藤".encode(), b"0398765432"):
            assert secret not in opened
        inside = Signer(SECRET)._sealer.decrypt(opened)  # what the portal's secret opens
        inside = zlib.decompress(inside) if packed else inside
        assert sub.encode() in inside and client.cookies["bs_session"].encode() not in inside
        assert TEST_PASSWORD.encode() not in inside
    altered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    refused = client.post("/permission-settings/new/ok", data={"confirmation": altered,
                                                                "csrf": token})
    assert 400 <= refused.status_code < 500 and sub not in registered()
    elsewhere = client.post("/customer-information/ok", data={"confirmation": sealed,
                                                              "csrf": token})
    assert elsewhere.status_code == 403 and sub not in registered()  # another form's OK
    with httpx.Client(base_url=served.url, follow_redirects=False) as other:
        assert http_log_in(other, login_id).headers["location"] == "/top"
        there = other.post("/permission-settings/new/ok", data={
            "confirmation": sealed,
            "csrf": csrf_of(other.get("/permission-settings/new").text)})
        assert 400 <= there.status_code < 500 and sub not in registered()
    client.post("/permission-settings/new/ok", data={"confirmation": sealed, "csrf": token})
    assert sub in registered()


def test_D_7_a_confirmation_screen_shows_in_its_own_session_only_and_goes_at_logout(
        served: Served, client: httpx.Client) -> None:
    """The 確認 screen's cookie (what its GET shows) is sealed for its session: sent from
    another session of the same main ID it shows nothing but the form; ログアウト drops it."""
    login_id = served.customer()
    http_log_in(client, login_id)
    shown = confirmation_shown(client, "/customer-information", {
        "department": "経理部", "csrf": csrf_of(client.get("/top").text)})
    assert "経理部" in shown.text
    sealed = client.cookies["bs_confirm"]
    with httpx.Client(base_url=served.url, follow_redirects=False) as other:
        assert http_log_in(other, login_id).headers["location"] == "/top"
        other.cookies.set("bs_confirm", sealed)
        there = other.get("/customer-information/confirm")
        assert there.status_code == 303 and there.headers["location"] == "/customer-information"
    client.post("/logout", data={"csrf": csrf_of(shown.text)})
    assert "bs_confirm" not in client.cookies


def test_CI_4_SB_8_a_confirmation_shows_only_on_its_own_forms_confirm_page(
        served: Served, client: httpx.Client) -> None:
    """The 確認 cookie opened at another form's 確認 URL shows that form instead: お客様情報
    is not a new sub ID's, and sub ID X's change is not shown as sub ID Y's (whose OK would
    change X)."""
    sub = sub_id_of(served)
    main = sub.removesuffix("s1")
    other = f"{main}s2"
    session = served.session(main)
    served.station.submit_new_sub_id(session, served.station.confirm_new_sub_id(
        session, sub_id_form(other, temporary_password=TEST_PASSWORD)))
    http_log_in(client, main)
    token = csrf_of(client.get("/top").text)
    confirmation_shown(client, "/customer-information", {"department": "経理部", "csrf": token})
    for elsewhere in ("/permission-settings/new", f"/permission-settings/sub-ids/{sub}"):
        there = client.get(f"{elsewhere}/confirm")
        assert there.status_code == 303 and there.headers["location"] == elsewhere
    url = f"/permission-settings/sub-ids/{sub}"
    confirmation_shown(client, url, {"person_in_charge": "鈴木　一郎", "phone": "0398765432",
                                     "email": f"{sub}@example.co.jp", "csrf": token})
    for elsewhere in (f"/permission-settings/sub-ids/{other}", "/permission-settings/new",
                      "/customer-information"):
        there = client.get(f"{elsewhere}/confirm")
        assert there.status_code == 303 and there.headers["location"] == elsewhere
    assert "鈴木　一郎" in client.get(f"{url}/confirm").text


def test_SB_8_ok_posted_twice_answers_done_twice_and_registers_once(
        served: Served, client: httpx.Client) -> None:
    """A double click or a resubmit of 副ID 新規登録's OK: both answers lead to 完了 (not
    「他の操作で内容が変更されました」), one sub ID is registered, nothing recorded twice."""
    login_id = served.customer()
    sub = f"{login_id}s8"
    assert http_log_in(client, login_id).headers["location"] == "/top"
    form = client.get("/permission-settings/new")
    shown = confirmation_shown(client, "/permission-settings/new", sub_id_form(sub) | {
        "csrf": csrf_of(form.text)})
    found = re.search(r'name="confirmation" value="([^"]+)"', shown.text)
    assert found, shown.text
    ok = {"confirmation": found.group(1), "csrf": csrf_of(shown.text)}
    first = client.post("/permission-settings/new/ok", data=ok)
    recorded = served.station.recorder.max_notification_id()
    second = client.post("/permission-settings/new/ok", data=ok)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"].startswith("/permission-settings/done?")
    assert second.headers["location"] == first.headers["location"]
    assert screens.SUB_ID_DONE in client.get(second.headers["location"]).text
    assert served.station.recorder.max_notification_id() == recorded
    assert [row.login_id for row in served.station.permission_settings(
        served.session(login_id))] == [sub]


def test_SB_8_ok_after_another_change_says_so_and_links_the_sub_ids_form(
        served: Served, client: httpx.Client) -> None:
    """「他の操作で内容が変更されました。もう一度表示してから変更してください。」: the page
    links the form it asks to show again (it offered only the top page and the menu); the
    OK records nothing."""
    sub = sub_id_of(served)
    main = sub.removesuffix("s1")
    assert http_log_in(client, main).headers["location"] == "/top"
    url = f"/permission-settings/sub-ids/{sub}"
    form = client.get(url)
    shown = confirmation_shown(client, url, {
        "person_in_charge": "鈴木　一郎", "phone": "0398765432",
        "email": f"{sub}@example.co.jp", "csrf": csrf_of(form.text)})
    found = re.search(r'name="confirmation" value="([^"]+)"', shown.text)
    assert found, shown.text
    assert f'<ul class="confirmation"><li id="login-id">ログインID: {sub}</li><li>' in shown.text
    session = served.session(main)  # meanwhile, another window changes the sub ID
    served.station.submit_sub_id_change(session, served.station.confirm_sub_id_change(
        session, sub, {"person_in_charge": "高橋　三郎", "phone": "0398765432",
                       "email": f"{sub}@example.co.jp"}))
    recorded = served.station.recorder.max_notification_id()
    refused = client.post("/permission-settings/change/ok", data={
        "confirmation": found.group(1), "csrf": csrf_of(shown.text)})
    assert refused.status_code == 409 and screens.CONFLICT in refused.text
    assert f'<a href="{url}">副ID 情報変更へ</a>' in refused.text
    assert "高橋　三郎" in client.get(url).text
    assert served.station.recorder.max_notification_id() == recorded


def test_D_7_a_full_confirmation_screen_fits_in_a_browsers_cookie(
        served: Served, client: httpx.Client) -> None:
    """A browser keeps a cookie of at most 4,096 bytes, or drops it: the 確認 screen's, with
    every お客様情報 field at its longest in characters that hardly compress (4 bytes each
    in UTF-8), stays inside (a field the form does not have is refused at 確認)."""
    rng = random.Random(7)

    def text(first: int, last: int, length: int) -> str:
        return "".join(chr(rng.randrange(first, last + 1)) for _ in range(length))
    kinds = {Kind.FULL_WIDTH: (0x20000, 0x2A6DF), Kind.KATAKANA: (0x30A1, 0x30F6)}
    form = {key: text(*kinds[field.kind], field.max_len)
            for key, field in CUSTOMER_INFORMATION.items()
            if isinstance(field, TextField) and field.kind in kinds}
    address = (f"{text(0x61, 0x7A, 64)}@{text(0x61, 0x7A, 63)}.{text(0x61, 0x7A, 63)}."
               f"{text(0x61, 0x7A, 58)}.jp")
    form |= {"email": address, "email_confirmation": address}
    http_log_in(client, served.customer())
    posted = client.post("/customer-information",
                         data=form | {"csrf": csrf_of(client.get("/top").text)})
    cookie = next(header for header in posted.headers.get_list("set-cookie")
                  if header.startswith("bs_confirm="))
    assert len(cookie.encode()) < 4096, len(cookie)
    shown = client.get(posted.headers["location"])
    assert shown.status_code == 200 and all(value in shown.text for value in form.values())


def test_CI_4_input_too_long_to_travel_in_a_cookie_is_answered_with_its_errors_directly(
        served: Served, client: httpx.Client) -> None:
    """A form refused at 確認 goes to its errors by a redirect, the input in the 確認
    cookie; input far past the fields' lengths would not fit a cookie (a browser drops
    it): that form is the POST's own answer (422), with its errors and nothing carried,
    nor the password typed beside them (D-7: a secret is typed again, never sent back)."""
    http_log_in(client, served.customer())
    token = csrf_of(client.get("/top").text)
    short = client.post("/customer-information", data={"address1": "x", "csrf": token})
    assert short.status_code == 303 and short.headers["location"] == "/customer-information?errors"
    rng = random.Random(3)
    long = "".join(chr(rng.randrange(0x20000, 0x2A6DF)) for _ in range(3000))
    answer = client.post("/customer-information", data={
        "address1": long, "download_file_password": "Secret-pass-9", "csrf": token})
    assert answer.status_code == 422 and "住所1は全角128文字以内で入力してください。" in answer.text
    assert "Secret-pass-9" not in answer.text
    assert not any(header.startswith("bs_confirm=")
                   for header in answer.headers.get_list("set-cookie"))


def test_CI_4_SB_7_accepted_input_always_reaches_its_confirmation_screen(
        served: Served, client: httpx.Client) -> None:
    """Spaces around a value are not part of it: お客様情報 padded with 14,000 of them is
    accepted, and its 確認 cookie holds the checked values, not the padding (it gave a 500
    when the input typed travelled too). A 確認 screen too big for any cookie (an
    organization named at great length, registered by the services) is the POST's own
    answer, as before."""
    main = served.customer()
    http_log_in(client, main)
    token = csrf_of(client.get("/top").text)
    rng = random.Random(5)
    padding = "".join(rng.choice("　    ") for _ in range(7000))  # (hardly compresses)
    shown = confirmation_shown(client, "/customer-information",
                               {"address2": f"{padding}二号館{padding}", "csrf": token})
    assert "二号館" in shown.text and len(client.cookies["bs_confirm"]) < 2000
    name = "".join(chr(rng.randrange(0x20000, 0x2A6DF)) for _ in range(1500))
    served.station.register_organization(served.session(main), name)
    answer = client.post("/permission-settings/new", data=sub_id_form(
        f"{main}o1", organization=name) | {"csrf": token})
    assert answer.status_code == 200 and "副ID 設定内容確認" in answer.text
    assert name in answer.text
    ok = re.search(r'name="confirmation" value="([^"]+)"', answer.text)
    assert ok and client.post("/permission-settings/new/ok", data={
        "confirmation": ok.group(1), "csrf": csrf_of(answer.text)}).status_code == 303
