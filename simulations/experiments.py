"""Experiments for people: one scenario run with a progress bar over the simulated days (or
in shards on Dask, one report merged from them), or several side by side (--compare); their
reports and plots written next to their stores: report.txt, report.json, the PNG plots and
report.html (all of it in one page), and for a comparison compare.txt and compare.html."""

from __future__ import annotations

import functools
import resource
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from tqdm import tqdm

from simulations import plots
from simulations.compare_html import compare_page
from simulations.report import Report, report
from simulations.report_html import RunFigures, report_page
from simulations.report_text import side_by_side, text
from simulations.run_folder import (
    COMPARE_HTML,
    COMPARE_TXT,
    REPORT_HTML,
    REPORT_JSON,
    REPORT_TXT,
    mark_compared,
    set_aside_earlier_run,
)
from simulations.runner import Simulation
from simulations.scenario import Scenario
from simulations.varied import Varied, number


def simulate(scenario: Scenario, folder: Path) -> tuple[Report, Simulation, float]:
    """One run with progress bars (its customers onboarded, then its simulated days);
    returns its report, the simulation and wall seconds."""
    began = time.perf_counter()
    bar = functools.partial(tqdm, file=sys.stderr, disable=None, leave=False)
    with ExitStack() as bars:
        customers = bars.enter_context(bar(total=scenario.population.customers,
                                           unit="customer", desc=f"onboarding {scenario.name}"))
        days: list[tqdm] = []

        def on_day(_: int) -> None:
            if not days:  # (onboarding done: its bar gives way to the days')
                customers.close()
                days.append(bars.enter_context(bar(total=scenario.days, unit="day",
                                                   desc=f"simulating {scenario.name}")))
            days[0].update()

        simulation = Simulation(scenario, folder, on_customer=customers.update, on_day=on_day)
        try:
            simulation.run()
            result = report(simulation)
        finally:
            simulation.close()
    return result, simulation, time.perf_counter() - began


def run_one(scenario: Scenario, folder: Path, say: Callable[[str], None]) -> Path:
    plots.japanese_font()  # no font: say so before the run, not after it
    set_aside_earlier_run(folder)
    result, simulation, seconds = simulate(scenario, folder)
    run = _figures(seconds)
    say(text(result))
    say(_run_figures(result, run))
    for path in write(result, folder, run, [simulation.store]):
        say(f"wrote {path}")
    return simulation.store


def run_sharded_one(scenario: Scenario, shards: int, folder: Path, say: Callable[[str], None],
                    scheduler: str | None = None) -> list[Path]:
    """Runs ``scenario`` in ``shards`` shards on Dask, says and writes the merged report (in
    ``folder``, beside the shards' stores); returns the shards' stores."""
    from simulations.dask_runs import describe, run_sharded  # (Dask loads only for shards)

    plots.japanese_font()
    run = run_sharded(scenario, shards, folder, scheduler=scheduler)
    say(text(run.report))
    say(describe(run))
    for path in write(run.report, folder, RunFigures(run.seconds, run.peak_mib), run.stores):
        say(f"wrote {path}")
    return run.stores


Played = tuple[Report, RunFigures, list[Path]]  # a run's report, figures and stores


def run_compare(scenario: Scenario, varied: Varied, values: list[float], folder: Path,
                say: Callable[[str], None], shards: int = 1, scheduler: str | None = None
                ) -> list[list[Path]]:
    """One run of ``scenario`` for each of the ``values`` of its policy's number ``varied``,
    each in its own folder (in ``shards`` on Dask, if more than one), then the runs side by
    side in compare.txt and compare.html; returns each run's stores."""
    plots.japanese_font()
    if shards == 1:
        return _compare(scenario, varied, values, folder, say, _played)
    from simulations.dask_cluster import dask_client  # (Dask loads only for shards)
    from simulations.dask_runs import ShardsFailed, run_sharded
    from simulations.shards import parts

    # one cluster for all the runs, reached before anything is cleared
    with dask_client(len(parts(scenario, shards)), scheduler) as client:
        def sharded(variant: Scenario, where: Path) -> Played:
            try:
                run = run_sharded(variant, shards, where, scheduler=scheduler, client=client)
            except ShardsFailed as e:  # (named with the run it was a shard of)
                raise ShardsFailed([(part, f"{why} (of the run in {where.name}/)", error)
                                    for (part, why), error in zip(e.failures, e.errors,
                                                                  strict=True)]) from e
            return run.report, RunFigures(run.seconds, run.peak_mib), run.stores

        return _compare(scenario, varied, values, folder, say, sharded)


def _played(variant: Scenario, where: Path) -> Played:
    result, simulation, seconds = simulate(variant, where)
    return result, _figures(seconds), [simulation.store]


def _compare(scenario: Scenario, varied: Varied, values: list[float], folder: Path,
             say: Callable[[str], None], play: Callable[[Scenario, Path], Played]
             ) -> list[list[Path]]:
    set_aside_earlier_run(folder)
    say(f"{len(values)} runs of scenario {scenario.name}, one for each value of {varied.key}: "
        + ", ".join(number(v) for v in values))  # (said before the runs' lines, not after)
    reports, stores = [], []
    for value in values:
        where = folder / varied.folder_of(value)
        mark_compared(where)
        result, run, kept = play(scenario.with_policy(**{varied.key: value}), where)
        write(result, where, run, kept, compared_as=varied.label(value))
        reports.append(result)
        stores.append(kept)
        say(f"  {result.policy}: {_run_figures(result, run)}")
    common = text(reports[0]).splitlines()[0]  # the scenario, its days, seed and people
    table = f"{common}\n{side_by_side(reports, varied)}"
    (folder / COMPARE_TXT).write_text(table + "\n", encoding="utf-8")
    say(f"\n{table}")
    pictures = plots.compare(reports, folder, varied)
    (folder / COMPARE_HTML).write_text(compare_page(reports, pictures, varied=varied),
                                       encoding="utf-8")
    for path in [folder / COMPARE_TXT, *pictures, folder / COMPARE_HTML]:
        say(f"wrote {path}")
    return stores


def write(r: Report, folder: Path, run: RunFigures | None = None,
          stores: Sequence[Path] = (), compared_as: str | None = None) -> list[Path]:
    """report.txt, report.json, the plots and report.html (naming ``stores``, the run's
    SQLite stores; ``compared_as``, its value in a comparison); returns the files written."""
    (folder / REPORT_TXT).write_text(text(r) + "\n", encoding="utf-8")
    (folder / REPORT_JSON).write_text(r.as_json() + "\n", encoding="utf-8")
    pictures = plots.single(r, folder)
    (folder / REPORT_HTML).write_text(report_page(r, folder, pictures, run, stores=stores,
                                                  compared_as=compared_as), encoding="utf-8")
    return [folder / REPORT_TXT, folder / REPORT_JSON, *pictures, folder / REPORT_HTML]


def _figures(seconds: float) -> RunFigures:
    return RunFigures(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _run_figures(result: Report, run: RunFigures) -> str:
    took = f"{run.seconds:.1f} s" if run.seconds >= 0.1 else f"{run.seconds * 1000:.0f} ms"
    return (f"ran in {took}: {result.events / run.seconds:,.0f} events/s stored, "
            f"peak memory {run.peak_mib:.0f} MiB")
