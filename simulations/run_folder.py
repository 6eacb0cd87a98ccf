"""What a simulation run leaves in its output folder, and clearing it for the next run."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from simulations.runner import STORE, STORE_FILES

# What a run leaves in its folder, by name: its store, its reports and plots, and the folders
# of its shards (--shards) or of the runs it compared (--compare), each with a store
FILES = ("report.txt", "report.json", "report.html", "compare.txt", "compare.html",
         "time-to-login.png", "expiries-by-hour.png", "compare-time-to-login.png",
         "compare-outcomes.png")
RUN_FOLDERS = re.compile(r"shard-\d+-of-\d+|validity-\d+(\.\d+)?")


def earlier_run(folder: Path) -> list[Path]:
    """What an earlier run left in ``folder`` (nothing if it left no store there)."""
    runs = [path for path in sorted(folder.glob("*")) if RUN_FOLDERS.fullmatch(path.name)
            and path.is_dir() and not path.is_symlink() and (path / STORE).is_file()]
    if not runs and not (folder / STORE).is_file():
        return []
    return [*(folder / name for name in STORE_FILES + FILES if (folder / name).is_file()),
            *runs]


def clear_earlier_run(folder: Path) -> None:
    """Removes what an earlier run left in ``folder``, once a run starts there, so that all
    there is is that run's (a store stopped short beside an earlier run's report, an
    earlier run's shards beside this one's report); nothing else is touched."""
    for path in earlier_run(folder):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def written_since(folder: Path, began: float) -> bool:
    """Whether a run's store in ``folder`` was written since ``began`` (a time.time())."""
    return any(path.stat().st_mtime >= began for path in earlier_run(folder)
               if (path.is_file() and path.name.startswith(STORE)) or path.is_dir())
