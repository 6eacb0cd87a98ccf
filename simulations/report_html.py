"""A simulation's report as a page to hand on, in Japanese: report.html (one run), one
self-contained file: the numbers, the plots as PNG data: URIs, the text report. (compare.html
is ``compare_html``'s.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import attrs

from application import japan_time, screens
from application.audit import Outcome
from application.japan_time import JST
from application.outcomes import ContactRoute
from simulations.html import esc, page, png_figure, table
from simulations.report import PERCENTILES, PRODUCTION_HASH_COST, ROUTES, Report, Visits
from simulations.report_text import duration, listed, text
from simulations.run_folder import (
    COMPARE_HTML,
    EXPIRIES_BY_HOUR,
    TIME_TO_LOGIN,
)
from simulations.varied import policy_ja
from simulations.wording import percent

OUTCOME_LABELS = screens.OUTCOMES
ROUTE_LABELS = {ContactRoute.OPERATOR: "オペレータ担当へ (主ID)",
                ContactRoute.MAIN_ID_PERSON: "主IDの担当者へ (副ID)"}
PERCENTILE_LABELS = {"p50": "中央値 (p50)", "p90": "p90", "p99": "p99"}
TIME_NOTE = ("全訪問に対する値です。ログインできなかった訪問は、どのログインよりも遅いものとして"
             "数えます (そのため条件が厳しくても、失敗が抜けて速く見えることはありません)。"
             "時間がかかるのは通知キーのメールの到着と入力、再ログインまでの待ち時間だけで、"
             "通知キーを使わないログインは待たなければ0秒です。")
STYLE = """
.key td.num{font-size:1.15em;font-weight:bold}
section{margin-bottom:1.5em}
"""


@attrs.frozen
class RunFigures:
    """What the run cost the machine (not part of the report's numbers)."""

    seconds: float
    peak_mib: float


def duration_ja(seconds: float | None) -> str:
    return duration(seconds, "分", "秒", "ログインできず")


def made_at(now: datetime | None) -> str:
    """As the screens write an instant (2026/04/06 09:58), in Japan time."""
    return f"{japan_time.jst(now or datetime.now(JST))} (日本時間)"


# report.html ---------------------------------------------------------------------------
def report_page(r: Report, folder: Path, plots: list[Path], run: RunFigures | None = None,
                now: datetime | None = None, stores: Sequence[Path] = (),
                compared_as: str | None = None) -> str:
    """The page for ``folder``; ``stores``: the SQLite stores the run left (none named if
    none is given); ``compared_as``: for one run of a --compare, its value there (in the
    title, the runs' pages told apart, with a link back to the comparison)."""
    title = f"シミュレーション報告: {r.scenario}" + (f" ({compared_as})" if compared_as else "")
    back = (f'<p class="meta"><a href="../{COMPARE_HTML}">比較 ({COMPARE_HTML}) へ戻る</a></p>'
            if compared_as else "")
    captions = SPLIT_CAPTIONS if r.attacked_addresses else PLOT_CAPTIONS
    shown = captioned(plots, captions)  # each
    body = (f"<h1>{esc(title)}</h1>{back}{_about(r, now)}"  # plot beside its numbers
            + _key_figures(r) + _times(r, shown.get(TIME_TO_LOGIN, "")) + _attempts(r)
            + _addresses(r) + _keys(r) + _expiries(r, shown.get(EXPIRIES_BY_HOUR, ""))
            + _run(r, run, folder, stores)
            + "<details><summary>テキスト版 (report.txt: 英語、数値は上と同じ)</summary>"
            + f"<pre>{esc(text(r))}</pre></details>")
    return page(title, f"<main>{body}</main>", style=STYLE)


def _about(r: Report, now: datetime | None) -> str:
    return (f'<p class="meta">作成日時: {made_at(now)}<br>シナリオ {described(r)}: '
            f"{r.days}日間{dates_ja(r)}、seed {r.seed}、ログインID {r.people:,}件<br>"
            f"ポリシー: {esc(policy_ja(r))}<br>"
            f"ハッシュ: scrypt N=2^{r.hash_cost} {_hash_cost_ja(r)}<br>"
            f"休日: {_days_off_ja(r)}</p>")


def described(r: Report) -> str:
    """The scenario's name, and its own line for people if it has one: office 「…」."""
    return esc(r.scenario) + (f" 「{esc(r.description)}」" if r.description else "")


def _days_off_ja(r: Report) -> str:
    weekends = ("土日" if r.weekend_days is None else
                f"土日 {r.weekend_days}日" if r.weekend_days else "")
    return "、".join([*([weekends] if weekends else []),
                     *(f"{d.replace('-', '/')} {esc(n)}" for d, n in r.holidays_off.items())
                     ]) or "なし"


def dates_ja(r: Report) -> str:
    """ (2026/04/06〜2026/05/05): the simulated days, as the screens write dates."""
    return f" ({r.start.replace('-', '/')}〜{r.end.replace('-', '/')})" if r.start else ""


def _hash_cost_ja(r: Report) -> str:
    if r.hash_cost_set:
        return f"(シナリオの hash_cost。本番は 2^{PRODUCTION_HASH_COST})"
    return "(本番と同じ値。シナリオに hash_cost の指定なし)"


def _count_row(label: str, n: int, whole: int) -> list[str]:
    return [esc(label), f"{n:,}", f"{percent(n, whole)} ({n:,}/{whole:,})" if whole else "-"]


def _key_figures(r: Report) -> str:
    support = sum(r.support.values())
    rows = [[esc("訪問 (ログインしたい人の来訪)"), f"{r.visits:,}", ""],
            _count_row("ログインできた訪問", r.logged_in, r.visits),
            _count_row("ログインできなかった訪問", r.not_logged_in, r.visits),
            _count_row("サポートへの連絡 (LG-8)", support, r.visits)]
    rows += [[f"　うち {esc(label)}", f"{r.support.get(ROUTES[route], 0):,}", ""]
             for route, label in ROUTE_LABELS.items()]
    if r.client_addresses:  # D-14: told to wait once too often (no contact is named for it)
        rows.append(_count_row(GAVE_UP, r.gave_up, r.visits))
    return ('<section class="key"><h2>主な数値</h2>'
            + table(["", "件数", "割合"], rows, numeric_from=1)
            + "<p><small>1回の訪問で「ログイン」を何度か押すことがあります (パスワードの打ち間違い、"
              "期限切れの後の再ログイン)。その1回1回は「ログイン試行」として下に数えます"
            + ("(接続元IPアドレスの制限で照合せずに拒否したものは記録されないため除きます)"
               if r.client_addresses else "") + "。</small></p></section>")


def _times(r: Report, plot: str) -> str:
    rows = [[esc(PERCENTILE_LABELS[p]), esc(duration_ja(r.seconds_to_login.get(p)))]
            for p in PERCENTILES]
    rows.append([esc("ログインできた訪問のうち最長"), esc(duration_ja(r.slowest_login))
                 if r.slowest_login is not None else "-"])
    return ('<section><h2>ログインまでの時間</h2>'
            f"<p>最初の「ログイン」からトップページまで。全 {r.visits:,}件の訪問"
            f"{f'(うちログインできなかった {r.not_logged_in:,}件を含む)' if r.not_logged_in else ''}"
            "に対して。</p>" + table(["", "時間"], rows, numeric_from=1)
            + f"<p><small>{esc(TIME_NOTE)}</small></p>{plot}</section>")


def _attempts(r: Report) -> str:
    rows = [_count_row(OUTCOME_LABELS[o], r.outcomes.get(o.value, 0), r.attempts)
            for o in Outcome if r.outcomes.get(o.value, 0)]
    completed = r.outcomes.get(Outcome.COMPLETED.value, 0)
    return ('<section><h2>ログイン試行 (「ログイン」の押下) とその結末</h2>'
            f"<p>試行 {r.attempts:,}件 (イベントストアから数えた値"
            f"{f'。うちリスト型攻撃の試行 {r.tries_checked:,}件' if r.tries else ''})。"
            f"完了 {completed:,}件のうち、"
            f"通知キーあり {r.with_key:,}件・なし {r.without_key:,}件 "
            "(初回ログインと通知キーを利用しないIDはキーなし)。</p>"
            + table(["結末", "件数", "割合"], rows, numeric_from=1) + "</section>")


def _addresses(r: Report) -> str:
    """D-14, when the people log in from client addresses: what it refused, and what a
    stuffer behind an address costs the people who share it."""
    if not r.client_addresses:
        return ""
    body = (f"<p>「ログイン」は {r.client_addresses:,}の接続元IPアドレスから (1つのアドレスを"
            f"最大 {r.customers_per_address:,}社の利用者が共有)。1つのアドレスから"
            f"{japan_time.span(r.address_window_minutes * 60)}間に{r.address_failure_limit:,}回"
            "失敗すると、パスワードを"
            f"照合せずに「{esc(screens.THROTTLED)}」と表示します (D-14)。利用者の「ログイン」"
            f"のうち、このように拒否されたもの {r.throttled:,}件 (訪問 {r.throttled_visits:,}件、"
            f"うち再ログインの上限に達していて断念したもの {r.gave_up:,}件)。拒否された"
            "「ログイン」は記録されないため、ログイン試行には含みません。</p>")
    if r.attacked_addresses:
        body += (f"<p>そのうち {r.attacked_addresses:,}アドレス "
                 f"({esc(listed(r.attacked, '〜'))}) は、リスト型攻撃の攻撃元とも共有されています "
                 f"(存在しないログインIDと漏えいしたパスワードを、昼夜を問わず1時間に"
                 f"{r.tries_per_hour:g}回ずつ試行)。</p>"
                 + table(["攻撃の試行", "件数", "割合"], [
                     [esc("試行"), f"{r.tries:,}", ""],
                     _count_row("照合せずに拒否", r.tries_refused, r.tries),
                     _count_row("照合して失敗 (ログイン試行に含む)", r.tries_checked, r.tries)],
                     numeric_from=1)
                 + "<p>攻撃元と同じアドレスの利用者と、それ以外の利用者の訪問とログインまでの時間:</p>"
                 + table(["", "訪問", "ログインできた",
                          *(PERCENTILE_LABELS[p] for p in PERCENTILES)],
                         [_visits_row("攻撃元と同じアドレスの利用者", r.exposed),
                          _visits_row("それ以外の利用者", r.unexposed)], numeric_from=1)
                 + f"<p><small>{esc(GROUP_TIME_NOTE)}</small></p>")
    return f"<section><h2>接続元IPアドレスごとの制限 (D-14)</h2>{body}</section>"


ONE_DAY = ("1日だけの実行です。各IDの初回ログインには通知キーが要らないため、通知キーの発行"
           "まで見るには --days を2以上にしてください。")
NO_KEY = ("通知キーは1件も発行されていません。完了したログインはすべて、そのIDの初回ログイン "
          "(LG-4、D-1) か、通知キーを利用しないIDによるものでした。")
GAVE_UP = "待つよう言われ、再ログインの上限に達していて断念した訪問 (D-14)"
GROUP_TIME_NOTE = ("ログインまでの時間は、それぞれの訪問全体に対する値です。ログインできなかった"
                   "訪問は、どのログインよりも遅いものとして数えます。")


def _visits_row(label: str, v: Visits) -> list[str]:
    times = v.seconds_to_login
    return [esc(label), f"{v.count:,}",
            f"{percent(v.logged_in, v.count)} ({v.logged_in:,}/{v.count:,})" if v.count else "-",
            *(esc(duration_ja(times.get(p))) if times else "-" for p in PERCENTILES)]


def _keys(r: Report) -> str:
    rows = [[esc("発行した通知キー"), f"{r.keys_issued:,}"],
            [esc("　うち再発行 (同じ訪問の2通目以降)"), f"{r.keys_reissued:,}"],
            [esc("期限切れ"), f"{r.outcomes.get(Outcome.EXPIRED.value, 0):,}"],
            [esc("ロック"), f"{r.outcomes.get(Outcome.LOCKED.value, 0):,}"]]
    return ('<section><h2>通知キー</h2>' + table(["", "件数"], rows, numeric_from=1)
            + (f'<p class="note">{esc(NO_KEY)}{esc(ONE_DAY) if r.days == 1 else ""}</p>'
               if r.no_key_sent else "")
            + "<p><small>再発行は発行の内数です (期限切れ・ロック・届かないメールの後、"
              "再ログインで新しいキーが送られた数)。</small></p></section>")


PLOT_CAPTIONS = {
    TIME_TO_LOGIN: "ログインまでの時間 (全訪問に対する累積割合、破線は通知キーの有効期限)",
    EXPIRIES_BY_HOUR: "時間帯別の期限切れ (「ログイン」を押した時刻、日本時間)",
}


SPLIT_CAPTIONS = PLOT_CAPTIONS | {  # (plots.single, with a credential stuffer: D-14)
    TIME_TO_LOGIN: "ログインまでの時間 (累積割合: 全員は全訪問に、攻撃元と同じアドレスの利用者と"
                   "それ以外の利用者はそれぞれの訪問に対して。破線は通知キーの有効期限)"}


def captioned(plots: list[Path], captions: dict[str, str]) -> dict[str, str]:
    """Each plot as a figure with its caption, by its file's name."""
    return {p.name: png_figure(p, captions.get(p.name, p.stem)) for p in plots}


def _expiries(r: Report, plot: str) -> str:
    if not any(r.expiries_by_hour.values()):
        return "<section><h2>時間帯別の期限切れ</h2><p>期限切れはありません。</p></section>"
    rows = [[f"{int(h)}時台", f"{n:,}", f"{r.keys_by_hour.get(h, 0):,}",
             percent(n, r.keys_by_hour.get(h, 0))]
            for h, n in r.expiries_by_hour.items()]
    return ("<section><h2>時間帯別の期限切れ</h2>" + plot
            + "<details><summary>表で見る (1時間ごと)</summary>"
            + table(["「ログイン」を押した時刻 (日本時間)", "期限切れ", "発行した通知キー",
                     "期限切れの割合"],
                    rows, numeric_from=1)
            + "</details></section>")


def _run(r: Report, run: RunFigures | None, folder: Path, stores: Sequence[Path]) -> str:
    rows = [[esc("保存したイベント"), f"{r.events:,}"]]
    if run:
        rate = r.events / run.seconds if run.seconds else 0
        rows += [[esc("実行時間"), f"{run.seconds:,.1f} 秒"],
                 [esc("保存の速さ"), f"{rate:,.0f} イベント/秒"],
                 [esc("最大メモリ"), f"{run.peak_mib:,.0f} MiB"]]
    return ("<section><h2>実行</h2>" + table(["", "値"], rows, numeric_from=1)
            + _stores(folder, stores) + "</section>")


def _stores(folder: Path, stores: Sequence[Path]) -> str:
    """Where the run's events are, named from this page's folder, so that the names hold
    wherever the folder is handed on (a sharded run's are one store per shard)."""
    if not stores:
        return ""
    names = [esc(_beside(folder, store)) for store in stores]
    if len(names) == 1:
        return (f"<p><small>イベントストア: {names[0]} (このページのフォルダ内。"
                "監査コマンドで読めます)</small></p>")
    shown = "、".join(names) if len(names) <= 3 else f"{names[0]} 〜 {names[-1]}"
    return (f"<p><small>イベントストア: シャードごとに {len(names):,} 個 ({shown}、このページの"
            "フォルダ内)。監査コマンド verify はまとめて読めます</small></p>")


def _beside(folder: Path, store: Path) -> str:
    """``store`` from ``folder``: simulation.sqlite3, shard-01-of-02/simulation.sqlite3."""
    try:
        return str(store.resolve().relative_to(folder.resolve()))
    except ValueError:  # not under the page's folder: named in full
        return str(store.resolve())
