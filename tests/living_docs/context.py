"""A report in the making: what it is made from, and what the page has given out so far
(the scenarios' link targets, the pictures' ids)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulations.html import Pictures
from tests.living_docs.inputs import Evidence, Run

LABEL = {"passed": "成功", "failed": "失敗", "not-run": "未実行", "none": "シナリオなし"}
COLOUR = {"passed": "#1e7b34", "failed": "#b3261e", "not-run": "#9a9a9a"}


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
        anchor = scenario_anchor(s)
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


def scenario_anchor(s: dict[str, Any]) -> str:
    return f"s-{Path(s['file']).stem}-{s['line']}"
