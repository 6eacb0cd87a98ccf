"""The README's "Use it from Python" runs as printed, its layout names every module, and its
exit codes are the console script's."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from billing_station import exits

README = Path(__file__).parent.parent / "README.md"


def test_the_readme_python_example_runs(tmp_path: Path) -> None:
    section = README.read_text(encoding="utf-8").split("### Use it from Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    for _ in range(2):  # (and again: it onboarded the same customer into the same store)
        result = subprocess.run([sys.executable, "-c", code.group(1)], cwd=tmp_path,
                                text=True, capture_output=True, timeout=120, check=False,
                                env={**os.environ, "BS_HASH_COST": "8", "TMPDIR": str(tmp_path)})
        assert result.returncode == 0, result.stderr
        folder, *said = result.stdout.splitlines()
        assert Path(folder).parent == tmp_path and (Path(folder) / "try.sqlite3").is_file()
        assert said == ["トップページ デモ用ユーザ01様 (BSお客様番号: BS5928544) 前回ログイン: なし",
                        "no violations"]


def test_the_layout_names_every_module() -> None:
    """README's map of the code named 15 modules fewer than there were."""
    text = README.read_text(encoding="utf-8")
    layout = text.split("## Layout: four floors", 1)[1].split("```", 2)[1]
    root = README.parent
    unnamed = [str(module.relative_to(root)) for package in (
        "billing_station", "portal", "simulations", "application", "domain")
        for module in sorted((root / package).rglob("*.py"))
        if module.name != "__init__.py" and not re.search(rf"\b{re.escape(module.name)}\b", layout)]
    assert unnamed == []
    modules = {module.name for package in ("billing_station", "portal", "simulations",
                                           "application", "domain")
               for module in (root / package).rglob("*.py")}
    assert sorted(set(re.findall(r"\b\w+\.py\b", layout)) - modules) == []  # (none gone)


def test_the_exit_codes_table_is_the_exits_module_and_the_conventions() -> None:
    """Scripts branch on the numbers: each code the table shows is one of
    billing_station/exits.py's, each of those is in the table, and each follows its
    convention (sysexits, 128 + the signal), not only its name in the tests."""
    table = README.read_text(encoding="utf-8").split("### Exit codes", 1)[1].split("\n\n")[1]
    shown = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)}
    codes = {value for name, value in vars(exits).items() if name.isupper()
             and isinstance(value, int)}
    assert shown == codes
    assert (exits.DATA_ERROR, exits.UNAVAILABLE, exits.SHARD_FAILED, exits.IO_ERROR) == (
        os.EX_DATAERR, os.EX_UNAVAILABLE, os.EX_SOFTWARE, os.EX_IOERR)
    assert (exits.INTERRUPTED, exits.BROKEN_PIPE, exits.TERMINATED) == (
        128 + signal.SIGINT, 128 + signal.SIGPIPE, 128 + signal.SIGTERM)
    assert (exits.OK, exits.VIOLATIONS, exits.NOT_FOUND, exits.USAGE) == (0, 1, 1, 2)
