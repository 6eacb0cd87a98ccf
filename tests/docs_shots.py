"""README's screenshots. The tests that show a page photograph it; the photograph replaces
docs/screenshots/NAME only when BS_DOCS_SCREENSHOTS=1 (``./go screenshots``), so an ordinary
test run leaves the tracked pictures as they are (the top page would show the time of the
run)."""

from __future__ import annotations

import os
import re
from pathlib import Path

DOCS = Path(__file__).parent.parent / "docs" / "screenshots"


def refreshing() -> bool:
    return os.environ.get("BS_DOCS_SCREENSHOTS") == "1"


def screenshot_path(name: str, elsewhere: Path) -> Path:
    """Where the screenshot NAME goes: docs/screenshots when asked, else ``elsewhere``."""
    folder = DOCS if refreshing() else elsewhere
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


# The Gherkin step running (its line in the feature file; 0 between steps): a step's
# screenshot carries it in its name, so the living documentation captions it with that step.
_step = [0]


def at_step(line: int) -> None:
    _step[0] = line


def shot_name(count: int, what: str) -> str:
    """``03-information-confirm.L27.png``: the third screenshot of a test, taken in the step
    at line 27 (``.L0``: outside any step)."""
    return f"{count:02d}-{what}.L{_step[0]}.png"


def shot_line(path: Path) -> int:
    """The step line a screenshot's name carries (0: none)."""
    found = re.search(r"\.L(\d+)\.png$", path.name)
    return int(found.group(1)) if found else 0
