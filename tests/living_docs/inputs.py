"""What the features report is made from: the specs as written (the feature files), their
runs (pytest-bdd's cucumber JSON), the side files beside it (evidence.jsonl, screenshots/,
the browser run's JUnit XML), the tests named by a rule, and the commit."""

from __future__ import annotations

import base64
import itertools
import json
import re
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from gherkin.parser import Parser

from tests.rule_names import rules_named

ROOT = Path(__file__).parent.parent.parent
FEATURES = ROOT / "features"


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
    at: str = ""  # the model's time when it was seen, JST (the services' run)


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
                             str(record.get("text", "")), at=str(record.get("at", ""))))
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


def screenshots_of(run: Run, scenario_name: str, shots: dict[str, list[Path]]) -> list[Path]:
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
    """The assertion's own lines (pytest's ``E`` lines), else the traceback's last line; of
    a step that says what it expected and what was shown (期待した… / 実際の…), those lines
    only (pytest's comparison after them stays in the full traceback)."""
    lines = [line[1:].strip() for line in message.splitlines() if line.startswith("E ")]
    if lines and lines[0].startswith("AssertionError: 期待した"):
        lines[0] = lines[0].removeprefix("AssertionError: ")
        return "\n".join(itertools.takewhile(lambda line: not line.startswith("assert "),
                                              lines))
    if lines:
        return "\n".join(lines)
    rest = [line for line in message.splitlines() if line.strip()]
    return rest[-1] if rest else "(エラーメッセージなし)"


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


def named_tests(folder: Path = ROOT / "tests") -> dict[str, list[tuple[str, str]]]:
    """Rule id -> the tests named by it (test_D_14_…, test_LG_8_…), as (file, name)."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path in sorted(folder.glob("test_*.py")):
        for name in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.MULTILINE):
            for rule in rules_named(name):
                found[rule].append((f"tests/{path.name}", name))
    return found


# Provenance ------------------------------------------------------------------------------
def git_commit() -> str:
    """The commit the report was made from; marked when the work tree had changes."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--abbrev=12"],
                             capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "不明 (git が使えません)"
    return out.replace("-dirty", " (未コミットの変更あり)")
