"""Living documentation: the specs' results as ONE self-contained HTML page (styles, script,
chart and screenshots inline; opens offline and prints), in Japanese.

    python -m tests.living_docs CUCUMBER_JSON OUT_HTML [BROWSER_RUN_XML]

The page has a summary (counts, a chart, the failures), a table of contents, the manual's
sections in the order of features/rules.toml [sections], each rule with the scenarios that
prove it, and a filter by status, section and tag (JavaScript only shows and hides; without
it the page reads the same). A failed scenario is open, with the failing example row, every
step's result, the failing step and its error message.

Collecting what people saw: run the specs with this module as a pytest plugin,

    python -m pytest -p tests.living_docs tests/test_features.py ... --cucumberjson=reports/cucumber.json

(``python -m``: the plugin is imported before pytest puts the project on sys.path) and it
writes evidence.jsonl beside the cucumber JSON (below).

Inputs: the feature files (parsed with gherkin-official: cucumber JSON leaves out tables and
the tags of outlines) and pytest-bdd's cucumber JSON (each run's step results). Beside the
cucumber JSON, optionally:

- ``evidence.jsonl``: what a person saw, one JSON object a line,
  ``{"test": "<the run's cucumber id, e.g. test_...[row]>", "line": <step line>,
  "kind": "screen" | "mail", "text": "..."}``; steps in cucumber JSON may also carry
  ``output`` (texts) and ``embeddings`` (``text/plain`` or ``image/png``, base64).
- ``screenshots/<scenario>/**/*.png``: shown in the scenario whose cucumber id (with or
  without its ``test_`` prefix) or name the folder is named after, each captioned with the
  step its name carries (``03-top.L27.png``: taken in the step at line 27; tests/docs_shots.py),
  those of the 前提 steps folded apart, small; a click on one shows it whole.

and, given as a third argument, the JUnit XML the browser run that took those screenshots
was to write: the page says whether it passed (the scenarios' results are the cucumber
JSON's run's), or that it left no result.

Keys are masked wherever text is shown (``通知キー: ************``): a 12-digit run of digits
never reaches the page, error messages included.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import re
import subprocess
import sys
import tomllib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import click.testing
from gherkin.parser import Parser

from application import screens
from application.outcomes import (
    Completed,
    Confirmation,
    ErrorPage,
    KeyEntry,
    Refused,
    Throttled,
    TopPage,
)
from domain.fields import InvalidInput
from simulations.html import Pictures, esc, page, stacked_bars, table
from tests.docs_shots import shot_line

ROOT = Path(__file__).parent.parent
T = TypeVar("T")
FEATURES = ROOT / "features"
JST = ZoneInfo("Asia/Tokyo")
LABEL = {"passed": "成功", "failed": "失敗", "not-run": "未実行", "none": "シナリオなし"}
COLOUR = {"passed": "#1e7b34", "failed": "#b3261e", "not-run": "#9a9a9a"}
KIND = {"screen": "画面", "mail": "メール"}


# The specs, as written ------------------------------------------------------------------
def scenarios() -> list[dict[str, Any]]:
    """Every scenario of every feature file, with its feature, tags, steps and examples."""
    found = []
    for path in sorted(FEATURES.glob("*.feature")):
        feature = Parser().parse(path.read_text(encoding="utf-8"))["feature"]
        background: list[dict[str, Any]] = []
        children: list[dict[str, Any]] = feature["children"]  # type: ignore[assignment]
        for child in children:
            if "background" in child:
                background = child["background"]["steps"]
            if "scenario" in child:
                scenario = child["scenario"]
                found.append({
                    "file": path.name, "feature": feature["name"], "name": scenario["name"],
                    "line": scenario["location"]["line"], "keyword": scenario["keyword"],
                    "tags": [t["name"].lstrip("@") for t in scenario["tags"]],
                    "description": scenario.get("description", "").strip(),
                    "steps": background + scenario["steps"],
                    "examples": scenario.get("examples", []),
                })
    return found


# The runs, as cucumber JSON tells them ---------------------------------------------------
@dataclass
class Evidence:
    line: int
    kind: str  # screen, mail, text, image
    text: str = ""
    png: bytes = b""


@dataclass
class StepRun:
    keyword: str
    text: str
    line: int
    status: str  # passed, failed, not-run
    error: str = ""
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Run:
    """One test: a scenario, or one example row of an outline."""

    test_id: str
    name: str
    steps: list[StepRun]

    @property
    def row(self) -> str | None:
        """The example row's values as pytest names them (``部署名-部-50-受け付けられる``)."""
        match = re.search(r"\[(.*)\]$", self.test_id)
        return match.group(1) if match else None

    @property
    def status(self) -> str:
        statuses = {s.status for s in self.steps}
        return ("failed" if "failed" in statuses else
                "passed" if statuses == {"passed"} else "not-run")

    @property
    def failing_step(self) -> StepRun | None:
        return next((s for s in self.steps if s.status == "failed"), None)


def runs_by_scenario(cucumber: list[dict[str, Any]]) -> dict[tuple[str, int], list[Run]]:
    """(feature file, scenario line) -> its runs, one per example row."""
    runs: dict[tuple[str, int], list[Run]] = defaultdict(list)
    for feature in cucumber:
        for element in feature["elements"]:
            steps = _step_runs(element.get("steps", []))
            runs[(Path(feature["uri"]).name, element["line"])].append(
                Run(element.get("id", ""), element.get("name", ""), steps))
    return runs


def _step_runs(steps: list[dict[str, Any]]) -> list[StepRun]:
    """pytest-bdd marks every step after a failure 'failed' with no message: those never ran."""
    found, failed = [], False
    for step in steps:
        result = step.get("result", {})
        status = result.get("status", "skipped")
        if failed or status not in ("passed", "failed"):
            status = "not-run"
        failed = failed or status == "failed"
        found.append(StepRun(step.get("keyword", ""), step.get("name", ""), step.get("line", 0),
                             status, result.get("error_message", "") if status == "failed" else "",
                             _embedded(step)))
    return found


def _embedded(step: dict[str, Any]) -> list[Evidence]:
    line = step.get("line", 0)
    found = [Evidence(line, "text", str(text)) for text in step.get("output", [])]
    for item in step.get("embeddings", []):
        data = base64.b64decode(item.get("data", ""))
        if item.get("mime_type") == "image/png":
            found.append(Evidence(line, "image", png=data))
        elif str(item.get("mime_type", "")).startswith("text/"):
            found.append(Evidence(line, "text", data.decode("utf-8", "replace")))
    return found


# Side files beside the cucumber JSON -----------------------------------------------------
def read_evidence(folder: Path) -> dict[str, list[Evidence]]:
    """evidence.jsonl: test id -> what the person saw at each step (screens, mails)."""
    found: dict[str, list[Evidence]] = defaultdict(list)
    path = folder / "evidence.jsonl"
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                found[record["test"]].append(
                    Evidence(int(record.get("line", 0)), record.get("kind", "screen"),
                             str(record.get("text", ""))))
    return found


def find_screenshots(folder: Path) -> dict[str, list[Path]]:
    """screenshots/<scenario>/**/*.png, by the folder's name, normalised."""
    found: dict[str, list[Path]] = {}
    root = folder / "screenshots"
    if root.is_dir():
        for directory in sorted(p for p in root.iterdir() if p.is_dir()):
            pngs = sorted(directory.rglob("*.png"))
            if pngs:
                found[_normalised(directory.name)] = pngs
    return found


def _normalised(name: str) -> str:
    return re.sub(r"[\W_]+", "-", name).strip("-").lower()


def _screenshots_of(run: Run, scenario_name: str, shots: dict[str, list[Path]]) -> list[Path]:
    """A folder named after the run (its cucumber id, with or without ``test_``) or the
    scenario; a long name may have been cut short, so a long folder name may be a prefix."""
    names = {_normalised(n) for n in (run.test_id, run.test_id.removeprefix("test_"),
                                      scenario_name) if n}
    return [png for folder, pngs in shots.items()
            if folder in names or (len(folder) >= 60 and any(n.startswith(folder) for n in names))
            for png in pngs]


def mask_keys(text: str) -> str:
    """No notify key reaches the page: every run of exactly 12 digits becomes asterisks."""
    return re.sub(r"(?<!\d)\d{12}(?!\d)", "*" * 12, text)


def error_summary(message: str) -> str:
    """The assertion's own lines (pytest's ``E`` lines), else the traceback's last line."""
    lines = [line[1:].strip() for line in message.splitlines() if line.startswith("E ")]
    if lines:
        return "\n".join(lines)
    rest = [line for line in message.splitlines() if line.strip()]
    return rest[-1] if rest else "(エラーメッセージなし)"


# Provenance ------------------------------------------------------------------------------
def git_commit() -> str:
    """The commit the report was made from; marked when the work tree had changes."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--abbrev=12"],
                             capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "不明 (git が使えません)"
    return out.replace("-dirty", " (未コミットの変更あり)")


# The page --------------------------------------------------------------------------------
@dataclass
class Context:
    catalogue: dict[str, Any]
    scenarios: list[dict[str, Any]]
    runs: dict[tuple[str, int], list[Run]]
    evidence: dict[str, list[Evidence]]
    screenshots: dict[str, list[Path]]
    anchored: set[str] = field(default_factory=set)  # scenarios already given their id
    zooms: Iterator[int] = field(default_factory=itertools.count)  # each picture's own id
    pictures: Pictures = field(default_factory=Pictures)

    def anchor(self, s: dict[str, Any], rule: str) -> str:
        """A scenario under two rules is shown twice: the first is its link target."""
        anchor = _anchor(s)
        if anchor in self.anchored:
            return f"{anchor}-{rule}"
        self.anchored.add(anchor)
        return anchor

    def runs_of(self, s: dict[str, Any]) -> list[Run]:
        return self.runs.get((s["file"], s["line"]), [])

    def status_of(self, s: dict[str, Any]) -> str:
        runs = self.runs_of(s)
        if any(r.status == "failed" for r in runs):
            return "failed"
        return "passed" if runs and all(r.status == "passed" for r in runs) else "not-run"

    def rules_of(self, section: str) -> list[tuple[str, str]]:
        return [(rule, text) for rule, text in self.catalogue["rules"].items()
                if rule.split("-")[0] == section]

    def proving(self, rule: str) -> list[dict[str, Any]]:
        return [s for s in self.scenarios if rule in s["tags"]]

    def rule_status(self, rule: str) -> str:
        statuses = {self.status_of(s) for s in self.proving(rule)}
        if not statuses:
            return "none"
        return ("failed" if "failed" in statuses else
                "passed" if statuses == {"passed"} else "not-run")

    def all_runs(self) -> list[Run]:
        return [r for s in self.scenarios for r in self.runs_of(s)]


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
    when = f"{screens.jst(made_at, seconds=True)} (日本時間)"
    return (f"<header><h1>ビリングステーション 通知キー: 仕様(ルールとシナリオ)の実行結果</h1>"
            f'<p class="verdict {bad}">{esc(_verdict(ctx))}</p>'
            f"{_browser_verdict(browser, _always_in_a_browser(ctx))}"
            f'<p class="meta">作成日時: {esc(when)} ・ コミット: <code>{esc(commit)}</code></p>'
            '<p class="print-choice"><label><input type="checkbox" id="print-shots" checked> '
            "印刷に画面写真を含める (前提の画面は含めません)</label></p></header>")


@dataclass(frozen=True)
class BrowserRun:
    """The browser run that took the screenshots (``./go report``: its JUnit XML)."""

    passed: int
    failed: int  # failures and errors
    skipped: int  # (the scenarios with no screen)
    problem: str = ""  # why there is no result to read


def read_browser_run(path: Path) -> BrowserRun:
    """The browser run's JUnit XML at ``path``: none, or none to read, is said so."""
    try:
        root = ElementTree.parse(path).getroot()
    except FileNotFoundError:
        return BrowserRun(0, 0, 0, "結果がありません (実行が途中で止まりました)")
    except (OSError, ElementTree.ParseError):
        return BrowserRun(0, 0, 0, "結果を読めません")
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))

    def total(*names: str) -> int:
        return sum(int(suite.get(name, 0)) for suite in suites for name in names)

    failed, skipped = total("failures", "errors"), total("skipped")
    return BrowserRun(total("tests") - failed - skipped, failed, skipped)


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
    skipped = f"、画面のないシナリオ {browser.skipped}件は実行せず" if browser.skipped else ""
    portal = (f" (ほかに portal.feature の{portal_runs}件は、もともとブラウザで操作する手順で、"
              "その結果は上の件数に含まれます)" if portal_runs else "")
    return (f'<p class="meta">画面写真: ブラウザでの実行 {browser.passed}件成功、失敗なし{skipped}'
            f"{portal}</p>")


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
    items = [f'<li><a href="#{_anchor(s)}">{esc(s["name"])}</a>'
             f'{" [" + esc(r.row) + "]" if r.row else ""}: '
             f"{esc(r.failing_step.text if r.failing_step else '')}</li>"
             for s in ctx.scenarios for r in ctx.runs_of(s) if r.status == "failed"]
    if not items:
        return ""
    return f'<section id="failures"><h2>失敗一覧</h2><ol>{"".join(items)}</ol></section>'


def _contents(ctx: Context) -> str:
    sections = []
    for section, title in ctx.catalogue["sections"].items():
        rules = "".join(
            f'<li><a href="#{rule}">{rule}</a> <span class="mark {ctx.rule_status(rule)}">'
            f"{LABEL[ctx.rule_status(rule)]}</span></li>" for rule, _ in ctx.rules_of(section))
        sections.append(f'<li><a href="#section-{section}">{esc(title)}</a><ul class="rules">'
                        f"{rules}</ul></li>")
    return f'<nav id="contents"><h2>目次</h2><ul>{"".join(sections)}</ul></nav>'


def _filter(ctx: Context) -> str:
    def select(name: str, label: str, options: list[tuple[str, str]]) -> str:
        choices = "".join(f'<option value="{esc(v)}">{esc(t)}</option>' for v, t in options)
        return (f'<label>{label} <select data-filter="{name}"><option value="">すべて</option>'
                f"{choices}</select></label>")

    tags = sorted({t for s in ctx.scenarios for t in s["tags"]}, key=_rule_order(ctx))
    return ('<form id="filter" class="no-print" hidden><h2>絞り込み</h2>'
            + select("status", "状態", [(k, v) for k, v in LABEL.items()])
            + select("section", "章", list(ctx.catalogue["sections"].items()))
            + select("tag", "タグ", [(t, "@" + t) for t in tags])
            + ' <output id="shown"></output></form>')


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
            f"<p>{esc(statement)}</p>{scenarios_html}{_rule_tests(rule)}</div>")


def named_tests(folder: Path = ROOT / "tests") -> dict[str, list[tuple[str, str]]]:
    """Rule id -> the tests named by it (test_D_14_…, test_LG_8_…), as (file, name)."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path in sorted(folder.glob("test_*.py")):
        for name in re.findall(r"^def (test_(CI|LG|SB|SC|D)_(\d+)_\w+)", path.read_text(
                encoding="utf-8"), re.MULTILINE):
            found[f"{name[1]}-{name[2]}"].append((f"tests/{path.name}", name[0]))
    return found


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


def _anchor(s: dict[str, Any]) -> str:
    return f"s-{Path(s['file']).stem}-{s['line']}"


def _scenario(ctx: Context, section: str, rule: str, s: dict[str, Any]) -> str:
    status, runs = ctx.status_of(s), ctx.runs_of(s)
    count = (f" ({sum(r.status == 'passed' for r in runs)}/{len(runs)}件成功)"
             if len(runs) > 1 else "")
    tags = " ".join("@" + t for t in s["tags"])
    failed = [r for r in runs if r.status == "failed"]
    content = ("".join(_failed_run(s, r, runs) for r in failed) if failed
               else f"<ol class=steps>{''.join(_written_step(st) for st in s['steps'])}</ol>")
    anchor = ctx.anchor(s, rule)
    seen = (_evidence_of(ctx, s, runs) if anchor == _anchor(s) else  # (its evidence once)
            f'<p class="evidence"><a href="#{_anchor(s)}">画面とメールは最初に載せた同じシナリオに'
            "あります</a></p>")
    return (f'<details class="scenario {status}" data-status="{status}" data-section="{section}" '
            f'data-tags="{esc(" ".join(s["tags"]))}" data-scenario="{_anchor(s)}" '
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


def _evidence_of(ctx: Context, s: dict[str, Any], runs: list[Run]) -> str:
    """What each run showed: the screens, mails and screenshots of its story, each after its
    step; those of the 前提 steps (what it starts from) folded apart."""
    parts, shown, given = [], set(), _given_lines(s)
    for run in runs:
        items = [*ctx.evidence.get(run.test_id, []),
                 *(e for st in run.steps for e in st.evidence)]
        shots = [p for p in _screenshots_of(run, s["name"], ctx.screenshots) if p not in shown]
        shown.update(shots)
        if items or shots:
            title = f"画面とメール: {run.row}" if run.row else "画面とメール"
            steps = _step_names({st["location"]["line"]: f"{st['keyword'].strip()} {st['text']}"
                                 for st in s["steps"]} | {st.line: f"{st.keyword.strip()} {st.text}"
                                                          for st in run.steps})
            items.sort(key=lambda e: e.line)
            later, first = _split(items, lambda e: e.line in given)
            later_shots, first_shots = _split(shots, lambda p: shot_line(p) in given)
            story = _seen(ctx, later, later_shots, steps)
            setup = _seen(ctx, first, first_shots, steps)
            planted = GIVEN_AT_BROWSER if first_shots else ""
            parts.append(f'<div class="evidence"><h4>{esc(title)}</h4>{story}'
                         + (f'<details class="given"><summary>前提の画面とメール '
                            f"({len(first) + len(first_shots)}件)</summary>{planted}{setup}"
                            "</details>" if setup else "") + "</div>")
    return "".join(parts)


# (tests/spec_drivers.py: a 前提 at the browser is set up, not lived through)
GIVEN_AT_BROWSER = ("<p><small>前提はテストが用意した、シナリオの始まりの状態です。"
                    "主IDの画面から始まる前提は、ログインを記録しないテスト用のセッションで開いて"
                    "います (実際のポータルでは、セッションはログインでしか始まりません)。</small></p>")


def _split(things: list[T], given: Callable[[T], bool]) -> tuple[list[T], list[T]]:
    """(those of the story, those of its 前提), each in its order."""
    return [t for t in things if not given(t)], [t for t in things if given(t)]


def _given_lines(s: dict[str, Any]) -> set[int]:
    """The lines of a scenario's 前提 steps (and the かつ after them): where its story starts."""
    lines, given = set(), False
    for step in s["steps"]:
        if step.get("keywordType") != "Conjunction":
            given = step.get("keywordType") == "Context"
        if given:
            lines.add(step["location"]["line"])
    return lines


def _step_names(steps: dict[int, str]) -> dict[int, str]:
    """Each step as a caption names it, 「かつ …」; one whose words another step of the
    scenario repeats, with its line too: 「かつ …」(52行目)."""
    repeated = Counter(steps.values())
    return {line: f"「{text}」" + (f"({line}行目)" if repeated[text] > 1 else "")
            for line, text in steps.items()}


def _seen(ctx: Context, items: list[Evidence], shots: list[Path], steps: dict[int, str]) -> str:
    """Screen texts and mails, then the screenshots in the order taken, each captioned with
    its step."""
    return ("".join(_evidence_item(ctx, e, steps.get(e.line, "")) for e in items)
            + ('<div class="shots">' + "".join(
                _screenshots(ctx, list(group), steps)
                for _, group in itertools.groupby(shots, key=shot_line)) + "</div>"
               if shots else ""))


MANY = 3  # a step's screenshots beyond which its first and last are shown, the rest folded


def _screenshots(ctx: Context, shots: list[Path], steps: dict[int, str]) -> str:
    """One step's screenshots; of a step that took many (20 failed logins), the first and
    the last, the others folded between them."""
    if len(shots) <= MANY:
        return "".join(_screenshot(ctx, p, steps, i, len(shots)) for i, p in enumerate(shots, 1))
    first, *middle, last = shots
    return (_screenshot(ctx, first, steps, 1, len(shots))
            + f'<details class="more-shots"><summary>同じ手順の画面写真 ほか{len(middle)}枚'
              "</summary>" + "".join(_screenshot(ctx, p, steps, i, len(shots))
                                     for i, p in enumerate(middle, 2)) + "</details>"
            + _screenshot(ctx, last, steps, len(shots), len(shots)))


def _evidence_item(ctx: Context, e: Evidence, step: str) -> str:
    """A screen or mail, captioned with the step after which it was seen."""
    after = f" ({step}の後)" if step else ""
    if e.png:
        return (f"<figure>{ctx.pictures.show(e.png, f'画像{after}')}"
                f"<figcaption>画像{esc(after)}</figcaption></figure>")
    return (f'<figure class="{esc(e.kind)}"><figcaption>{esc(KIND.get(e.kind, "出力"))}'
            f"{esc(after)}</figcaption><pre>{esc(mask_keys(e.text))}</pre></figure>")


def _screenshot(ctx: Context, path: Path, steps: dict[int, str], nth: int = 1,
                of: int = 1) -> str:
    """A screenshot, shrunk to fit beside others, numbered among its step's (2/20); a click
    (a checkbox, no script) shows it whole."""
    step = steps.get(shot_line(path), "")
    caption = "画面写真" + (f" {nth}/{of}" if of > 1 else "") + (f" ({step}で)" if step else "")
    zoom = f"zoom-{next(ctx.zooms)}"
    return (f'<figure><input type="checkbox" class="zoom" id="{zoom}">'
            f'<label for="{zoom}" title="クリックで拡大・縮小">'
            f"{ctx.pictures.show(path.read_bytes(), caption)}"
            f"</label><figcaption>{esc(caption)}</figcaption></figure>")


STYLE = """
.verdict{font-size:1.3em;font-weight:bold;margin:.2em 0}.verdict.bad{color:var(--bad)}
.verdict.ok{color:var(--ok)}.verdict.warn{color:#8a5a00}
.mark{display:inline-block;min-width:3.5em;font-weight:bold}
.mark.passed{color:var(--ok)}.mark.failed{color:var(--bad)}.mark.not-run,.mark.none{color:var(--none)}
.rule{margin:1em 0;padding:.3em 1em;border-left:5px solid var(--line)}
.rule.passed{border-color:var(--ok)}.rule.failed{border-color:var(--bad)}
.scenario{margin:.4em 0;padding:.2em .5em;border:1px solid #e2e2e2;border-radius:4px}
.scenario.failed{border-color:var(--bad);background:#fff7f6}
summary{cursor:pointer}
tr.failed td{background:#fde0dd}tr.not-run td{color:var(--none)}
li.step.failed{background:#fde0dd}li.step.not-run{color:var(--none)}
.error pre{border-color:var(--bad)}
#contents>ul{list-style:none;padding-left:0}
#contents ul.rules{display:flex;flex-wrap:wrap;gap:.2em 1.2em;list-style:none;padding-left:1em}
#filter label{margin-right:1em}
.evidence figure{margin:.4em 0}.evidence .picture{max-width:min(100%,40em)}
.shots{display:flex;flex-wrap:wrap;gap:.8em;align-items:flex-start}
.shots figure{width:22em;margin:0}.shots .picture{width:100%;cursor:zoom-in}
.given .shots figure{width:14em}
.more-shots{flex-basis:100%}.more-shots>figure{display:inline-block;vertical-align:top;margin:.4em}
.zoom{position:absolute;opacity:0;pointer-events:none}
.shots figure:has(.zoom:checked){width:100%}
.zoom:checked+label .picture{width:auto;max-width:100%;cursor:zoom-out}
.zoom:focus-visible+label .picture{outline:2px solid #1a5fb4}
.tests li{overflow-wrap:anywhere}
@media screen and (max-width:40em){.shots figure,.given .shots figure{width:100%}
 .zoom:checked+label{display:block;overflow-x:auto}
 .zoom:checked+label .picture{max-width:none}}
@media print{.given{display:none}.shots figure{width:31%;break-inside:avoid}
 body:has(#print-shots:not(:checked)) .shots{display:none}.print-choice{display:none}}
"""

SCRIPT = """
(function(){
 var form=document.getElementById('filter');form.hidden=false;
 var selects=form.querySelectorAll('select');
 function apply(){
  var want={};selects.forEach(function(s){want[s.dataset.filter]=s.value;});
  var shown={};  /* each scenario once, though shown under each of its rules */
  document.querySelectorAll('details.scenario').forEach(function(d){
   var ok=(!want.status||d.dataset.status===want.status)&&
          (!want.section||d.dataset.section===want.section)&&
          (!want.tag||d.dataset.tags.split(' ').indexOf(want.tag)>=0);
   d.hidden=!ok;if(ok){shown[d.dataset.scenario]=true;}
  });
  var active=want.status||want.section||want.tag;
  document.querySelectorAll('.rule').forEach(function(r){
   r.hidden=active&&!r.querySelector('details.scenario:not([hidden])');});
  document.querySelectorAll('section.section').forEach(function(s){
   s.hidden=active&&!s.querySelector('.rule:not([hidden])');});
  document.getElementById('shown').textContent=
   active?Object.keys(shown).length+'件のシナリオを表示中':'';
 }
 selects.forEach(function(s){s.addEventListener('change',apply);});
 function reveal(){  /* a link to a scenario inside a closed one: opened, and shown */
  var id;try{id=decodeURIComponent(location.hash.slice(1));}catch(e){return;}
  var target=id&&document.getElementById(id);
  if(!target){return;}
  for(var d=target;d;d=d.parentElement){if(d.tagName==='DETAILS'){d.open=true;}}
  target.scrollIntoView();}
 window.addEventListener('hashchange',reveal);reveal();
 window.addEventListener('beforeprint',function(){
  document.querySelectorAll('details').forEach(function(d){d.open=true;});});
})();
"""


# The collector: a pytest plugin (pytest -p tests.living_docs --cucumberjson=PATH) ---------
class Collector:
    """After each step (and at a failing one), what the person now sees and the mails that
    arrived, appended to evidence.jsonl beside the cucumber JSON, keys masked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.screens: dict[str, tuple[str, object]] = {}  # test -> the screen recorded last,
        #                                                    and the answer that showed it
        self.mails: dict[str, int] = {}  # test -> mails already recorded (or there before)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")  # this run's evidence only

    def after_step(self, seen: dict[str, Any], test: str, line: int) -> None:
        """``seen``: the test's fixtures and the step's arguments (the specs' ``world``, the
        portal's ``person`` at a browser)."""
        screen = _screen_text(seen)
        answer = getattr(seen.get("world"), "screen", None)
        last = self.screens.get(test)
        # (a new answer showing the same text, as D-14 refusing once more, is the step's too)
        if screen and (last is None or last[0] != screen or last[1] is not answer):
            self.screens[test] = (screen, answer)
            self._write(test, line, "screen", screen)
        mailbox = (getattr(seen.get("world"), "mailbox", None)
                   or getattr(getattr(seen.get("person"), "portal", None), "mailbox", None))
        if mailbox is not None and hasattr(mailbox, "messages"):
            messages = mailbox.messages()  # (at a browser, the portal's: other tests' too)
            before = self.mails.get(test, getattr(seen.get("person"), "mail_start", 0))
            for message in messages[before:]:
                self._write(test, line, "mail", _mail_text(message))
            self.mails[test] = len(messages)

    def _write(self, test: str, line: int, kind: str, text: str) -> None:
        record = {"test": test, "line": line, "kind": kind, "text": mask_keys(text)}
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _screen_text(seen: dict[str, Any]) -> str | None:
    """The screen shown: the specs' world's last screen, the browser page's text, or the
    audit's answer (D-16: a command, no screen)."""
    audited = seen.get("audited")
    if isinstance(audited, tuple) and isinstance(audited[0], click.testing.Result):
        folder = seen["request"].getfixturevalue("tmp_path")  # (the test's: noise later)
        said = audited[0].output.replace(f"{folder}/", "")
        return f"【監査 (verify) の出力】 終了コード {audited[0].exit_code}\n{said}"
    shown = getattr(seen.get("world"), "screen", None)
    if isinstance(shown, TopPage | KeyEntry | ErrorPage | Refused | Completed | Confirmation
                  | Throttled):
        return f"【{screens.title(shown)}】\n{screens.message(shown)}"
    if isinstance(shown, InvalidInput):
        return f"【入力エラー】\n{shown}"
    page = getattr(seen.get("person"), "tab", None)
    if page is not None and hasattr(page, "inner_text"):
        try:
            if page.url == "about:blank":  # a window not yet at the portal: no screen
                return None
            path = urlsplit(page.url).path  # the test server's address means nothing later
            return f"【{page.title()}】 {path}\n{page.inner_text('body')[:3000]}"
        except Exception:  # a page mid-navigation has no text to give: nothing to record
            return None
    return None


def _mail_text(message: Any) -> str:
    body = message.get_body(preferencelist=("plain",))
    content = body.get_content() if body is not None else ""
    return (f"差出人: {message['From']}\n宛先: {message['To']}\n件名: {message['Subject']}\n\n"
            f"{content}")


_collector: Collector | None = None


def pytest_configure(config: Any) -> None:
    global _collector
    path = getattr(config.option, "cucumber_json_path", None)
    if path:
        _collector = Collector(Path(path).parent / "evidence.jsonl")


def pytest_bdd_after_step(request: Any, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any) -> None:
    if _collector:
        _collector.after_step({**request.node.funcargs, **step_func_args}, request.node.name,
                              step.line_number)


def pytest_bdd_step_error(request: Any, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any, exception: Any) -> None:
    if _collector:
        _collector.after_step({**request.node.funcargs, **step_func_args}, request.node.name,
                              step.line_number)


def main(cucumber_json: str, out_html: str, browser_run: str | None = None) -> None:
    """``browser_run``: the JUnit XML the browser run that took the screenshots was to
    write (``./go report``)."""
    source = Path(cucumber_json)
    if not source.exists():
        sys.exit(f"{source} がありません: pytest が結果を書く前に止まりました (その出力を見てください)")
    cucumber = json.loads(source.read_text(encoding="utf-8"))
    document = render(cucumber, made_at=datetime.now(JST), commit=git_commit(),
                      evidence=read_evidence(source.parent),
                      screenshots=find_screenshots(source.parent),
                      browser=read_browser_run(Path(browser_run)) if browser_run else None)
    Path(out_html).write_text(document, encoding="utf-8")
    print(f"living documentation: {Path(out_html).resolve()}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
