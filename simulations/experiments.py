"""Experiments for people: one scenario run with a progress bar over the simulated days, or
several side by side (--compare); their reports and plots written next to their stores."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from simulations import plots
from simulations.report import Report, report, side_by_side, text
from simulations.runner import Simulation
from simulations.scenario import Scenario


def simulate(scenario: Scenario, folder: Path) -> tuple[Report, Simulation, float]:
    """One run with a progress bar; returns its report, the simulation and wall seconds."""
    began = time.perf_counter()
    with tqdm(total=scenario.days, unit="day", desc=f"simulating {scenario.name}",
              file=sys.stderr, disable=None, leave=False) as bar:
        simulation = Simulation(scenario, folder, on_day=lambda _: bar.update())
        simulation.run()
    result = report(simulation)
    simulation.close()
    return result, simulation, time.perf_counter() - began


def run_one(scenario: Scenario, folder: Path, say: Callable[[str], None]) -> Path:
    result, simulation, seconds = simulate(scenario, folder)
    say(text(result))
    say(_run_figures(result, seconds))
    for path in write(result, folder):
        say(f"wrote {path}")
    return simulation.store


def run_compare(scenario: Scenario, minutes: list[float], folder: Path,
                say: Callable[[str], None]) -> list[Path]:
    reports, stores = [], []
    for validity in minutes:
        variant = scenario.with_policy(key_validity_minutes=validity)
        result, simulation, seconds = simulate(variant, folder / f"validity-{validity:g}")
        write(result, simulation.folder)
        reports.append(result)
        stores.append(simulation.store)
        say(f"policy {len(reports)}: {variant.policy.label()}  ({_run_figures(result, seconds)})")
    table = side_by_side(reports)
    (folder / "compare.txt").write_text(table + "\n", encoding="utf-8")
    say(table)
    for path in [folder / "compare.txt", *plots.compare(reports, folder)]:
        say(f"wrote {path}")
    return stores


def write(r: Report, folder: Path) -> list[Path]:
    """report.txt, report.json and the plots; returns the files written."""
    (folder / "report.txt").write_text(text(r) + "\n", encoding="utf-8")
    (folder / "report.json").write_text(r.as_json() + "\n", encoding="utf-8")
    return [folder / "report.txt", folder / "report.json", *plots.single(r, folder)]


def _run_figures(result: Report, seconds: float) -> str:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (f"ran in {seconds:.1f} s: {result.events / seconds:,.0f} events/s stored, "
            f"peak memory {peak:.0f} MiB")
