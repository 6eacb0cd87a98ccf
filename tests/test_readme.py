"""The README's "Use it from Python" runs as printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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
