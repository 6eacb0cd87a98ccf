"""Every rule of features/rules.toml has a scenario; every tag names a rule; the living
documentation shows them all."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from tests.conftest import RULES
from tests.living_docs import main
from tests.living_docs.inputs import scenarios

ROOT = Path(__file__).parent.parent


def test_every_rule_has_a_scenario_and_every_tag_is_a_rule() -> None:
    tags = {t for s in scenarios() for t in s["tags"]}
    assert set(RULES["rules"]) - tags == set(), "rules without a scenario"
    assert tags - set(RULES["rules"]) == set(), "tags that name no rule"


SHARED = ROOT.parent / "shared" / "RULES.md"


@pytest.mark.skipif(not SHARED.exists(), reason=f"no shared rule catalogue at {SHARED}")
def test_the_catalogue_matches_the_shared_one() -> None:
    ids = set(re.findall(r"\*\*([A-Z]{1,2}-\d+)\*\*", SHARED.read_text(encoding="utf-8")))
    assert ids == set(RULES["rules"])


@pytest.mark.parametrize("status", ["passed", "failed"])
def test_the_report_shows_each_rule_with_its_scenarios_and_status(
    status: str, tmp_path: Path
) -> None:
    every = scenarios()
    by_file: dict[str, list[dict[str, object]]] = {}
    for s in every:
        steps = [{"keyword": st["keyword"], "name": st["text"], "line": st["location"]["line"],
                  "result": {"status": status, "error_message": "E   AssertionError: 違う"}}
                 for st in s["steps"]]
        by_file.setdefault(s["file"], []).append({"line": s["line"], "steps": steps})
    cucumber = [{"uri": f, "elements": e} for f, e in by_file.items()]
    (tmp_path / "cucumber.json").write_text(json.dumps(cucumber))
    main(str(tmp_path / "cucumber.json"), str(tmp_path / "features.html"))
    page = (tmp_path / "features.html").read_text(encoding="utf-8")
    for rule, statement in RULES["rules"].items():
        assert f'id="{rule}"' in page and html.escape(statement) in page
    verdict = "すべて成功" if status == "passed" else f"{len(every)}件失敗"
    assert f'<p class="verdict {"ok" if status == "passed" else "bad"}">{verdict}' in page
    assert "ならば" in page and "例:" in page and "<table>" in page
    assert not re.search(r"https?:", page)  # self-contained
