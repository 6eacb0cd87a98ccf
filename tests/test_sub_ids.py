"""Sub IDs and permission settings (SB-1..SB-9)."""

from __future__ import annotations

import pytest

from application import screens
from application.adapters.mailbox import MailboxFolder
from application.billing_station import BillingStation
from application.outcomes import ErrorPage, KeyEntry, Refusal, Refused, Session, TopPage
from application.screens import MAIN_ID_ONLY_PERMISSIONS, SUB_ID_DONE
from domain.fields import InvalidInput
from domain.forms import Plan
from tests.story import (
    SUB_PASSWORD,
    add_sub_id,
    first_login,
    log_in_with_key,
    new_sub_id_labels,
    onboard,
    sub_id_form,
)

PERMISSION_LABELS = ["請求金額照会", "番号別明細内訳", "通話明細内訳", "その他レポート",
                     "組織 + 利用用途", "編集内訳"]


def enable_sub_key(app: BillingStation, main: Session, login_id: str = "sub01") -> None:
    confirmation = app.confirm_sub_id_change(main, login_id, {"notify_key": "利用する"})
    assert screens.message(app.submit_sub_id_change(main, confirmation)) == SUB_ID_DONE


def test_SB_1_and_SB_9_a_sub_id_logs_in_with_its_own_key(
    app: BillingStation, mailbox: MailboxFolder
) -> None:
    main = onboard(app)
    add_sub_id(app, main)
    first_login(app, "sub01", SUB_PASSWORD)  # LG-4 holds for sub IDs too
    enable_sub_key(app, main)
    top = log_in_with_key(app, mailbox, "sub01", SUB_PASSWORD, "sub01@example.co.jp")
    assert isinstance(top, TopPage)
    assert screens.header(top).startswith("佐藤　花子様 (BSお客様番号: BS5928544) 前回ログイン: ")
    assert top.session.is_main_id is False
    assert not mailbox.messages("yamada@example.co.jp")  # the main ID's address gets nothing


def test_SB_2_only_the_main_id_uses_permission_settings(app: BillingStation) -> None:
    main = onboard(app)
    add_sub_id(app, main)
    sub = first_login(app, "sub01", SUB_PASSWORD)
    for use in (lambda: app.permission_settings(sub),
                lambda: app.confirm_new_sub_id(sub, sub_id_form("sub02")),
                lambda: app.confirm_sub_id_change(sub, "sub01", {"memo": "x"})):
        with pytest.raises(Refused) as refused:
            use()
        assert (screens.message(refused.value), refused.value.rule) == (
            MAIN_ID_ONLY_PERMISSIONS, "SB-2")


def test_SB_3_the_download_plan_may_create_sub_ids(app: BillingStation) -> None:
    main = onboard(app, plan=Plan.DOWNLOAD)
    add_sub_id(app, main)
    assert isinstance(app.log_in("sub01", SUB_PASSWORD), TopPage)


def test_SB_4_list_add_and_change(app: BillingStation) -> None:
    main = onboard(app)
    add_sub_id(app, main, "sub01")
    add_sub_id(app, main, "sub02", person_in_charge="鈴木")
    rows = app.permission_settings(main)
    assert [r.login_id for r in rows] == ["sub01", "sub02"]
    assert rows[1].person_in_charge == "鈴木" and rows[1].notify_key == "利用しない"
    confirmation = app.confirm_sub_id_change(main, "sub02", {"memo": "経理担当"})
    app.submit_sub_id_change(main, confirmation)
    assert app.sub_id_information(main, "sub02").by_label()["メモ"] == "経理担当"


def test_SB_5_sub_id_fields_permissions_and_organization(app: BillingStation) -> None:
    main = onboard(app)
    app.register_organization(main, "東京支店")
    add_sub_id(app, main)
    shown = app.sub_id_information(main, "sub01").by_label()
    assert shown["所属組織"] == "全組織" and shown["通知キーの利用"] == "利用しない"
    assert [shown[label] for label in PERMISSION_LABELS] == [
        "参照のみ", "参照・変更可能", "参照・変更可能", "参照・変更可能", "参照・変更可能",
        "参照・変更可能"]
    change = {"organization": "東京支店", "billing_inquiry": "利用権限なし", "call_breakdown": "参照のみ"}
    app.submit_sub_id_change(main, app.confirm_sub_id_change(main, "sub01", change))
    shown = app.sub_id_information(main, "sub01").by_label()
    assert (shown["所属組織"], shown["請求金額照会"], shown["通話明細内訳"]) == (
        "東京支店", "利用権限なし", "参照のみ")
    with pytest.raises(InvalidInput) as invalid:
        app.confirm_sub_id_change(main, "sub01", {
            "organization": "大阪支店", "edit_breakdown": "参照のみ", "phone": "", "email": "x"})
    assert [(e.label, e.rule) for e in invalid.value.errors] == [
        ("電話番号", "SB-5"), ("登録先メールアドレス", "SB-5"), ("所属組織", "SB-5"),
        ("編集内訳", "SB-5")]


def test_SB_6_download_plan_shows_no_organization_or_permissions(app: BillingStation) -> None:
    standard, download = onboard(app), onboard(app, "main02", Plan.DOWNLOAD, "BS0000002")
    assert "所属組織" in new_sub_id_labels(app, standard)
    assert set(PERMISSION_LABELS) <= set(new_sub_id_labels(app, standard))
    fields = new_sub_id_labels(app, download)
    assert "所属組織" not in fields and not set(PERMISSION_LABELS) & set(fields)
    with pytest.raises(InvalidInput) as invalid:
        app.confirm_new_sub_id(download, sub_id_form(organization="全組織", billing_inquiry="参照のみ"))
    assert [(e.label, e.rule) for e in invalid.value.errors] == [
        ("所属組織", "SB-6"), ("操作権限設定", "SB-6")]


def test_SB_7_new_sub_id_needs_its_fields_and_a_unique_login_id(app: BillingStation) -> None:
    main = onboard(app)
    assert new_sub_id_labels(app, main)[:8] == [  # (所属組織 where the manual shows it)
        "ログインID", "仮パスワード", "担当者", "電話番号", "登録先メールアドレス", "所属組織",
        "メモ", "通知キーの利用"]
    with pytest.raises(InvalidInput) as invalid:
        app.confirm_new_sub_id(main, sub_id_form("main01", temporary_password="", person_in_charge=""))
    assert {(e.label, e.rule) for e in invalid.value.errors} == {
        ("ログインID", "SB-7"), ("仮パスワード", "SB-7"), ("担当者", "SB-5")}


def test_SB_8_confirm_then_ok_says_done(app: BillingStation) -> None:
    main = onboard(app)
    confirmation = app.confirm_new_sub_id(main, sub_id_form("sub01", notify_key="利用する"))
    assert screens.title(confirmation) == "副ID 設定内容確認"
    assert "仮パスワード: ********" in screens.confirmation_lines(confirmation)
    assert app.permission_settings(main) == []  # nothing before OK
    assert screens.message(app.submit_new_sub_id(main, confirmation)) == SUB_ID_DONE
    assert app.permission_settings(main)[0].notify_key == "利用する"
    assert isinstance(app.log_in("sub01", SUB_PASSWORD), TopPage)  # first login: no key
    assert isinstance(app.log_in("sub01", SUB_PASSWORD), KeyEntry)


def test_SB_8_logins_between_confirm_and_ok_change_nothing_of_the_screen(
        app: BillingStation) -> None:
    """The sub ID logging in between its change's 確認 and OK, or the main ID between a
    new sub ID's, outdates nothing the screen showed: OK applies. A change does (CI-4)."""
    main = onboard(app)
    add_sub_id(app, main, "sub01")
    change = app.confirm_sub_id_change(main, "sub01", {"memo": "経理担当"})
    new = app.confirm_new_sub_id(main, sub_id_form("sub02"))
    assert isinstance(app.log_in("sub01", SUB_PASSWORD), TopPage)
    first_login(app)
    assert screens.message(app.submit_sub_id_change(main, change)) == SUB_ID_DONE
    assert screens.message(app.submit_new_sub_id(main, new)) == SUB_ID_DONE
    outdated = app.confirm_sub_id_change(main, "sub01", {"memo": "営業担当"})
    app.submit_sub_id_change(main, app.confirm_sub_id_change(main, "sub01", {"memo": "総務"}))
    with pytest.raises(Refused) as refused:
        app.submit_sub_id_change(main, outdated)
    assert screens.message(refused.value) == screens.CONFLICT
    assert app.sub_id_information(main, "sub01").by_label()["メモ"] == "総務"
    assert [row.login_id for row in app.permission_settings(main)] == ["sub01", "sub02"]


def test_SB_8_a_change_of_the_customers_information_outdates_no_new_sub_id(
        app: BillingStation) -> None:
    """The main ID changes 住所2 in another window between a new sub ID's 確認 and OK: that
    screen showed none of it, so OK registers the sub ID (no false conflict, no input lost)."""
    main = onboard(app)
    new = app.confirm_new_sub_id(main, sub_id_form("sub01"))
    app.submit_customer_information(main, app.confirm_customer_information(
        main, {"address2": "２階"}))
    assert screens.message(app.submit_new_sub_id(main, new)) == SUB_ID_DONE
    assert [row.login_id for row in app.permission_settings(main)] == ["sub01"]


def test_SB_8_ok_pressed_again_says_done_and_records_nothing_more(
        app: BillingStation) -> None:
    """The same confirmation handed in twice (a double click, a resubmit): the second OK
    finds the sub ID the first made and says 完了 again, recording nothing; neither
    「このログインIDは既に使用されています」 of that very sub ID nor a conflict that blames
    another operation for the user's own click."""
    main = onboard(app)
    confirmation = app.confirm_new_sub_id(main, sub_id_form("sub01"))
    app.submit_new_sub_id(main, confirmation)
    recorded = app.recorder.max_notification_id()
    assert screens.message(app.submit_new_sub_id(main, confirmation)) == SUB_ID_DONE
    assert app.recorder.max_notification_id() == recorded
    assert [row.login_id for row in app.permission_settings(main)] == ["sub01"]
    change = app.confirm_sub_id_change(main, "sub01", {"memo": "経理担当"})
    app.submit_sub_id_change(main, change)
    recorded = app.recorder.max_notification_id()
    assert screens.message(app.submit_sub_id_change(main, change)) == SUB_ID_DONE
    assert app.recorder.max_notification_id() == recorded


def test_SB_8_a_new_sub_id_confirmed_twice_registers_one_the_other_ok_conflicts(
        app: BillingStation) -> None:
    """Two 確認 of one new login ID (two windows): the first OK registers it; the second is
    not that sub ID's OK (its temporary password differs) and is refused as outdated."""
    main = onboard(app)
    first = app.confirm_new_sub_id(main, sub_id_form("sub01", memo="一つ目"))
    second = app.confirm_new_sub_id(main, sub_id_form("sub01", memo="二つ目"))
    app.submit_new_sub_id(main, first)
    recorded = app.recorder.max_notification_id()
    with pytest.raises(Refused) as refused:
        app.submit_new_sub_id(main, second)
    assert screens.message(refused.value) == screens.CONFLICT
    assert app.recorder.max_notification_id() == recorded
    assert app.sub_id_information(main, "sub01").by_label()["メモ"] == "一つ目"


@pytest.mark.parametrize(("label", "key"), [("担当者", "person_in_charge"), ("メモ", "memo")])
def test_SB_5_a_control_character_is_named_as_such_not_as_a_length(
    app: BillingStation, label: str, key: str
) -> None:
    main = onboard(app)
    with pytest.raises(InvalidInput) as invalid:
        app.confirm_new_sub_id(main, sub_id_form("sub01", **{key: "佐藤\x07花子"}))
    assert [(e.label, e.message) for e in invalid.value.errors] == [
        (label, f"{label}に使用できない文字が含まれています。")]


@pytest.mark.parametrize("login_id", ["sub@01", "sub 01x", "sub/01"])
def test_SB_7_a_login_id_of_other_characters_is_told_which_it_may_hold(
        app: BillingStation, login_id: str) -> None:
    """Our decision (the manual is silent): a login ID holds half-width letters, digits and
    「.」「_」「-」, 4 to 32 of them: one with another character is told so as its hint says,
    not only that its shape is wrong."""
    main = onboard(app)
    with pytest.raises(InvalidInput) as invalid:
        app.confirm_new_sub_id(main, sub_id_form(login_id, email="sub01@example.co.jp"))
    assert [(e.label, e.message) for e in invalid.value.errors] == [
        ("ログインID", "ログインIDは半角英数字と「.」「_」「-」の4文字以上32文字以内で入力してください。")]


def test_SB_7_a_temporary_password_is_kept_exactly_as_typed(app: BillingStation) -> None:
    """Spaces around other values are dropped (what a person cannot see); a password's every
    character is the secret: the sub ID logs in with what was typed, not a trimmed copy."""
    main = onboard(app)
    typed = "  Pw-with-spaces  "
    app.submit_new_sub_id(main, app.confirm_new_sub_id(
        main, sub_id_form("sub01", temporary_password=typed, memo=" 経理担当 ")))
    assert app.log_in("sub01", typed.strip()) == ErrorPage(Refusal.LOGIN_FAILED)
    assert isinstance(app.log_in("sub01", typed), TopPage)
    assert app.sub_id_information(main, "sub01").by_label()["メモ"] == "経理担当"
