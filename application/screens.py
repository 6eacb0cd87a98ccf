"""What a person sees: the manual's exact strings, and our wording where it has none."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID
from zoneinfo import ZoneInfo

import attrs

from domain.forms import SECRET_FIELDS

MASK = "********"
JST = ZoneInfo("Asia/Tokyo")  # D-8: stored in UTC, shown in Japan time

# The manual's own strings.
KEY_PROMPT = "連絡用メールアドレスで受信した12桁の通知キーを入力してください。"
CUSTOMER_INFORMATION_DONE = "お客様情報変更を完了しました。"
SUB_ID_DONE = "ログインユーザ情報変更を完了しました。"
MAIN_ID_ONLY_INFORMATION = (
    "お客様情報変更を行う場合は、主ID（ご契約の際に最初に発行されたログインID）で"
    "ログインしてください。"
)
MAIN_ID_ONLY_PERMISSIONS = "※権限設定をご利用いただけるのは主IDのみです。"
KEY_NOT_RECEIVED = (
    "ご登録メールアドレスに通知キーのメールが届かなかった場合は各担当者に連絡し、"
    "登録メールアドレスに誤りがないかのご確認をお願いします。"
)
OPERATOR = "オペレータ担当"
MAIN_ID_PERSON = "主IDの担当者"

# Our wording where the manual shows a screen but not its text (decisions, see RULES.md).
LOGIN_FAILED = "ログインIDまたはパスワードが正しくありません。"  # D-9: one text for all
KEY_WRONG = "通知キーが正しくありません。"  # D-4
KEY_EXPIRED = "通知キーの有効期限が切れています。再度ログインしてください。"  # LG-5, LG-6
KEY_UNUSABLE = "この通知キーは使用できません。再度ログインしてください。"  # D-2, D-3
KEY_LIMIT = (
    "通知キーの送信回数が上限に達しました。しばらく時間をおいてから再度ログインしてください。"
)  # D-10
MAIL_FAILED = (
    "通知キーのメールを送信できませんでした。しばらく時間をおいてから再度ログインしてください。"
)
CONFLICT = "他の操作で内容が変更されました。もう一度表示してから変更してください。"


def jst(moment: datetime, seconds: bool = False) -> str:
    """2015/01/16 09:58, as the manual shows 前回ログイン (audits add the seconds)."""
    return moment.astimezone(JST).strftime("%Y/%m/%d %H:%M:%S" if seconds else "%Y/%m/%d %H:%M")


@attrs.frozen
class Session:
    """Who is logged in; main-ID-only services check ``is_main_id`` (CI-1, SB-2)."""

    login_id: str
    account_id: UUID
    customer_id: UUID
    is_main_id: bool


@attrs.frozen
class TopPage:
    """トップページ: the login is complete (LG-2, LG-3) and the header shows LG-7."""

    session: Session
    name: str
    customer_number: str
    previous_login: datetime | None
    title: str = "トップページ"

    @property
    def header(self) -> str:
        previous = jst(self.previous_login) if self.previous_login else "なし"
        return f"{self.name}様 (BSお客様番号: {self.customer_number}) 前回ログイン: {previous}"

    @property
    def message(self) -> str:
        return self.header


@attrs.frozen
class KeyEntry:
    """通知キー照合 (LG-3): the attempt waits for its key; ``error`` after a wrong one."""

    attempt_id: UUID
    error: str | None = None
    title: str = "通知キー照合"

    @property
    def message(self) -> str:
        return f"{self.error}\n{KEY_PROMPT}" if self.error else KEY_PROMPT


@attrs.frozen
class ErrorPage:
    message: str
    title: str = "エラー"


LoginScreen = TopPage | KeyEntry | ErrorPage


@attrs.frozen
class Confirmation:
    """A 確認 screen: checked values, and the version they were checked against, so that OK
    applies exactly them or refuses with CONFLICT (never a silent overwrite)."""

    title: str
    values: dict[str, str]
    labels: dict[str, str]
    target_id: UUID
    version: int

    def lines(self) -> list[str]:
        """What the 確認 screen lists; a password shows as ******** once typed."""
        return [
            f"{self.labels[k]}: {MASK if k in SECRET_FIELDS and v else v}"
            for k, v in self.values.items() if k in self.labels
        ]


class Refused(Exception):
    """A screen refused to this user (CI-1, SB-2) or an OK that lost a race; the message is
    the screen's text."""

    def __init__(self, message: str, rule: str):
        self.message, self.rule = message, rule
        super().__init__(f"{message} [{rule}]")
