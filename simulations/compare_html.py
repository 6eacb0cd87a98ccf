"""Runs under different policies as a page to hand on, in Japanese: compare.html, one
column each, headed by the value of what was varied (the key validity, unless another
number of the policy); one self-contained file, as report.html is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from simulations.html import esc, page, table
from simulations.report import PERCENTILES, Report, compared_outcomes
from simulations.report_html import (
    GAVE_UP,
    GROUP_TIME_NOTE,
    OUTCOME_LABELS,
    PERCENTILE_LABELS,
    STYLE,
    TIME_NOTE,
    captioned,
    dates_ja,
    described,
    duration_ja,
    made_at,
)
from simulations.run_folder import COMPARE_OUTCOMES, COMPARE_TIME_TO_LOGIN, REPORT_HTML
from simulations.varied import VALIDITY, Varied, policy_ja
from simulations.wording import percent


def heading(r: Report, reports: list[Report], i: int, varied: Varied = VALIDITY) -> str:
    """What differs between the runs: the value ``varied`` (else the run's number)."""
    if len({varied.value(x) for x in reports}) == len(reports):
        return varied.label(varied.value(r))
    return f"{i + 1}回目 ({r.policy})"


def compare_page(reports: list[Report], plots: list[Path], now: datetime | None = None,
                 varied: Varied = VALIDITY) -> str:
    first = reports[0]
    links = [esc(f"{varied.folder_of(varied.value(r))}/{REPORT_HTML}") for r in reports]
    head = [""] + [f'<a href="{link}" title="この条件の詳しい報告">'  # (the runs' links were
                   f"{esc(heading(r, reports, i, varied))}</a>"  # small, at the page's foot)
                   for i, (r, link) in enumerate(zip(reports, links, strict=True))]
    rows = [[esc(name)] + [cell(r) for r in reports]
            for name, cell in _compare_rows(reports) + _d14_rows(reports)]
    body = (f"<h1>{esc(varied.name_ja)}の比較: {esc(first.scenario)}</h1>"
            f'<p class="meta">作成日時: {made_at(now)}<br>共通: シナリオ {described(first)}、'
            f"{first.days}日間{dates_ja(first)}、seed {first.seed}、ログインID {first.people:,}件、"
            f"{esc(policy_ja(first, leave_out=varied))} "
            "(同じ人が同じ時刻に来訪し、各来訪はメールの遅れや入力の時間を同じ乱数列から引きます。"
            f"違うのは{esc(varied.name_ja)}だけで、数字の違いはその影響です)</p>"
            + '<section class="key"><h2>数値</h2>' + table(head, rows, numeric_from=1)
            + f"<p><small>* {esc(TIME_NOTE)}{_d14_note(reports)}</small></p></section>"
            + "<section><h2>図</h2>" + "".join(captioned(plots, _captions(varied)).values())
            + "</section>"
            + "<p><small>各条件の詳しい報告 (表の見出しからも開けます): "
            + "、".join(f'<a href="{link}">{link}</a>' for link in links) + "</small></p>")
    return page(f"{varied.name_ja}の比較: {first.scenario}", f"<main>{body}</main>",
                style=STYLE)


def _captions(varied: Varied) -> dict[str, str]:
    """The comparison's plots, by what was varied."""
    return {
        COMPARE_TIME_TO_LOGIN: f"{varied.name_ja}ごとのログインまでの時間 (全訪問に対する累積"
                               "割合、破線は通知キーの有効期限)",
        COMPARE_OUTCOMES: f"{varied.name_ja}ごとの件数 (全期間、どの条件でも0件の項目は省略)"}


def _compare_rows(reports: list[Report]) -> list[tuple[str, Callable[[Report], str]]]:
    def share(n: int, r: Report) -> str:
        return f"{n:,} ({percent(n, r.visits)})"

    rows: list[tuple[str, Callable[[Report], str]]] = [
        ("訪問", lambda r: f"{r.visits:,}"),
        ("ログインできた訪問", lambda r: share(r.logged_in, r)),
        ("ログインできなかった訪問", lambda r: share(r.not_logged_in, r)),
        ("サポートへの連絡 (LG-8)", lambda r: share(sum(r.support.values()), r)),
        ("ログイン試行 (「ログイン」の押下)", lambda r: f"{r.attempts:,}"),
        *((f"　{OUTCOME_LABELS[o]}", lambda r, o=o: f"{r.outcomes.get(o.value, 0):,}")
          for o in compared_outcomes(reports)),
        ("通知キーで完了したログイン", lambda r: f"{r.with_key:,}"),
        ("発行した通知キー", lambda r: f"{r.keys_issued:,}"),
        ("　うち再発行", lambda r: f"{r.keys_reissued:,}"),
    ]
    rows += [(f"ログインまでの時間 {PERCENTILE_LABELS[p]} *", _time_cell(p)) for p in PERCENTILES]
    rows += [("最も遅かったログイン", lambda r: esc(duration_ja(r.slowest_login)))]
    return rows


def _d14_rows(reports: list[Report]) -> list[tuple[str, Callable[[Report], str]]]:
    """D-14's rows, when the people log in from client addresses (and a stuffer's)."""
    if not any(r.client_addresses for r in reports):
        return []
    rows: list[tuple[str, Callable[[Report], str]]] = [
        ("利用者の「ログイン」のうち接続元IPアドレスの制限で拒否したもの",
         lambda r: f"{r.throttled:,}"),
        (GAVE_UP, lambda r: f"{r.gave_up:,} ({percent(r.gave_up, r.visits)})")]
    if any(r.attacked_addresses for r in reports):
        rows += [("リスト型攻撃の試行: 照合して失敗",
                  lambda r: f"{r.tries_checked:,} ({percent(r.tries_checked, r.tries)})"),
                 ("攻撃元と同じアドレスの利用者: ログインできた訪問",
                  lambda r: f"{r.exposed.logged_in:,} ({percent(r.exposed.logged_in, r.exposed.count)})"),
                 ("攻撃元と同じアドレスの利用者: ログインまで p90 †",
                  lambda r: esc(duration_ja(r.exposed.seconds_to_login.get("p90")))),
                 ("それ以外の利用者: ログインできた訪問",
                  lambda r: f"{r.unexposed.logged_in:,} "
                            f"({percent(r.unexposed.logged_in, r.unexposed.count)})")]
    return rows


def _d14_note(reports: list[Report]) -> str:
    if not any(r.attacked_addresses for r in reports):
        return ""
    return f"<br>† {esc(GROUP_TIME_NOTE)}"


def _time_cell(name: str) -> Callable[[Report], str]:
    return lambda r: esc(duration_ja(r.seconds_to_login.get(name)))
