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
  "kind": "answer" | "screen" | "audit" | "mail", "text": "..."}`` (the services' answer,
  its screen's title and message; a browser page's whole text; a command's output; a
  mail); steps in cucumber JSON may also carry
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

import json
import sys
from datetime import datetime
from pathlib import Path

from application.japan_time import JST
from tests.living_docs.collector import (
    pytest_bdd_after_step,
    pytest_bdd_step_error,
    pytest_configure,
)
from tests.living_docs.inputs import (
    find_screenshots,
    git_commit,
    read_browser_run,
    read_evidence,
)
from tests.living_docs.page import render

__all__ = ["main", "pytest_bdd_after_step", "pytest_bdd_step_error", "pytest_configure"]


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
