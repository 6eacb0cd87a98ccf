"""The auditor's pages (verify --html, history --format html) opened in a real headless
browser: the verdict, a finding's evidence and the filters are what a person sees. The
screenshot is the README's when ./go screenshots asks (docs/screenshots/)."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from freezegun.api import FrozenDateTimeFactory
from playwright.sync_api import Browser, Page

from application.adapters.mailbox import MailboxFolder
from application.audit import LoginRecord, Violation
from application.audit.policies import POLICIES, POLICY
from application.bootstrap import store_settings
from application.japan_time import JST
from application.outcomes import KeyEntry, Outcome
from billing_station.audit_pages import findings_page, history_page
from billing_station.audit_words import D14_UNJUDGED_JA, FINDINGS, OUTCOMES
from billing_station.cli import main
from billing_station.verify_words import D14_UNJUDGED
from domain.login_attempt import LoginAttempt
from tests.conftest import build
from tests.docs_shots import screenshot_path
from tests.html_rows import table_rows
from tests.story import FAST_HASHER, PASSWORD, complete_planted, keyed_main, onboard


@pytest.fixture
def planted(tmp_path: Path, mailbox: MailboxFolder, start: FrozenDateTimeFactory) -> Path:
    """A store with one login completed without the key its policy required (LG-3)."""
    path = tmp_path / "planted.sqlite3"
    app = build(store_settings("sqlite", path), mailbox)
    keyed_main(app)
    entry = app.log_in("main01", PASSWORD)
    assert isinstance(entry, KeyEntry)
    attempt = app.get(entry.attempt_id, LoginAttempt)
    complete_planted(app, attempt, attempt.modified_on)
    app.log_in("nobody01", "whatever-password")
    app.close()
    return path


def opened(chromium: Browser, page_file: Path) -> Page:
    page = chromium.new_page(viewport={"width": 1100, "height": 700}, locale="ja-JP")
    page.goto(page_file.as_uri())
    return page


def test_verify_html_shows_the_verdict_and_each_finding_with_its_evidence(
    chromium: Browser, planted: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the store named as an auditor in its folder names it
    report = tmp_path / "audit.html"
    result = CliRunner().invoke(main, ["verify", "--html", str(report)],
                                env={"BS_SQLITE_PATH": planted.name})
    assert result.exit_code == 1 and f"wrote {report}" in result.output
    text = report.read_text(encoding="utf-8")
    assert "http" not in text.replace("http://127.0.0.1", "")  # self-contained
    page = opened(chromium, report)
    assert page.get_by_text("違反 1 件: LG-3 × 1").is_visible()
    assert page.get_by_text("LG-3: 通知キーが必要なログインが通知キーなしで完了した").is_visible()
    assert page.get_by_text("ポリシーが求める通知キーなしでログインが完了した").is_visible()
    assert "a login completed" not in text  # (the command line's English, once)
    assert not any(p in text for p in POLICIES)  # (the policies: in Japanese, not in its table)
    assert page.locator("pre", has_text="LoginAttempt.LoginCompleted").is_visible()
    page.screenshot(path=str(screenshot_path("audit-report.png", tmp_path)), full_page=True)
    assert page.get_by_text("変更: お客様情報は主IDだけ (CI-1)", exact=False).is_visible()
    assert page.get_by_role("heading", name="イベントからは検査できないもの").is_visible()
    assert "<h2>検査したもの</h2><ul><li>ログイン: " in text  # (lists: each was a paragraph)
    assert "<h2>イベントからは検査できないもの</h2><ul><li>" in text
    assert page.get_by_text("パスワードを確かめるのは接続元IPアドレスのログイン失敗が",
                            exact=False).is_visible()
    assert page.get_by_text("接続元IPアドレスを記録していないログイン試行の D-14",
                            exact=False).is_visible()
    page.get_by_label("ログインID").fill("main01")  # the finding's login ID, whole
    assert page.locator("#shown").inner_text() == "1"
    for other in ("someone-else", "main0", "LoginCompleted"):  # not a part, not the evidence
        page.get_by_label("ログインID").fill(other)
        assert page.locator("#shown").inner_text() == "0"
    assert not page.locator(".finding").first.is_visible()
    assert page.get_by_text("条件に合うものはありません。").is_visible()
    page.close()


def test_history_html_lists_every_attempt_and_filters_by_outcome(
    chromium: Browser, planted: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["history", "--format", "html"],
                                env={"BS_SQLITE_PATH": str(planted)})
    assert result.exit_code == 0
    report = tmp_path / "history.html"
    report.write_text(result.output, encoding="utf-8")
    page = opened(chromium, report)
    rows = page.locator("tbody tr")
    assert rows.count() == 3  # the first login, the planted one, the unknown ID
    lines = page.evaluate(  # (主 above ID, 初 above 回; an auditor saw ログイン完了 a
        "[...document.querySelectorAll('tbody td')]"  # character a line, key policies beside)
        ".filter(td => ['主ID', '初回', 'ログイン完了', 'パスワード誤り'].includes(td.textContent))"
        ".map(td => {"
        " const r = document.createRange(); r.selectNodeContents(td);"
        " return r.getClientRects().length; })")
    assert len(lines) >= 4 and set(lines) == {1}
    select = page.get_by_label("結果").bounding_box()  # (as wide as its longest choice)
    assert select and select["width"] < 400
    page.get_by_label("結果").select_option("password_rejected")
    assert page.locator("#shown").inner_text() == "1"
    assert page.get_by_role("cell", name="未登録のID").is_visible()
    assert page.get_by_role("cell", name="2015/01/16 09:58:00").is_visible()  # as screens show
    page.get_by_label("結果").select_option("")
    unknown = FAST_HASHER.unknown("nobody01")  # (recorded as its tag, D-9)
    assert "history --login-id ID" in page.locator("p.meta").last.inner_text()  # (it says so)
    for typed, shown in (("main01", "2"), ("main0", "0"), ("nobody01", "0"), (unknown, "1")):
        page.get_by_label("ログインID").fill(typed)
        assert page.locator("#shown").inner_text() == shown, typed
    page.get_by_label("ログインID").fill("")
    page.get_by_label("期間の始め (JST)").fill("2015-01-17T00:00")
    page.get_by_label("期間の終わり (JST, 含まない)").fill("2015-01-16T00:00")  # before it
    assert page.get_by_role("alert").inner_text() == "期間の終わりは始めより後にしてください。"
    assert not page.get_by_text("条件に合うものはありません。").is_visible()
    page.get_by_label("期間の終わり (JST, 含まない)").fill("2015-01-18T00:00")
    assert not page.get_by_role("alert").is_visible() and page.locator("#shown").inner_text() == "0"
    first = page.evaluate("[...document.querySelectorAll('tbody tr')].map(r => r.dataset.at).sort()[0]")
    page.get_by_label("期間の始め (JST)").fill("")
    page.get_by_label("期間の終わり (JST, 含まない)").fill(first)  # its end is not in it
    assert page.locator("#shown").inner_text() == "0"
    page.get_by_label("期間の終わり (JST, 含まない)").fill("")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the table scrolls in its box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # (it was 557 px wide,
    cell = page.get_by_role("cell", name="未登録のID").bounding_box()
    assert cell and cell["width"] > 60  # a word a line)
    page.close()


def test_history_html_filters_by_client_address(
    chromium: Browser, tmp_path: Path, mailbox: MailboxFolder, start: FrozenDateTimeFactory
) -> None:
    """D-14 counts by address: an auditor looking into a stuffing narrows the page to one."""
    path = tmp_path / "portal.sqlite3"
    app = build(store_settings("sqlite", path), mailbox)
    onboard(app)
    for address in ("203.0.113.9", "203.0.113.10", "203.0.113.9"):
        app.log_in_from(address, "main01", "wrong")
    app.log_in("main01", PASSWORD)  # the services' own: no address
    app.close()
    report = tmp_path / "history.html"
    report.write_text(CliRunner().invoke(main, ["history", "--format", "html"], env={
        "BS_SQLITE_PATH": str(path)}).output, encoding="utf-8")
    page = opened(chromium, report)
    assert page.locator("tbody tr").count() == 4
    for typed, shown in (("203.0.113.9", "2"), ("203.0.113.1", "0"), ("", "4")):  # whole
        page.get_by_label("接続元IPアドレス (完全一致)").fill(typed)
        assert page.locator("#shown").inner_text() == shown, typed
    page.close()


def test_every_rule_verify_reports_has_its_words_on_the_findings_page() -> None:
    modules = [importlib.import_module(f"application.audit.{name}")  # (verify: a function too)
               for name in ("verify", "attempt_rules", "digests", "pairs")]
    source = "".join(Path(str(m.__file__)).read_text(encoding="utf-8") for m in modules)
    literal = set(re.findall(r'Violation\("([A-Z]{1,2}-\d+)"', source))
    broken = set(modules[1]._BROKEN_BY.values())
    assert literal and literal | broken | {"CI-1", "SB-2", POLICY} == set(FINDINGS)


def test_every_outcome_has_its_words_on_the_auditors_pages() -> None:
    assert set(OUTCOMES) == {o.value for o in Outcome}
    assert all(OUTCOMES.values())


def test_verify_names_what_it_read_and_says_when_D_14_went_unjudged(
        planted: Path, tmp_path: Path) -> None:
    """An auditor could not tell from the answer which store was read (a setting and an
    argument may name two), whether a page came of a whole read or a checkpoint's, nor that
    違反なし covered no D-14 where no attempt records a client address (as here: no portal)."""
    report, checkpoint = tmp_path / "audit.html", tmp_path / "audit.ckpt"
    whole = CliRunner().invoke(main, ["verify", str(planted), "--html", str(report)],
                               env={"BS_SQLITE_PATH": str(tmp_path / "another.sqlite3")})
    assert f"store: {planted}\n" in whole.output and D14_UNJUDGED in whole.output
    page = report.read_text(encoding="utf-8")
    assert "検査の範囲: ストア全体</p>" in page and D14_UNJUDGED_JA in page
    for more in ([], ["--snapshots", "--html", str(report)]):  # (a process of its own: no
        again = subprocess.run(  # frozen clock's datetimes for the checkpoint to refuse)
            [sys.executable, "-P", "-m", "billing_station.console", "verify", str(planted),
             "--checkpoint", str(checkpoint), *more], capture_output=True, text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("BS_")})  # (no
        #   timeout: the frozen clock would call it spent at once)
        assert again.returncode == 1, again.stderr  # (the planted LG-3, remembered)
    assert (f"検査の範囲: チェックポイント {checkpoint} の続き: 通知 " in
            report.read_text(encoding="utf-8"))
    assert "、スナップショットもイベントと照合 (--snapshots)" in report.read_text(encoding="utf-8")


def attempt_row(at: str, **changes: Any) -> LoginRecord:
    return attrs.evolve(LoginRecord(
        f"attempt-{at}", f"2015-01-16T{at}+09:00", "main01", "main", "completed", True, True,
        False, 2, 1, 40, "", "", ""), **changes)


def test_history_html_shows_each_attempt_s_numbers_under_their_headings_and_ids_as_text(
        ) -> None:
    records = [attempt_row("10:00:00"),
               attempt_row("10:01:00", login_id="<b>x</b>", outcome="password_rejected",
                           keys_issued=0, wrong_entries=0),
               attempt_row("10:02:00", outcome="password_rejected", keys_issued=0)]
    page = history_page(records, None, datetime(2015, 1, 17, tzinfo=JST))
    heads = re.findall(r"<th>(.*?)</th>", page.split("</thead>")[0])
    first = dict(zip(heads[1:], table_rows(page)["2015/01/16 10:00:00"], strict=True))
    assert (first["発行キー数"], first["誤入力"]) == ("2", "1")
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page  # a tampered store's
    assert (f"ログイン試行 3 件: {OUTCOMES['password_rejected']} 2、{OUTCOMES['completed']} 1"
            in page)  # the most first
    assert "期間: 最初 から 2015/01/17 00:00:00 まで (終わりを含まない)" in page


def test_verify_html_lists_the_rules_found_in_order_and_each_finding_s_login_ids_and_time(
        ) -> None:
    found = [Violation(rule, "information changed by sub01, not by the main ID main01",
                       ["2015/01/16 10:00:12 Account.InformationChanged by=sub01"], "")
             for rule in ("SB-2", "CI-1", "SB-2")]
    page = findings_page(found, Counter(), "portal.sqlite3")
    assert "違反 3 件: CI-1 × 1、SB-2 × 2" in page
    assert 'data-at="2015-01-16T10:00" data-id="main01 sub01"' in page
