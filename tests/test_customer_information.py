"""お客様情報変更 (CI-1..CI-5)."""

from __future__ import annotations

import pytest

from application import screens
from application.adapters.mailbox import MailboxFolder
from application.billing_station import BillingStation
from application.outcomes import Refused
from application.screens import CONFLICT, CUSTOMER_INFORMATION_DONE, MAIN_ID_ONLY_INFORMATION
from domain.accounts import Customer
from domain.fields import SHOWN_ONLY, FieldError, InvalidInput
from domain.forms import CUSTOMER_INFORMATION, Plan
from tests.story import SUB_PASSWORD, add_sub_id, first_login, information, onboard


def events(app: BillingStation) -> int:
    return len(app.recorder.select_notifications(start=None, limit=10**6))


def test_CI_1_a_sub_id_is_refused_customer_information(app: BillingStation) -> None:
    main = onboard(app)
    add_sub_id(app, main, "sub01")
    sub = first_login(app, "sub01", SUB_PASSWORD)
    for use in (
        lambda: app.customer_information(sub),
        lambda: app.confirm_customer_information(sub, {"notify_key": "利用する"}),
    ):
        with pytest.raises(Refused) as refused:
            use()
        assert screens.message(refused.value) == MAIN_ID_ONLY_INFORMATION
        assert refused.value.rule == "CI-1"


@pytest.mark.parametrize(
    ("field", "good", "bad", "label"),
    [
        ("department", "部" * 50, "部" * 51, "部署名"),
        ("department", "総務部", "soumu", "部署名"),
        ("department_kana", "ソ" * 50, "そうむぶ", "部署名フリガナ"),
        ("contact_name", "山" * 20, "山" * 21, "連絡先担当姓名"),
        ("contact_name_kana", "ヤ" * 20, "ヤ" * 21, "連絡先担当姓名フリガナ"),
        ("phone", "123456789", "12345678", "連絡先電話番号"),
        ("phone", "12345678901", "123456789012", "連絡先電話番号"),
        ("phone", "0312345678", "03-1234-56", "連絡先電話番号"),
        ("phone", "0312345678", "０３１２３４５６７８", "連絡先電話番号"),
        ("postal_code", "1000001", "10000012", "郵便番号"),
        ("address1", "東" * 128, "東" * 129, "住所1"),
        ("address2", "ビ" * 40, "ビ" * 41, "住所2(建物名など)"),
        ("download_file_password", "abcd1234", "abc1234", "分析データダウンロードファイル用パスワード"),
        ("download_file_password", "a" * 15, "a" * 16, "分析データダウンロードファイル用パスワード"),
        ("download_notice", "否", "はい", "ダウンロード通知メール要否(選択)"),
        ("caller_id", "無", "なし", "発信元電話番号 利用の有無(選択)"),
        ("notify_key", "利用する", "on", "通知キーの利用"),
    ],
)
def test_CI_2_each_field_at_its_limit(
    app: BillingStation, field: str, good: str, bad: str, label: str
) -> None:
    main = onboard(app)
    confirmation = app.confirm_customer_information(main, {field: good})
    assert confirmation.values[field] == good or field == "download_file_password"
    with pytest.raises(InvalidInput) as invalid:
        app.confirm_customer_information(main, {field: bad})
    assert [e.label for e in invalid.value.errors] == [label]
    assert invalid.value.errors[0].rule in ("CI-2", "CI-3")


def test_CI_2_email_limits_and_confirmation(app: BillingStation) -> None:
    main = onboard(app)
    longest = "a" * 243 + "@example.com"  # 255
    app.confirm_customer_information(main, {"email": longest, "email_confirmation": longest})
    too_long = "a" + longest
    with pytest.raises(InvalidInput) as invalid:
        app.confirm_customer_information(main, {"email": too_long, "email_confirmation": too_long})
    assert {e.label for e in invalid.value.errors} == {"連絡先メールアドレス", "連絡先メールアドレス(確認)"}
    with pytest.raises(InvalidInput) as mismatch:
        app.confirm_customer_information(main, {"email": "x@example.jp"})
    assert [e.message for e in mismatch.value.errors] == [
        "連絡先メールアドレス(確認)が連絡先メールアドレスと一致しません。"
    ]
    with pytest.raises(InvalidInput) as emptied:  # (said once: not also "does not match")
        app.confirm_customer_information(main, {"email": "x@example.jp", "email_confirmation": ""})
    assert [e.message for e in emptied.value.errors] == ["連絡先メールアドレス(確認)を入力してください。"]
    with pytest.raises(InvalidInput) as both:  # (a malformed one that differs: both errors)
        app.confirm_customer_information(main, {"email": "a b@example.jp",
                                                "email_confirmation": "x@example.jp"})
    assert [e.message for e in both.value.errors] == [
        "連絡先メールアドレスの形式が正しくありません。",
        "連絡先メールアドレス(確認)が連絡先メールアドレスと一致しません。"]


def test_CI_2_a_japanese_mobile_address_of_before_2009_is_taken(app: BillingStation) -> None:
    """Dots doubled or at an end of the local part: a mail's To reads each as itself."""
    main = onboard(app)
    for email in ("taro..yamada.@docomo.ne.jp", ".taro@ezweb.ne.jp"):
        app.confirm_customer_information(main, {"email": email, "email_confirmation": email})


@pytest.mark.parametrize("email", [
    "a@b.cc,=?utf-8?q?evil=40attacker.example?=",  # a second recipient, in an encoded word
    "=?utf-8?q?evil=40attacker.example=2Cx?=@b.cc", "a@b.cc>,<evil.example",
    "=?utf-8?q?x=0D=0ABcc:=20evil=40evil.example?=<a@b.cc>",  # a line break in a name
    '"a b"@example.jp', "a:;@example.jp", "a@example", "a@exa_mple.jp",
    "a%evil.example@example.jp", "evil.example!a@example.jp",  # (routed by old relays)
    "a@example-.jp", "a@" + "b" * 64 + ".jp"])  # (no label of RFC 1035's)
def test_CI_2_and_SB_5_an_address_a_mail_would_read_as_another_is_refused(
    app: BillingStation, email: str
) -> None:
    """Each was taken (one @, printable), and a key mail's To read it as other recipients,
    or failed the login: one plain address only, on both screens that take one."""
    main = onboard(app)
    with pytest.raises(InvalidInput) as invalid:
        app.confirm_customer_information(main, {"email": email, "email_confirmation": email})
    assert [e.message for e in invalid.value.errors] == ["連絡先メールアドレスの形式が正しくありません。"]
    with pytest.raises(InvalidInput) as invalid:
        add_sub_id(app, main, email=email)
    assert [e.message for e in invalid.value.errors] == ["登録先メールアドレスの形式が正しくありません。"]


def test_CI_2_required_fields_are_named(app: BillingStation) -> None:
    main = onboard(app)
    with pytest.raises(InvalidInput) as invalid:
        app.confirm_customer_information(main, {"contact_name": "", "address1": ""})
    assert [str(e) for e in invalid.value.errors] == [
        "連絡先担当姓名を入力してください。 [連絡先担当姓名 / CI-2]",
        "住所1を入力してください。 [住所1 / CI-2]",
    ]


def test_CI_2_shown_fields_are_not_editable(app: BillingStation) -> None:
    main = onboard(app)
    screen = app.customer_information(main).by_label()
    assert screen["BSお客様番号"] == "BS5928544"
    assert screen["会社名"] == "デモ用ユーザ01"
    for name, label in SHOWN_ONLY.items():  # (each, sent anyway: named, nothing recorded)
        before = app.recorder.max_notification_id()
        with pytest.raises(InvalidInput) as invalid:
            app.confirm_customer_information(main, {name: "BS0000001"})
        assert invalid.value.errors == [FieldError(label, "CI-2", f"{label}は変更できません。")]
        assert app.recorder.max_notification_id() == before
    assert set(SHOWN_ONLY.values()) == {"BSお客様番号", "会社名", "会社名フリガナ", "BS基本サービス"}


def test_CI_4_a_field_the_screen_does_not_have_is_refused_without_echoing_it(
    app: BillingStation
) -> None:
    main = onboard(app)
    with pytest.raises(InvalidInput) as invalid:
        app.confirm_customer_information(main, {"x\x00<script>": "1", "other": "2"})
    assert invalid.value.errors == [
        FieldError("送信された項目", "CI-4", "この画面にない項目が送信されました。")]


@pytest.mark.parametrize("label", ["連絡先担当姓名", "連絡先担当姓名フリガナ", "住所1"])
def test_CI_2_a_required_field_of_only_spaces_is_empty(app: BillingStation, label: str) -> None:
    main = onboard(app)
    key = next(k for k, f in CUSTOMER_INFORMATION.items() if f.label == label)
    with pytest.raises(InvalidInput) as invalid:
        app.confirm_customer_information(main, {key: "\u3000"})
    assert invalid.value.errors == [FieldError(label, "CI-2", f"{label}を入力してください。")]


def test_CI_3_notify_key_starts_off_and_login_is_password_only(app: BillingStation) -> None:
    main = onboard(app)
    assert app.customer_information(main).by_label()["通知キーの利用"] == "利用しない"
    first_login(app)
    assert first_login(app).login_id == "main01"  # a second login, still no key
    field = CUSTOMER_INFORMATION["notify_key"]  # shown as the manual lists the choices
    assert (field.choices, field.default) == (("利用する", "利用しない"), "利用しない")  # type: ignore[union-attr]


def test_CI_4_all_errors_at_once_input_kept_nothing_recorded(app: BillingStation) -> None:
    main = onboard(app)
    before = events(app)
    form = {"department": "soumu", "phone": "03-1234", "postal_code": "123456789",
            "notify_key": "利用する"}
    with pytest.raises(InvalidInput) as invalid:
        app.confirm_customer_information(main, form)
    assert [e.label for e in invalid.value.errors] == ["部署名", "連絡先電話番号", "郵便番号"]
    assert invalid.value.form == form
    assert events(app) == before
    assert app.customer_information(main).by_label()["通知キーの利用"] == "利用しない"


def test_CI_4_confirm_then_ok_applies_and_says_done(app: BillingStation) -> None:
    main = onboard(app)
    confirmation = app.confirm_customer_information(main, {"notify_key": "利用する"})
    assert screens.title(confirmation) == "お客様情報変更確認"
    assert app.customer_information(main).by_label()["通知キーの利用"] == "利用しない"  # not before OK
    assert screens.message(app.submit_customer_information(main, confirmation)) == (
        CUSTOMER_INFORMATION_DONE)
    assert app.customer_information(main).by_label()["通知キーの利用"] == "利用する"


def test_CI_4_a_stale_confirmation_is_refused_not_overwritten(app: BillingStation) -> None:
    main = onboard(app)
    first = app.confirm_customer_information(main, {"department": "経理部"})
    second = app.confirm_customer_information(main, {"department": "営業部"})
    app.submit_customer_information(main, second)
    with pytest.raises(Refused) as refused:
        app.submit_customer_information(main, first)
    assert screens.message(refused.value) == CONFLICT
    assert app.customer_information(main).by_label()["部署名"] == "営業部"


def test_CI_4_ok_pressed_again_says_done_and_records_nothing_more(
        app: BillingStation, mailbox: MailboxFolder) -> None:
    """A double click or a resubmit of OK: the account already holds what was confirmed (a
    typed download-file password too: its digest's salt is this 確認's), so the second OK
    says 完了, records nothing and sends no second D-11 notice; a confirmation of other
    values made before the change is still refused."""
    main = onboard(app)
    stale = app.confirm_customer_information(main, {"department": "営業部"})
    confirmation = app.confirm_customer_information(main, {
        "department": "経理部", "download_file_password": "dlpass123",
        "email": "new@example.co.jp", "email_confirmation": "new@example.co.jp"})
    app.submit_customer_information(main, confirmation)
    recorded, mails = events(app), len(mailbox.messages())
    assert mails == 1  # D-11's notice of the new address, to the previous one
    assert screens.message(app.submit_customer_information(main, confirmation)) == (
        CUSTOMER_INFORMATION_DONE)
    assert (events(app), len(mailbox.messages())) == (recorded, mails)
    with pytest.raises(Refused) as refused:
        app.submit_customer_information(main, stale)
    assert screens.message(refused.value) == CONFLICT
    assert app.customer_information(main).by_label()["部署名"] == "経理部"


def test_CI_4_ok_of_another_download_file_password_is_not_taken_as_done(
        app: BillingStation) -> None:
    """Two 確認 differing only in the (masked) download-file password: once one is applied,
    the other's OK is a conflict, not 完了 (each digest has its own salt)."""
    main = onboard(app)
    first, second = (app.confirm_customer_information(main, {"download_file_password": p})
                     for p in ("dlpass123", "dlpass456"))
    app.submit_customer_information(main, first)
    with pytest.raises(Refused) as refused:
        app.submit_customer_information(main, second)
    assert screens.message(refused.value) == CONFLICT


def test_CI_4_the_download_file_password_typed_again_is_no_change(app: BillingStation) -> None:
    """The same password typed again (a 確認 sent again after its OK, by 「戻る」 and a
    resubmit): 確認 shows it unchanged and OK records nothing; another one is a change."""
    main = onboard(app)

    def typed(password: str) -> tuple[str, int]:
        """What the confirmation carries, and how many events its OK recorded."""
        before = events(app)
        confirmation = app.confirm_customer_information(
            main, {"download_file_password": password})
        app.submit_customer_information(main, confirmation)
        return confirmation.values["download_file_password"][:7], events(app) - before

    assert typed("dlpass123") == ("scrypt$", 1)
    assert typed("dlpass123") == ("", 0)  # unchanged: 確認 shows (変更しない)
    assert typed("dlpass456") == ("scrypt$", 1)


def test_CI_4_a_confirmation_of_another_account_is_never_done_here(
        app: BillingStation) -> None:
    """A confirmation made for another customer, handed to this one's OK, is refused even
    when this account holds every value it carries (two customers of the same details)."""
    mine, theirs = onboard(app), onboard(app, "main02", number="BS5928545")
    foreign = app.confirm_customer_information(theirs, {"department": "経理部"})
    app.submit_customer_information(mine, app.confirm_customer_information(
        mine, {"department": "経理部"}))
    with pytest.raises(Refused):
        app.submit_customer_information(mine, foreign)
    assert app.customer_information(theirs).by_label()["部署名"] != "経理部"


def test_CI_4_a_login_between_confirm_and_ok_changes_nothing_of_the_screen(
        app: BillingStation) -> None:
    """Only a change of what the screen showed outdates its 確認: the main ID logging in
    meanwhile (in another window) does not, and OK applies."""
    main = onboard(app)
    confirmation = app.confirm_customer_information(main, {"department": "経理部"})
    first_login(app)
    app.submit_customer_information(main, confirmation)
    assert app.customer_information(main).by_label()["部署名"] == "経理部"


@pytest.mark.parametrize("meanwhile", ["login", "change"])
def test_CI_4_a_write_committed_while_ok_saves_outdates_it_only_if_a_change(
        app: BillingStation, monkeypatch: pytest.MonkeyPatch, meanwhile: str) -> None:
    """Another write of the account committed in the instant between OK reading it and
    saving: the store refuses that save. A login (no change of the screen): OK applies on
    what was committed, once. A change of the screen: OK is refused, the change stands."""
    main = onboard(app)
    first_login(app)
    confirmation = app.confirm_customer_information(main, {"department": "経理部"})
    save, raced = app.save, list[str]()

    def committed_first(*objs: object, **kwargs: object) -> object:
        if not raced:
            raced.append(meanwhile)
            if meanwhile == "login":
                first_login(app)
            else:
                app.submit_customer_information(
                    main, app.confirm_customer_information(main, {"department": "開発部"}))
        return save(*objs, **kwargs)

    monkeypatch.setattr(app, "save", committed_first)
    if meanwhile == "login":
        app.submit_customer_information(main, confirmation)
    else:
        with pytest.raises(Refused):
            app.submit_customer_information(main, confirmation)
    changes = [e.changes for e in app.events.get(main.account_id)
               if isinstance(e, Customer.InformationChanged)]
    assert raced and changes == [{"department": "経理部" if meanwhile == "login" else "開発部"}]


@pytest.mark.parametrize("plan", list(Plan))
def test_CI_5_the_plan_is_shown(app: BillingStation, plan: Plan) -> None:
    main = onboard(app, plan=plan)
    assert app.customer_information(main).by_label()["BS基本サービス"] == plan.value


def test_onboarding_refuses_bad_information_naming_fields(app: BillingStation) -> None:
    with pytest.raises(InvalidInput) as invalid:
        app.onboard_customer("BS1", "会社", "カイシャ", Plan.STANDARD, "ab", "short",
                             information(phone="1"))
    assert {e.label for e in invalid.value.errors} == {"連絡先電話番号", "ログインID", "パスワード"}
    assert events(app) == 0


def test_onboarding_refuses_a_BS_customer_number_already_registered(app: BillingStation) -> None:
    onboard(app, "main01", number="BS5928544")
    before = events(app)
    with pytest.raises(InvalidInput) as invalid:
        onboard(app, "main02", number="BS5928544")
    assert [(e.label, e.message) for e in invalid.value.errors] == [
        ("BSお客様番号", "このBSお客様番号は既に登録されています。")]
    assert events(app) == before


def test_onboarding_names_a_login_id_taken_with_the_other_errors(app: BillingStation) -> None:
    """Every error at once, as CI-4 lists a form's: a login ID already registered was said
    only once the others were mended (by the store's refusal of the save)."""
    onboard(app, "main01", number="BS0000001")
    before = events(app)
    with pytest.raises(InvalidInput) as invalid:
        onboard(app, "main01", number="BS0000002", phone="1")
    assert {e.label for e in invalid.value.errors} == {"連絡先電話番号", "ログインID"}
    assert events(app) == before


def test_CI_2_spaces_are_taken_as_a_person_sees_them_letters_as_typed(app: BillingStation) -> None:
    """A half-width space between a family and a given name (the manual's sample screen
    reads so) is no reason to refuse a 全角 field, nor are spaces around a value; a
    half-width letter or digit is, in the manual's words."""
    main = onboard(app)
    confirmed = app.confirm_customer_information(main, {
        "contact_name": " 山田 太郎 ", "contact_name_kana": "ヤマダ タロウ", "phone": "0398765432 "})
    assert (confirmed.values["contact_name"], confirmed.values["contact_name_kana"],
            confirmed.values["phone"]) == ("山田\u3000太郎", "ヤマダ\u3000タロウ", "0398765432")
    with pytest.raises(InvalidInput, match="部署名は全角50文字以内で入力してください。"):
        app.confirm_customer_information(main, {"department": "soumu"})


def test_CI_2_a_password_left_empty_is_shown_unchanged_on_confirm_and_kept(
        app: BillingStation) -> None:
    main = onboard(app)
    app.submit_customer_information(main, app.confirm_customer_information(
        main, {"download_file_password": "abcd1234"}))
    kept = app.get(main.customer_id, Customer).information["download_file_password"]
    confirmed = app.confirm_customer_information(main, {"download_file_password": "",
                                                        "department": "経理部"})
    assert "分析データダウンロードファイル用パスワード: (変更しない)" in screens.confirmation_lines(
        confirmed)
    app.submit_customer_information(main, confirmed)
    assert app.get(main.customer_id, Customer).information["download_file_password"] == kept
