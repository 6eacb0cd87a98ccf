"""Benchmark: a simulation's stored events per second against the library's bare save rate,
and what splitting it into shards on Dask buys.

Runs a scenario (``large`` by default: about 10,000 login IDs for 30 days) in this process,
noting how many events each save stored, then in the same run reads those events back from
its store and saves the same events again, in the same saves, with the library's plain
``save`` to a fresh SQLite file set as a simulation's store is (commits not flushed one by
one): the bare rate, timed over the saves alone. Prints both, their ratio (target ≥ 70%),
the wall time and peak memory, and beside them the bare rate with the library's default
flush of each commit, and the rate of as many small uniform events of one plain aggregate
in as many saves (the benchmark's earlier baseline). Then runs the
same scenario in ``--shards`` shards (2) on a local Dask cluster of as many single-threaded
worker processes, and prints its speed against the single process's, each with its report
counted from the store as `simulate` makes it (target ≥ 1.7× with 2 shards on 2 cores),
with each worker's peak RSS.

    .venv/bin/python -m benchmarks.simulation [SCENARIO] [--customers N] [--days N]
                                              [--shards N] [--repeat N]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from application.adapters.eventstore import EventStore
from application.adapters.unflushed_sqlite import unflushed
from domain.crypto import Hasher
from simulations.dask_runs import run_sharded
from simulations.population import RememberingHasher
from simulations.report import report
from simulations.runner import Simulation
from simulations.scenario import Scenario, load

SMALL = 30  # seconds of one process below which a sharded run mostly measures Dask's start


class Note(Aggregate):
    class Written(Aggregate.Event):
        text: str

    def write(self, text: str) -> None:
        self.trigger_event(self.Written, text=text)


def bare(path: Path, events: int, saves: int) -> float:
    """Events per second saving ``events`` small uniform events in ``saves`` saves of one new
    aggregate each (the earlier baseline: the same count, not the same events)."""
    app = Application[Any](unflushed(_sqlite(path)))
    per_save, extra = divmod(events, saves)
    began = time.perf_counter()
    for i in range(saves):
        note = Note()
        for _ in range(per_save - 1 + (i < extra)):
            note.write("ログインしました")
        app.save(note)
    seconds = time.perf_counter() - began
    app.close()
    return events / seconds


def bare_same(simulated: Path, sizes: list[int], path: Path, flushed: bool = False
              ) -> tuple[float, float]:
    """Events per second saving a simulation's own events again (read from the store at
    ``simulated``), in its saves (``sizes``:
    the events of each, in order), with the library's ``save`` and this system's codec, to
    a SQLite file set as the simulation's store is, or ``flushed`` at each commit (the
    library's default), and per CPU second. Read back and decoded page by page; only the
    saves are timed."""
    store = EventStore(_sqlite(path) if flushed else unflushed(_sqlite(path)))
    source = EventStore(_sqlite(simulated))
    recorder, mapper = source.recorder, source.mapper
    groups, pending, start, timed, cpu = iter(sizes), [], 1, 0.0, 0.0
    size = next(groups)
    while page := recorder.select_notifications(start, 10_000):
        start = page[-1].id + 1
        for notification in page:
            pending.append(mapper.to_domain_event(notification))
            if len(pending) == size:
                began, began_cpu = time.perf_counter(), time.process_time()
                Application.save(store, *pending)
                timed += time.perf_counter() - began
                cpu += time.process_time() - began_cpu
                pending, size = [], next(groups, 0)
    store.close()
    source.close()
    if pending or next(groups, None) is not None:  # (a save of no events once kept every
        raise RuntimeError(  # later one pending, untimed: a rate five times too high)
            f"the saves do not add up to the store's events: {len(pending):,} left over")
    return sum(sizes) / timed, sum(sizes) / cpu


def _sqlite(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


@attrs.frozen
class Single:
    """The scenario run once in this process, as the benchmark measured it."""

    simulation: Simulation
    sizes: list[int]  # the events each save stored, in order
    events: int
    wall: float  # the run alone
    cpu: float  # its CPU seconds (this process's)
    whole: float  # the run with its report, counted from the store, and its store closed
    peak: float  # MiB
    digests: int
    digest_seconds: float


def run_single(scenario: Scenario, folder: Path) -> Single:
    """The scenario in this process, its saves noted and its scrypt derivations timed."""
    RememberingHasher._derive.cache_clear()  # (a run before it in this process remembered)
    simulation = Simulation(scenario, folder)
    sizes: list[int] = []
    save, derive = simulation.app.save, Hasher._derive
    digests = [0, 0.0]

    def counted(*objs: Any, **kwargs: Any) -> Any:
        recordings = save(*objs, **kwargs)
        if recordings:  # (a save that stored nothing, as a key entered over an hour after
            sizes.append(len(recordings))  # it expired saves since KEY_AWAITED: not timed)
        return recordings

    def timed(secret: str, salt: bytes, cost: int) -> bytes:
        began = time.perf_counter()
        derived = derive(secret, salt, cost)
        digests[0], digests[1] = digests[0] + 1, digests[1] + time.perf_counter() - began
        return derived

    simulation.app.save = counted  # type: ignore[method-assign]
    Hasher._derive = staticmethod(timed)  # type: ignore[method-assign]
    try:
        began, began_cpu = time.perf_counter(), time.process_time()
        simulation.run()
        wall, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    finally:
        Hasher._derive = staticmethod(derive)  # type: ignore[method-assign]
    began = time.perf_counter()
    report(simulation)  # counted from the store, as `simulate` and every shard do
    events = int(simulation.app.recorder.max_notification_id() or 0)
    simulation.close()  # (its store flushed whole, as every shard's is)
    whole = wall + time.perf_counter() - began
    return Single(simulation, sizes, events,
                  wall, cpu, whole, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  int(digests[0]), digests[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", default="large")
    parser.add_argument("--customers", type=int, help="override the population's customers")
    parser.add_argument("--days", type=int, help="override the number of days")
    parser.add_argument("--shards", type=int, default=2, help="shards of the sharded run "
                        "(default 2; 1 leaves it out)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the one process and "
                        "its bare saves, each pair after the other; their ratios and the "
                        "median are printed (a shared machine moves one ratio by 20 points)")
    args = parser.parse_args()
    scenario = load(args.scenario)
    if args.customers:
        scenario = attrs.evolve(scenario, population=attrs.evolve(
            scenario.population, customers=args.customers))
    scenario = attrs.evolve(scenario, days=args.days or scenario.days)
    with tempfile.TemporaryDirectory(prefix="bs-bench-sim-") as folder:  # (a gigabyte: gone
        measure(scenario, args, Path(folder))  # once printed, or stopped)


def measure(scenario: Scenario, args: argparse.Namespace, folder: Path) -> None:
    ratios: list[tuple[float, float]] = []  # (by wall time, by CPU time) of each run
    for run in range(max(1, args.repeat)):
        single = run_single(scenario, folder / f"run-{run + 1}")
        baseline, baseline_cpu = bare_same(single.simulation.store, single.sizes,
                                           folder / f"run-{run + 1}" / "bare.sqlite3")
        ratios.append((single.events / single.wall / baseline,
                       single.events / single.cpu / baseline_cpu))
        if run:  # (the disk: only the last run's store is read again below)
            shutil.rmtree(folder / f"run-{run}")
        if args.repeat > 1:
            print(f"run {run + 1} of {args.repeat}: {ratios[-1][0]:.0%} of the bare rate "
                  f"({ratios[-1][1]:.0%} by CPU time), {single.wall:.1f} s", flush=True)
    simulation = single.simulation
    events, saves, wall = single.events, len(single.sizes), single.wall
    rate = events / wall
    flushed, _ = bare_same(simulation.store, single.sizes, folder / "bare-flushed.sqlite3",
                           flushed=True)
    uniform = bare(folder / "bare-uniform.sqlite3", events, saves)
    print(f"scenario {scenario.name}: {len(simulation.people):,} login IDs, {scenario.days} days, "
          f"{simulation.tally.visits:,} visits, hash cost 2^{scenario.hash_cost}")
    print(f"simulation: {events:,} events in {saves:,} saves, {wall:.1f} s wall, "
          f"{rate:,.0f} events/s, peak RSS {single.peak:.0f} MiB; with its report (counted "
          f"from the store) and its store closed {single.whole:.1f} s")
    print(f"bare saves (the same events read back, saved again in the same saves, SQLite "
          f"file set as the simulation's): {baseline:,.0f} events/s")
    print(f"ratio: {rate / baseline:.0%} of the bare rate (target ≥ 70%); by CPU time "
          f"{events / single.cpu / baseline_cpu:.0%} (events per CPU second, blind to waits for "
          f"the disk and to other programs)")
    if len(ratios) > 1:
        print(f"  median of {len(ratios)} runs: {statistics.median(r for r, _ in ratios):.0%} "
              f"of the bare rate, {statistics.median(c for _, c in ratios):.0%} by CPU time "
              f"(from {min(r for r, _ in ratios):.0%} to {max(r for r, _ in ratios):.0%})")
    print(f"  (the library's default, each commit flushed to the disk: bare saves at "
          f"{flushed:,.0f} events/s, the simulation at {rate / flushed:.0%} of that)")
    print(f"  (of the simulation's time, its {single.digests:,} scrypt derivations at the "
          f"scenario's cost took {single.digest_seconds:.1f} s, "
          f"{single.digest_seconds / wall:.0%}: "
          f"without them it would be at "
          f"{events / (wall - single.digest_seconds) / baseline:.0%} of the bare rate)")
    print(f"  (as many small uniform events of one plain aggregate in as many saves, the "
          f"earlier baseline: {uniform:,.0f} events/s, the simulation at {rate / uniform:.0%})")
    if args.shards > 1:
        sharded = run_sharded(scenario, args.shards, folder / "sharded", progress=False)
        stored = sum(r.events for r in sharded.shards)
        assert stored == events, f"{args.shards} shards stored {stored:,} events, not {events:,}"
        print(f"{args.shards} shards on Dask: {stored:,} events and their reports, "
              f"{sharded.seconds:.1f} s wall (cluster start included), "
              f"{stored / sharded.seconds:,.0f} events/s: {single.whole / sharded.seconds:.2f}× one "
              f"process with its report (target ≥ 1.7× with 2 shards on 2 cores)")
        for r in sharded.shards:
            print(f"  {r.part.name}: {r.events:,} events in {r.seconds:.1f} s, "
                  f"its worker's peak RSS so far {r.peak_mib:.0f} MiB")
        if single.whole < SMALL:
            print(f"  (a run of under {SMALL} s: the local cluster's start outweighs the work, "
                  f"so this ratio says nothing of what shards buy; the full run's does)")


if __name__ == "__main__":  # (Dask's worker processes import this module: not again)
    main()
