"""The manual's screens as field tables: お客様情報変更 (CI-2) and 副ID (SB-5, SB-7)."""

from __future__ import annotations

import enum
import unicodedata

from domain.fields import ChoiceField, Field, Kind, TextField

# One plain address, as a mail's To reads it back: a local part of RFC 5322's atext and dots
# anywhere (Japanese mobile addresses of before 2009 have "..", or a dot at an end, and are
# mailed as they are), never "=?" (an encoded word: a To of "=?utf-8?q?x=40evil.example=2C?=
# @a.jp" is decoded to two recipients), nor "%" or "!" (old relays route by them), and a
# domain of two or more labels (RFC 1035's: letters, digits and hyphens, 63 at most, no
# hyphen at an end); no comma, space, colon, quote or angle bracket, each of which a To reads
# as another recipient, a group or a name.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_SHAPE = rf"(?!.*=\?)[A-Za-z0-9#$&'*+/=?^_`{{|}}~.-]+@{_LABEL}(?:\.{_LABEL})+"
NOTIFY_KEY_ON, NOTIFY_KEY_OFF = "利用する", "利用しない"


def notify_key_field(rule: str) -> ChoiceField:
    """通知キーの利用: 利用する / 利用しない as the manual lists them, starting as 利用しない
    (CI-3, SB-5)."""
    return ChoiceField("通知キーの利用", rule, (NOTIFY_KEY_ON, NOTIFY_KEY_OFF), NOTIFY_KEY_OFF)


# お客様情報変更 (CI-2). BSお客様番号, 会社名 and 会社名フリガナ are shown, not editable.
CUSTOMER_INFORMATION: dict[str, Field] = {
    "department": TextField("部署名", "CI-2", Kind.FULL_WIDTH, 50),
    "department_kana": TextField("部署名フリガナ", "CI-2", Kind.KATAKANA, 50),
    "contact_name": TextField("連絡先担当姓名", "CI-2", Kind.FULL_WIDTH, 20, required=True),
    "contact_name_kana": TextField(
        "連絡先担当姓名フリガナ", "CI-2", Kind.KATAKANA, 20, required=True
    ),
    "phone": TextField("連絡先電話番号", "CI-2", Kind.DIGITS, 11, 9, required=True),
    "email": TextField(
        "連絡先メールアドレス", "CI-2", Kind.HALF_WIDTH, 255, required=True, pattern=EMAIL_SHAPE
    ),
    "email_confirmation": TextField(
        "連絡先メールアドレス(確認)", "CI-2", Kind.HALF_WIDTH, 255, required=True
    ),
    "postal_code": TextField("郵便番号", "CI-2", Kind.HALF_WIDTH, 7, required=True),
    "address1": TextField("住所1", "CI-2", Kind.FULL_WIDTH, 128, required=True),
    "address2": TextField("住所2(建物名など)", "CI-2", Kind.FULL_WIDTH, 40),
    "download_notice": ChoiceField("ダウンロード通知メール要否(選択)", "CI-2", ("要", "否")),
    "download_file_password": TextField(
        "分析データダウンロードファイル用パスワード", "CI-2", Kind.ALPHANUMERIC, 15, 8, secret=True
    ),
    "caller_id": ChoiceField("発信元電話番号 利用の有無(選択)", "CI-2", ("有", "無")),
    "notify_key": notify_key_field("CI-3"),
}


class Plan(enum.Enum):
    """BS基本サービス (CI-5)."""

    STANDARD = "スタンダード"
    DOWNLOAD = "ダウンロード"


class Permission(enum.Enum):
    """操作権限設定's choices."""

    VIEW = "参照のみ"
    VIEW_AND_CHANGE = "参照・変更可能"
    NONE = "利用権限なし"


def _permission(label: str, *choices: Permission) -> ChoiceField:
    return ChoiceField(label, "SB-5", tuple(c.value for c in choices))


# 操作権限設定 (SB-5): six items, the first choice of each is the default.
PERMISSIONS: dict[str, Field] = {
    "billing_inquiry": _permission("請求金額照会", Permission.VIEW, Permission.NONE),
    "number_breakdown": _permission(
        "番号別明細内訳", Permission.VIEW_AND_CHANGE, Permission.VIEW
    ),
    "call_breakdown": _permission("通話明細内訳", Permission.VIEW_AND_CHANGE, Permission.VIEW),
    "other_reports": _permission("その他レポート", Permission.VIEW_AND_CHANGE, Permission.VIEW),
    "organization_usage": _permission(
        "組織 + 利用用途", Permission.VIEW_AND_CHANGE, Permission.NONE
    ),
    "edit_breakdown": _permission("編集内訳", Permission.VIEW_AND_CHANGE, Permission.NONE),
}

ALL_ORGANIZATIONS = "全組織"
LOGIN_ID_SHAPE = r"[0-9A-Za-z._-]+"  # (said in words by login_id_field's shape: change both)

# 副ID 情報変更 (SB-5): the fields every plan shows.
SUB_ID_INFORMATION: dict[str, Field] = {
    "person_in_charge": TextField("担当者", "SB-5", Kind.ANY, 20, required=True),
    "phone": TextField("電話番号", "SB-5", Kind.DIGITS, 11, 9, required=True),
    "email": TextField(
        "登録先メールアドレス", "SB-5", Kind.HALF_WIDTH, 255, required=True, pattern=EMAIL_SHAPE
    ),
    "memo": TextField("メモ", "SB-5", Kind.ANY, 100),
    "notify_key": notify_key_field("SB-5"),
}



def login_id_field(rule: str) -> TextField:
    """ログインID: our decision where the manual is silent: 4 to 32 of [0-9A-Za-z._-]."""
    return TextField("ログインID", rule, Kind.HALF_WIDTH, 32, 4, required=True,
                     pattern=LOGIN_ID_SHAPE, shape="半角英数字と「.」「_」「-」")


def login_id_typed(text: str) -> str:
    """A login ID as the person meant it at ログイン: full-width letters and digits (typed
    with the Japanese input mode on) made half-width (NFKC), and, as in every field, the
    spaces around it dropped (TextField.as_typed). Never a password: its every character
    is the secret."""
    return unicodedata.normalize("NFKC", text).strip(" ")


def key_typed(text: str) -> str:
    """A notify key as the person meant it: full-width digits made half-width (NFKC), and
    no space or hyphen anywhere (a key copied or typed in groups of four)."""
    return "".join(unicodedata.normalize("NFKC", text).replace("-", " ").split())


def is_login_id(text: str) -> bool:
    """Could ``text`` be a login ID at all? (What a login is checked for before anything is
    recorded: unauthenticated input is bounded.)"""
    return MAIN_ID_CREDENTIALS["login_id"].check(text) is None


def password_field(label: str, rule: str) -> TextField:
    return TextField(label, rule, Kind.HALF_WIDTH, 32, 8, required=True, secret=True)


# A contract's main ID, issued at onboarding (not in the manual).
MAIN_ID_CREDENTIALS: dict[str, Field] = {
    "login_id": login_id_field("LG-1"),
    "password": password_field("パスワード", "LG-1"),
}

# 副ID 新規登録 (SB-7) adds the login ID and the temporary password.
SUB_ID_REGISTRATION: dict[str, Field] = {
    "login_id": login_id_field("SB-7"),
    "temporary_password": password_field("仮パスワード", "SB-7"),
    **SUB_ID_INFORMATION,
}

# 所属組織 (SB-5) is checked against 組織設定, so only its label lives here.
ORGANIZATION_LABEL = "所属組織"


# Fields kept only as a digest (D-7): a password is never stored in clear.
SECRET_FIELDS = frozenset(
    name for form in (CUSTOMER_INFORMATION, SUB_ID_REGISTRATION) for name, field in form.items()
    if isinstance(field, TextField) and field.secret)
