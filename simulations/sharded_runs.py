"""A sharded experiment for people: the shards run on Dask, then one report (report.txt,
report.json, the plots and report.html) in the run's folder, beside the shards' stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from simulations import plots
from simulations.dask_runs import describe, run_sharded
from simulations.experiments import write
from simulations.report_html import RunFigures
from simulations.report_text import text
from simulations.scenario import Scenario


def run_sharded_one(scenario: Scenario, shards: int, folder: Path, say: Callable[[str], None],
                    scheduler: str | None = None) -> list[Path]:
    """Runs ``scenario`` in ``shards`` shards, says and writes the merged report; returns
    the shards' stores."""
    plots.japanese_font()  # no font: say so before the run, not after it
    run = run_sharded(scenario, shards, folder, scheduler=scheduler)
    say(text(run.report))
    say(describe(run))
    for path in write(run.report, folder, RunFigures(run.seconds, run.peak_mib), run.stores):
        say(f"wrote {path}")
    return run.stores
