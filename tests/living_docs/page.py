"""The features report's page: header, summary, contents, filter, and the manual's sections,
each rule with the scenarios that prove it and the tests named by it."""

from __future__ import annotations

import functools
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from application import japan_time
from simulations.html import esc, page, stacked_bars, table
from tests.living_docs.assets import SCRIPT, STYLE
from tests.living_docs.context import COLOUR, LABEL, Context, scenario_anchor
from tests.living_docs.evidence import evidence_of
from tests.living_docs.inputs import (
    FEATURES,
    BrowserRun,
    Evidence,
    Run,
    error_summary,
    mask_keys,
    named_tests,
    runs_by_scenario,
    scenarios,
)


def render(cucumber: list[dict[str, Any]], *, made_at: datetime, commit: str,
           evidence: dict[str, list[Evidence]] | None = None,
           screenshots: dict[str, list[Path]] | None = None,
           browser: BrowserRun | None = None) -> str:
    catalogue = tomllib.loads((FEATURES / "rules.toml").read_text(encoding="utf-8"))
    ctx = Context(catalogue, scenarios(), runs_by_scenario(cucumber), evidence or {},
                  screenshots or {})
    body = (_header(ctx, made_at, commit, browser) + _summary(ctx) + _failures(ctx) + _contents(ctx)
            + _filter(ctx) + "".join(_section(ctx, s, t) for s, t in catalogue["sections"].items()))
    return page(f"仕様の実行結果: {_verdict(ctx)}", f"<main>{body}</main>{ctx.pictures.stored()}",
                style=STYLE,
                script=SCRIPT)


def _failed(ctx: Context) -> int:
    return sum(r.status == "failed" for r in ctx.all_runs())


def _verdict(ctx: Context) -> str:
    """「N件失敗」 (failed runs, as pytest counts them), the scenarios that did not run, or
    「すべて成功」."""
    not_run = sum(1 for s in ctx.scenarios if ctx.status_of(s) == "not-run")
    parts = [f"{_failed(ctx)}件失敗"] if _failed(ctx) else []
    parts += [f"{not_run}シナリオ未実行"] if not_run else []
    return "・".join(parts) or f"すべて成功 ({len(ctx.all_runs())}件)"


def _header(ctx: Context, made_at: datetime, commit: str, browser: BrowserRun | None) -> str:
    bad = "bad" if _failed(ctx) else "warn" if "未実行" in _verdict(ctx) else "ok"
    when = f"{japan_time.jst(made_at, seconds=True)} (日本時間)"
    return (f"<header><h1>ビリングステーション 通知キー: 仕様(ルールとシナリオ)の実行結果</h1>"
            f'<p class="verdict {bad}">{esc(_verdict(ctx))}</p>'
            f"{_browser_verdict(browser, _always_in_a_browser(ctx))}"
            f'<p class="meta">作成日時: {esc(when)} ・ コミット: <code>{esc(commit)}</code></p>'
            '<p class="print-choice"><label><input type="checkbox" id="print-shots" checked> '
            "印刷に画面写真を含める (前提の画面は含めません)</label></p></header>")


def _always_in_a_browser(ctx: Context) -> int:
    """The runs of portal.feature, whose steps are a person at a browser in every run."""
    return sum(len(ctx.runs_of(s)) for s in ctx.scenarios if s["file"] == "portal.feature")


def _browser_verdict(browser: BrowserRun | None, portal_runs: int = 0) -> str:
    """Whether the screenshots come from a run that passed: the scenarios' results above
    are the services' run's (but portal.feature's, whose steps are a browser's anyway)."""
    if browser is None:
        return ""
    if browser.problem or browser.failed:
        what = browser.problem or f"{browser.failed}件失敗 (画面写真には失敗した実行のものが含まれます)"
        return f'<p class="verdict bad">画面写真を撮ったブラウザでの実行: {esc(what)}</p>'
    skipped = f" (画面のないシナリオ {browser.skipped}件は実行せず)" if browser.skipped else ""
    portal = (f"ただし portal.feature の{portal_runs}件はこの実行の中でブラウザで操作しており "
              "(「画面の文字」はそのページの文字です。実際の時刻で動き、テスト用のお客様を使います)、"
              "その画面写真もこの実行で撮ったものです。" if portal_runs else "")
    return (f'<p class="meta">上の結果は、シナリオの手順を画面を通さずアプリケーションで直接'
            "行った実行のものです (各手順の「画面の要点」は、その実行でアプリケーションが返した"
            "画面の題名とメッセージで、添えた時刻はシナリオの時計の日本時間です)。"
            f"{portal}{'ほかのシナリオの' if portal else ''}画面写真は、"
            f"同じ手順をブラウザで行ったもう一つの実行で撮りました: {browser.passed}件成功、"
            f"失敗なし{skipped}。</p>")


def _counts(statuses: list[str]) -> list[tuple[str, int, str]]:
    return [(LABEL[s], statuses.count(s), COLOUR[s]) for s in ("passed", "failed", "not-run")]


def _summary(ctx: Context) -> str:
    runs = ctx.all_runs()
    rules = [ctx.rule_status(r) for r in ctx.catalogue["rules"]]
    scenario_statuses = [ctx.status_of(s) for s in ctx.scenarios]
    rows = [[esc(what)] + [str(n) for _, n, _ in _counts(statuses)] + [str(len(statuses))]
            for what, statuses in (("ルール", rules), ("シナリオ", scenario_statuses),
                                   ("実行 (例の行ごと)", [r.status for r in runs]))]
    orphans = [r for r in ctx.catalogue["rules"] if ctx.rule_status(r) == "none"]
    orphan_note = (f"<p>シナリオのないルール ({len(orphans)}件、合計に含む): "
                   + ", ".join(f'<a href="#{r}">{r}</a>' for r in orphans) + "</p>") if orphans else ""
    chart_rows = []
    for section, title in ctx.catalogue["sections"].items():
        section_runs = {id(r): r for rule, _ in ctx.rules_of(section)
                        for s in ctx.proving(rule) for r in ctx.runs_of(s)}
        chart_rows.append((title, _counts([r.status for r in section_runs.values()])))
    chart = stacked_bars(chart_rows, "章ごとの実行結果 (成功・失敗・未実行の件数)")
    return ('<section id="summary"><h2>概要</h2>'
            + table(["", "成功", "失敗", "未実行", "合計"], rows, numeric_from=1)
            + orphan_note + "<p><small>ルールは証明するシナリオがすべて成功して「成功」。"
              "シナリオアウトラインは例の行ごとに1件の実行。章ごとのグラフは、いくつかの章の"
              "ルールを示す実行をその章ごとに数えるため、章の件数の和は実行の合計より多くなり"
              "ます。シナリオはルールを例で示すもので、"
              "例で示しにくい細部 (乱数の一様さ、比較にかかる時間など) は、名前にルール番号を"
              "持つテストが確かめています (各ルールの下に一覧。その結果はこの報告に含みません:"
              " ./go test で実行)。</small></p>"
            + f"<figure>{chart}<figcaption>章ごとの実行結果 (件数)</figcaption></figure></section>")


def _failures(ctx: Context) -> str:
    items = [f'<li><a href="#{scenario_anchor(s)}">{esc(s["name"])}</a>'
             f'{" [" + esc(r.row) + "]" if r.row else ""}: '
             f"{esc(r.failing_step.text if r.failing_step else '')}</li>"
             for s in ctx.scenarios for r in ctx.runs_of(s) if r.status == "failed"]
    if not items:
        return ""
    return f'<section id="failures"><h2>失敗一覧</h2><ol>{"".join(items)}</ol></section>'


def _contents(ctx: Context) -> str:
    sections = []
    for section, title in ctx.catalogue["sections"].items():
        rules = "".join(  # (the rule's words on hovering its id: the ids alone say little)
            f'<li><a href="#{rule}" title="{esc(statement)}">{rule}</a> '
            f'<span class="mark {ctx.rule_status(rule)}">{LABEL[ctx.rule_status(rule)]}</span>'
            "</li>" for rule, statement in ctx.rules_of(section))
        sections.append(f'<li><a href="#section-{section}">{esc(title)}</a><ul class="rules">'
                        f"{rules}</ul></li>")
    return f'<nav id="contents"><h2>目次</h2><ul>{"".join(sections)}</ul></nav>'


def _filter(ctx: Context) -> str:
    def select(name: str, label: str, options: list[tuple[str, str]]) -> str:
        choices = "".join(f'<option value="{esc(v)}">{esc(t)}</option>' for v, t in options)
        return (f'<label>{label} <select data-filter="{name}"><option value="">すべて</option>'
                f"{choices}</select></label>")

    tags = sorted({t for s in ctx.scenarios for t in s["tags"]}, key=_rule_order(ctx))
    statuses = {ctx.rule_status(rule) for rule in ctx.catalogue["rules"]}
    return ('<form id="filter" class="no-print" hidden><h2>絞り込み</h2>'
            + select("status", "状態", [(k, v) for k, v in LABEL.items()  # (シナリオなし:
                                        if k != "none" or "none" in statuses])  # if any)
            + select("section", "章", list(ctx.catalogue["sections"].items()))
            + select("tag", "タグ", [(t, "@" + t) for t in tags])
            + ' <output id="shown"></output><p id="notice" role="status" hidden></p></form>')


def _rule_order(ctx: Context) -> Any:
    order = {rule: i for i, rule in enumerate(ctx.catalogue["rules"])}
    return lambda tag: (order.get(tag, len(order)), tag)


def _section(ctx: Context, section: str, title: str) -> str:
    rules = "".join(_rule(ctx, section, rule, text) for rule, text in ctx.rules_of(section))
    return (f'<section class="section" id="section-{section}" data-section="{section}">'
            f"<h2>{esc(title)}</h2>{rules}</section>")


def _rule(ctx: Context, section: str, rule: str, statement: str) -> str:
    proving = ctx.proving(rule)
    status = ctx.rule_status(rule)
    scenarios_html = "".join(_scenario(ctx, section, rule, s) for s in proving) or (
        '<p class="none">このルールを証明するシナリオはまだありません。</p>')
    return (f'<div class="rule {status}" id="{rule}"><h3>{rule} '
            f'<span class="mark {status}">{LABEL[status]}</span></h3>'
            f"<p>{esc(statement)}</p>{scenarios_html}{_rule_tests(rule)}"
            '<p class="to-contents no-print"><a href="#contents">目次へ戻る</a></p></div>')


def _rule_tests(rule: str) -> str:
    """The tests that prove the rule beside its scenarios, folded."""
    tests = _NAMED_TESTS().get(rule, [])
    if not tests:
        return ""
    items = "".join(f"<li><code>{esc(name)}</code> <small>{esc(file)}</small></li>"
                    for file, name in tests)
    return (f'<details class="tests"><summary>シナリオのほかにこのルールを確かめるテスト '
            f"({len(tests)}件)</summary><ul>{items}</ul></details>")


_NAMED_TESTS = functools.cache(named_tests)


def _scenario(ctx: Context, section: str, rule: str, s: dict[str, Any]) -> str:
    status, runs = ctx.status_of(s), ctx.runs_of(s)
    passed = sum(r.status == "passed" for r in runs)  # (「成功 (29/29件成功)」 said it twice)
    count = ("" if len(runs) < 2 else f" ({passed}件すべて)" if passed == len(runs)
             else f" (成功 {passed}/{len(runs)}件)")
    tags = " ".join("@" + t for t in s["tags"])
    failed = [r for r in runs if r.status == "failed"]
    content = ("".join(_failed_run(s, r, runs) for r in failed) if failed
               else f"<ol class=steps>{''.join(_written_step(st) for st in s['steps'])}</ol>")
    anchor = ctx.anchor(s, rule)
    seen = (evidence_of(ctx, s, runs) if anchor == scenario_anchor(s) else  # (its evidence once)
            f'<p class="evidence"><a href="#{scenario_anchor(s)}">画面とメールは最初に載せた同じシナリオに'
            "あります</a></p>")
    return (f'<details class="scenario {status}" data-status="{status}" data-section="{section}" '
            f'data-tags="{esc(" ".join(s["tags"]))}" data-scenario="{scenario_anchor(s)}" '
            f'id="{anchor}"{" open" if failed else ""}>'
            f'<summary><span class="mark {status}">{LABEL[status]}{count}</span> '
            f'{esc(s["keyword"])}: {esc(s["name"])} <small>{esc(s["file"])}:{s["line"]} '
            f"{esc(tags)}</small></summary>{_description(s)}{content}{_examples(s, runs)}"
            f"{seen}</details>")


def _description(s: dict[str, Any]) -> str:
    """The text written under a scenario's name (what it is about, why it has no screen)."""
    lines = [esc(line.strip()) for line in s.get("description", "").splitlines()]
    return f'<p class="description">{"<br>".join(lines)}</p>' if s.get("description") else ""


def _written_step(step: dict[str, Any]) -> str:
    return (f"<li><b>{esc(step['keyword'].strip())}</b> {esc(step['text'])}"
            f"{_step_argument(step)}</li>")


def _step_argument(step: dict[str, Any]) -> str:
    if step.get("dataTable"):
        head, *body = [[esc(c["value"]) for c in row["cells"]] for row in step["dataTable"]["rows"]]
        return table(head, body)
    if step.get("docString"):
        return f"<pre>{esc(mask_keys(step['docString']['content']))}</pre>"
    return ""


def _failed_run(s: dict[str, Any], run: Run, runs: list[Run]) -> str:
    written = {st["location"]["line"]: st for st in s["steps"]}
    steps = []
    for st in run.steps:
        argument = _step_argument(written[st.line]) if st.line in written else ""
        error = ""
        if st.status == "failed":
            error = (f'<div class="error"><p>エラーメッセージ:</p>'
                     f"<pre>{esc(mask_keys(error_summary(st.error)))}</pre>"
                     f"<details><summary>トレースバック全文</summary>"
                     f"<pre>{esc(mask_keys(st.error))}</pre></details></div>")
        steps.append(f'<li class="step {st.status}"><span class="mark {st.status}">'
                     f"{LABEL[st.status]}</span> <b>{esc(st.keyword.strip())}</b> "
                     f"{esc(st.text)}{argument}{error}</li>")
    row = _row_of(s, run, runs)
    where = f"<p>失敗した例の行: {row}</p>" if row else ""
    return (f'<div class="failed-run"><h4>失敗: {esc(run.test_id)}</h4>{where}'
            f"<ol class=steps>{''.join(steps)}</ol></div>")


def _example_rows(s: dict[str, Any]) -> list[tuple[list[str], list[str]]]:
    """(header, values) of every example row of an outline."""
    return [([c["value"] for c in e["tableHeader"]["cells"]], [c["value"] for c in row["cells"]])
            for e in s["examples"] if e.get("tableHeader") for row in e["tableBody"]]


def _runs_by_row(s: dict[str, Any], runs: list[Run]) -> list[Run | None]:
    """The run of each example row: by pytest's id (the row's values joined by "-"), else,
    when every row ran once, by position (pytest runs the rows in order)."""
    rows = _example_rows(s)
    by_label = {r.row: r for r in runs if r.row is not None}
    matched = [by_label.get("-".join(values)) for _, values in rows]
    if None in matched and len(runs) == len(rows):
        return list(runs)
    return matched


def _row_of(s: dict[str, Any], run: Run, runs: list[Run]) -> str:
    for (head, values), ran in zip(_example_rows(s), _runs_by_row(s, runs), strict=False):
        if ran is run:
            return table(head, [[esc(v) for v in values]], row_classes=["failed"])
    return esc(run.row) if run.row else ""


def _examples(s: dict[str, Any], runs: list[Run]) -> str:
    by_row = iter(_runs_by_row(s, runs))
    parts = []
    for e in s["examples"]:
        if not e.get("tableHeader"):
            continue
        head = [esc(c["value"]) for c in e["tableHeader"]["cells"]] + ["実行結果"]
        rows, classes = [], []
        for row in e["tableBody"]:
            ran = next(by_row, None)
            result = ran.status if ran else "not-run"
            rows.append([esc(c["value"]) for c in row["cells"]] + [LABEL[result]])
            classes.append(result)
        parts.append(f"<p>例:</p>{table(head, rows, row_classes=classes)}")
    return "".join(parts)
