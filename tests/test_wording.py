"""Screen messages are the manual's exact strings: the ones screens.py takes from the manual
are in it, and every Japanese text of the portal's templates is either the manual's or
wording of ours listed here on purpose (so a manual string cannot drift unnoticed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from application import screens
from application.audit.verify import OUT_OF_ORDER, UNCHECKED_D10
from application.japan_time import span
from billing_station.verify_words import counted

ROOT = Path(__file__).parent.parent
MANUAL = ROOT.parent / "shared" / "manual" / "billing-station-mfa-manual.ja.txt"
needs_manual = pytest.mark.skipif(not MANUAL.exists(), reason=f"no manual at {MANUAL}")

THE_MANUALS = [screens.KEY_PROMPT, screens.CUSTOMER_INFORMATION_DONE, screens.SUB_ID_DONE,
               screens.MAIN_ID_ONLY_INFORMATION, screens.MAIN_ID_ONLY_PERMISSIONS,
               screens.KEY_NOT_RECEIVED, screens.OPERATOR, screens.MAIN_ID_PERSON]

OURS = {  # the portal's own words: where the manual shows a screen, not its every text
    # page chrome and navigation
    "{} | ビリングステーション", "本文へ移動", "ログアウト", "戻る", "トップページへ",
    "再度ログイン", "ログイン画面へ", "通知キー照合へ戻る", "権限設定へ戻る", "{} を変更",
    "副ID 新規登録へ戻る",
    "通知キーのメールが届かない場合", "登録されている副IDはありません。",
    "入力内容に誤りがあります（{}件）。各項目のメッセージをご確認ください。",
    "以下の内容でよろしければ「OK」をクリックしてください。",
    "ログインID: {}",  # a 副ID 設定内容確認's first line, as its others read (label: value)
    "ログインID・パスワードをお忘れの場合、パスワードが失効した場合は、次の担当者にご連絡ください。",
    # ご利用上の注意: the rules as a user needs them (LG-3..LG-6, D-2..D-4, D-10, D-12, D-14)
    "通知キー（多要素認証）", "ログインとセッション",
    "「通知キーの利用」を「利用する」にすると、ログインID・パスワードの入力後、"
    "ビリングステーション(bs-co@billingstation.ntt.com)からご登録メールアドレスに12桁の"
    "「通知キー」が送付されます。",
    "通知キーの有効期限は{}間となります。有効期限が切れた場合は、再ログインするとご登録"
    "メールアドレスに通知キーが再発行されます。",
    "通知キーは1回のログインにのみ使えます。新しい通知キーが発行されると、それ以前の通知キーは"
    "使えなくなります。",
    "通知キーを{}回誤って入力すると、そのログインは無効になります。再度ログインしてください。",
    "通知キーのメールは1つのログインIDにつき{}間に{}通までです。",
    "同じ接続元（IPアドレス）から{}間に{}回ログインに失敗すると、しばらくの間ログインできなくなります。",
    "{}分間操作がない場合は自動的にログアウトします。ご利用後は「ログアウト」をクリックしてください。",
    # the menu items this model does not implement (SC-1)
    "「{}」はこのシステムではモデル化していません。この画面は標準メニューの項目として表示のみ"
    "行っており、機能はありません。",
    "このシステムが扱うのは、ログイン（通知キー）、お客様情報変更、権限設定です。",
    # the development mailbox (serve --dev-mailbox only)
    "開発用メールボックス", "(開発専用)", "差出人", "宛先", "日時 (日本時間)", "件名",
    "メールはありません。",
    "メールボックスへ戻る",
    "開発専用のページです（serve --dev-mailbox のときだけ表示されます）。フォルダ: {}",
}


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def template_texts() -> set[str]:
    """Each Japanese text between tags or in a label attribute, a template value as {}."""
    found = set()
    for path in (ROOT / "portal" / "templates").glob("*.html"):
        text = re.sub(r"\{[{%#].*?[}%#]\}", "{}", path.read_text(encoding="utf-8"), flags=re.S)
        for part in re.findall(r">([^<>]*[\u3040-\u30ff\u4e00-\u9fff][^<>]*)<", text) + \
                re.findall(r'(?:aria-label|title|placeholder|alt|value)="([^"]*'
                           r'[\u3040-\u30ff\u4e00-\u9fff][^"]*)"', text):
            found.add(" ".join(part.split()).replace("{}{}", "{}"))
    return found


@needs_manual
def test_the_manuals_messages_are_its_own_words() -> None:
    manual = _flat(MANUAL.read_text(encoding="utf-8"))
    assert [m for m in THE_MANUALS if _flat(m) not in manual] == []


@needs_manual
def test_every_text_of_the_portal_is_the_manuals_or_ours_on_purpose() -> None:
    manual = _flat(MANUAL.read_text(encoding="utf-8"))
    texts = template_texts()
    assert len(texts) > 50  # the scan sees the pages
    strays = [t for t in texts if t not in OURS
              and not all(_flat(p) in manual for p in t.split("{}") if p.strip())]
    assert strays == []
    assert OURS - texts == set(), "listed as ours but shown nowhere"


@pytest.mark.parametrize(("seconds", "read"), [(600, "10分"), (3600, "60分"), (90, "90秒"),
                                               (30, "30秒"), (89.6, "90秒"), (86_400, "1,440分")])
def test_D_14_a_window_reads_in_whole_minutes_or_else_seconds(seconds: int, read: str) -> None:
    """(ご利用上の注意 and report.html said 「1.5分間」 and 「0.5分間」.)"""
    assert span(seconds) == read


def test_verify_s_counts_are_said_of_one_as_of_many() -> None:
    """The summary said "1 keys issued without their D-10 limit", "1 login attempt events"."""
    assert [counted(1, what) for what in (UNCHECKED_D10, OUT_OF_ORDER, "events", "completed")
            ] == ["1 key issued without its D-10 limit", "1 login attempt event stamped over a "
                  "minute before one stored ahead of it (time-based outcomes unsure)", "1 event",
                  "1 completed"]
    assert counted(2_000, UNCHECKED_D10) == "2,000 keys issued without their D-10 limit"
    assert counted(125, "password_rejected") == "125 password rejected"  # (as simulate says it)
