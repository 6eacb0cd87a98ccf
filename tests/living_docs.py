"""Living documentation: the rules, grouped by manual section, each with its scenarios, their
steps and whether they passed, as one self-contained HTML page (no network, opens from disk).

    python -m tests.living_docs CUCUMBER_JSON OUT_HTML

The feature files are parsed with gherkin-official (cucumber JSON leaves out tables and the
tags of outlines); the pass / fail of each scenario comes from pytest-bdd's cucumber JSON.
"""

from __future__ import annotations

import html
import json
import sys
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

from gherkin.parser import Parser

FEATURES = Path(__file__).parent.parent / "features"


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
                    "steps": background + scenario["steps"],
                    "examples": scenario.get("examples", []),
                })
    return found


def outcomes(cucumber: list[dict[str, Any]]) -> dict[tuple[str, int], list[str]]:
    """(feature file, scenario line) -> the status of each run (one per example row)."""
    runs: dict[tuple[str, int], list[str]] = defaultdict(list)
    for feature in cucumber:
        for element in feature["elements"]:
            statuses = {s["result"]["status"] for s in element["steps"]}
            status = "failed" if "failed" in statuses else (
                "passed" if statuses == {"passed"} else "skipped")
            runs[(Path(feature["uri"]).name, element["line"])].append(status)
    return runs


def _table(rows: list[list[str]]) -> str:
    head, *body = rows
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    lines = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body
    )
    return f"<table><tr>{cells}</tr>{lines}</table>"


def _cells(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[c["value"] for c in row["cells"]] for row in rows]


def _scenario(s: dict[str, Any], runs: list[str]) -> str:
    status = "passed" if runs and all(r == "passed" for r in runs) else (
        "failed" if "failed" in runs else "not run")
    steps = []
    for step in s["steps"]:
        table = step.get("dataTable")
        steps.append(f"<li><b>{html.escape(step['keyword'])}</b> {html.escape(step['text'])}"
                     + (_table(_cells(table["rows"])) if table else "") + "</li>")
    examples = "".join(
        "<p>例:</p>" + _table(_cells([e["tableHeader"], *e["tableBody"]]))
        for e in s["examples"]
    )
    count = f" ({runs.count('passed')}/{len(runs)})" if len(runs) > 1 else ""
    return (f'<details class="scenario {status.replace(" ", "-")}"><summary>'
            f'<span class="status">{status}{count}</span> {html.escape(s["keyword"])}: '
            f'{html.escape(s["name"])} <small>{s["file"]}:{s["line"]} · '
            f'{" ".join("@" + t for t in s["tags"])}</small></summary>'
            f"<ol>{''.join(steps)}</ol>{examples}</details>")


STYLE = """
body{font-family:sans-serif;max-width:70em;margin:2em auto;color:#222}
h2{border-bottom:2px solid #369;padding-bottom:.2em}
.rule{margin:1em 0;padding:.5em 1em;border-left:4px solid #ccc}
.rule.ok{border-color:#2a2}.rule.bad{border-color:#c22}
.status{display:inline-block;min-width:5em;font-weight:bold}
.passed .status{color:#2a2}.failed .status{color:#c22}.not-run .status{color:#888}
table{border-collapse:collapse;margin:.3em 0}td,th{border:1px solid #bbb;padding:.1em .5em}
small{color:#666}summary{cursor:pointer}
"""


def render(cucumber: list[dict[str, Any]]) -> str:
    catalogue = tomllib.loads((FEATURES / "rules.toml").read_text(encoding="utf-8"))
    runs = outcomes(cucumber)
    all_scenarios = scenarios()
    passed = sum(1 for s in all_scenarios
                 if runs.get((s["file"], s["line"])) and
                 all(r == "passed" for r in runs[(s["file"], s["line"])]))
    body = [f"<h1>ビリングステーション 通知キー: ルールとシナリオ</h1>"
            f"<p>{len(catalogue['rules'])} rules, {len(all_scenarios)} scenarios, "
            f"{passed} passed.</p>"]
    for section, title in catalogue["sections"].items():
        body.append(f"<h2>{html.escape(title)}</h2>")
        for rule, statement in catalogue["rules"].items():
            if rule.split("-")[0] != section:
                continue
            proving = [s for s in all_scenarios if rule in s["tags"]]
            ok = proving and all(runs.get((s["file"], s["line"])) and all(
                r == "passed" for r in runs[(s["file"], s["line"])]) for s in proving)
            body.append(
                f'<div class="rule {"ok" if ok else "bad"}" id="{rule}"><h3>{rule}</h3>'
                f"<p>{html.escape(statement)}</p>"
                + "".join(_scenario(s, runs.get((s["file"], s["line"]), [])) for s in proving)
                + "</div>")
    return (f'<!doctype html><html lang="ja"><head><meta charset="utf-8">'
            f"<title>通知キー: ルールとシナリオ</title><style>{STYLE}</style></head>"
            f"<body>{''.join(body)}</body></html>")


def main(cucumber_json: str, out_html: str) -> None:
    cucumber = json.loads(Path(cucumber_json).read_text(encoding="utf-8"))
    Path(out_html).write_text(render(cucumber), encoding="utf-8")
    print(f"living documentation: {out_html}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
