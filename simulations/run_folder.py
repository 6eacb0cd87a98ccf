"""What a simulation run leaves in its output folder, and clearing it for the next run."""

from __future__ import annotations

import shutil
from pathlib import Path

from simulations.runner import STORE

# What a run leaves in its folder: the store, the reports and plots, and the folders of its
# shards (--shards) or of the runs it compared (--compare)
LEFT_BY_A_RUN = (f"{STORE}*", "report.txt", "report.json", "report.html", "compare.txt",
                 "compare.html", "*.png", "shard-*-of-*", "validity-*")


def clear_earlier_run(folder: Path) -> None:
    """Removes what an earlier run left in ``folder``, so that all there is is the next
    run's (a store stopped short beside an earlier run's report, an earlier run's shards
    beside this one's report); a folder where no run left a store is not touched."""
    if not any(path for pattern in (STORE, f"*/{STORE}") for path in folder.glob(pattern)):
        return
    for pattern in LEFT_BY_A_RUN:
        for path in folder.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
