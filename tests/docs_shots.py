"""README's screenshots. The tests that show a page photograph it; the photograph replaces
docs/screenshots/NAME only when BS_DOCS_SCREENSHOTS=1 (``./go screenshots``), so an ordinary
test run leaves the tracked pictures as they are (the top page would show the time of the
run)."""

from __future__ import annotations

import os
from pathlib import Path

DOCS = Path(__file__).parent.parent / "docs" / "screenshots"


def refreshing() -> bool:
    return os.environ.get("BS_DOCS_SCREENSHOTS") == "1"


def screenshot_path(name: str, elsewhere: Path) -> Path:
    """Where the screenshot NAME goes: docs/screenshots when asked, else ``elsewhere``."""
    folder = DOCS if refreshing() else elsewhere
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
