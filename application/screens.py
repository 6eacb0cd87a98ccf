"""What a person reads: the manual's exact strings, our wording where it has none, and the
one place where an outcome becomes text."""

from __future__ import annotations

from datetime import datetime, timedelta

from application.japan_time import jst
from application.outcomes import (
    Completed,
    Confirmation,
    Contact,
    ContactRoute,
    ErrorPage,
    Form,
    KeyEntry,
    Outcome,
    Refusal,
    Refused,
    Throttled,
    TopPage,
)
from domain.forms import SECRET_FIELDS

MASK = "********"

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
TRIES_LEFT = "あと{}回誤るとこのログインは無効になります。"  # D-4, before the lock (read as D-9)
KEY_EXPIRED = "通知キーの有効期限が切れています。再度ログインしてください。"  # LG-5, LG-6
KEY_UNUSABLE = "この通知キーは使用できません。再度ログインしてください。"  # D-2, D-3
KEY_SUPERSEDED = (
    "この通知キーは以前のメールのもので、使用できません。最新のメールの通知キーを入力してください。"
)  # D-2: a key of an earlier mail, typed where the newest one is asked for (its attempt
#    superseded, expired or locked: the text says only what holds for all three)
NOT_A_KEY = "通知キーは12桁の数字で入力してください。"  # D-6: not counted as a wrong key (D-4)
KEY_LIMIT = (
    "通知キーの送信回数が上限に達しました。しばらく時間をおいてから再度ログインしてください。"
)  # D-10
KEY_LIMIT_UNTIL = "通知キーの送信回数が上限に達しました。{}以降に再度ログインしてください。"
MAIL_FAILED = (
    "通知キーのメールを送信できませんでした。しばらく時間をおいてから再度ログインしてください。"
)
CONFLICT = "他の操作で内容が変更されました。もう一度表示してから変更してください。"
BUSY = (  # a login that lost every race to other writes of its login ID: nothing recorded
    "ただいま混み合っているため処理できませんでした。しばらく時間をおいてから再度お試しください。"
)
KEY_BUSY = (  # a key's OK that did: at once, not later (the key is valid 10 minutes, LG-5)
    "ただいま混み合っているため処理できませんでした。もう一度通知キーを入力して「OK」を"
    "クリックしてください。"
)
LOGIN_INCOMPLETE = "ログインIDとパスワードを入力してください。"  # LG-1: nothing to check (says no
#   more of the login ID than its typist knows: D-9)
THROTTLED = "しばらく時間をおいてから再度ログインしてください。"  # D-14: the password is not checked
LOGGED_OUT = "ログアウトしました。"  # SC-4 (ours: README's decisions)
SESSION_ENDED = (  # SC-4, D-12: a page asked for with a session that is gone (ours, too)
    "一定時間操作がなかったか、ログアウトしたため、ログイン画面に戻りました。"
    "再度ログインしてください。入力中の内容は保存されていません。"
)

REFUSALS = {
    Refusal.LOGIN_FAILED: LOGIN_FAILED,
    Refusal.LOGIN_INCOMPLETE: LOGIN_INCOMPLETE,
    Refusal.KEY_WRONG: KEY_WRONG,
    Refusal.KEY_EXPIRED: KEY_EXPIRED,
    Refusal.KEY_UNUSABLE: KEY_UNUSABLE,
    Refusal.KEY_SUPERSEDED: KEY_SUPERSEDED,
    Refusal.NOT_A_KEY: NOT_A_KEY,
    Refusal.KEY_LIMIT: KEY_LIMIT,
    Refusal.MAIL_FAILED: MAIL_FAILED,
    Refusal.CONFLICT: CONFLICT,
    Refusal.BUSY: BUSY,
    Refusal.MAIN_ID_ONLY_INFORMATION: MAIN_ID_ONLY_INFORMATION,
    Refusal.MAIN_ID_ONLY_PERMISSIONS: MAIN_ID_ONLY_PERMISSIONS,
}
COMPLETED = {Completed.CUSTOMER_INFORMATION: CUSTOMER_INFORMATION_DONE,
             Completed.SUB_ID: SUB_ID_DONE}
CONFIRMATION_TITLES = {Form.CUSTOMER_INFORMATION: "お客様情報変更確認",
                       Form.SUB_ID: "副ID 設定内容確認"}

# How a login attempt ended, as reports for people say it (history, verify, simulations).
OUTCOMES = {
    Outcome.COMPLETED: "ログイン完了",
    Outcome.PASSWORD_REJECTED: "パスワード誤り",
    Outcome.EXPIRED: "通知キーの期限切れ (LG-5)",
    Outcome.LOCKED: "誤入力の上限でロック (D-4)",
    Outcome.SUPERSEDED: "新しい通知キーで無効 (D-2)",
    Outcome.KEY_WITHHELD: "送信上限のため通知キーを送らず (D-10)",
    Outcome.MAIL_FAILED: "通知キーのメール送信に失敗",
    Outcome.ABANDONED: "途中でやめた",
    Outcome.PENDING: "記録の終わりで未完了 (通知キーが有効、または通知キーなしで要求から1時間以内)",
}

Shown = TopPage | KeyEntry | ErrorPage | Refused | Completed | Confirmation | Throttled


def title(shown: Shown) -> str:
    """The screen's title."""
    if isinstance(shown, TopPage):
        return "トップページ"
    if isinstance(shown, KeyEntry):
        return "通知キー照合"
    if isinstance(shown, Confirmation):
        return CONFIRMATION_TITLES[shown.form]
    if isinstance(shown, Completed):
        return "完了"
    if isinstance(shown, Throttled):  # D-14: the login screen again, saying to wait
        return "ログイン"
    return "エラー"


def message(shown: Shown) -> str:
    """What the screen says."""
    if isinstance(shown, TopPage):
        return header(shown)
    if isinstance(shown, KeyEntry):
        return (f"{key_error(shown.error, shown.tries_left)}\n{KEY_PROMPT}" if shown.error
                else KEY_PROMPT)
    if isinstance(shown, ErrorPage):
        return refusal_text(shown.refusal, shown.retry_at)
    if isinstance(shown, Refused):
        return REFUSALS[shown.refusal]
    if isinstance(shown, Throttled):
        return THROTTLED
    if isinstance(shown, Completed):
        return COMPLETED[shown]
    return "\n".join(confirmation_lines(shown))


def refusal_text(refusal: Refusal, retry_at: datetime | None = None) -> str:
    """A failed login's words; D-10's say from when a key may be mailed again."""
    if refusal is Refusal.KEY_LIMIT and retry_at is not None:
        return KEY_LIMIT_UNTIL.format(jst(retry_minute(retry_at)))
    return REFUSALS[refusal]


def retry_minute(retry_at: datetime) -> datetime:
    """The time D-10's page gives: the first whole minute from ``retry_at`` (a login then
    is not refused for the mails before)."""
    minute = retry_at.replace(second=0, microsecond=0)
    return minute if minute == retry_at else minute + timedelta(minutes=1)


def key_error(refusal: Refusal, tries_left: int | None = None) -> str:
    """通知キー照合's error after an entry that asks again; a wrong key's says how many
    more the attempt takes (the help page says five lock it)."""
    text = KEY_BUSY if refusal is Refusal.BUSY else REFUSALS[refusal]
    return text + TRIES_LEFT.format(tries_left) if tries_left else text


def header(top: TopPage) -> str:
    """LG-7: the account's name, BSお客様番号 and 前回ログイン."""
    previous = jst(top.previous_login) if top.previous_login else "なし"
    return f"{top.name}様 (BSお客様番号: {top.customer_number}) 前回ログイン: {previous}"


SECRET_UNCHANGED = "(変更しない)"  # a password field left empty: OK keeps the one set


def confirmation_lines(confirmation: Confirmation) -> list[str]:
    """What the 確認 screen lists; a password shows as ******** once typed, and as left
    unchanged when not (an empty line could read as no password at all)."""
    return [
        f"{confirmation.labels[k]}: "
        + (v if k not in SECRET_FIELDS else MASK if v else SECRET_UNCHANGED)
        for k, v in confirmation.values.items() if k in confirmation.labels
    ]


def contact(found: Contact) -> str:
    """LG-8's text: check the address with the person in charge."""
    if found.route is ContactRoute.MAIN_ID_PERSON:
        return f"{KEY_NOT_RECEIVED}\n副IDの場合：{MAIN_ID_PERSON}"
    return f"{KEY_NOT_RECEIVED}\n主IDの場合：{OPERATOR}"
