"""Benchmark: a simulation's stored events per second against the library's bare save rate,
and what splitting it into shards on Dask buys.

Runs a scenario (``large`` by default: about 10,000 login IDs for 30 days) in this process,
counting its saves, then in the same run saves the same number of events, in the same
number of saves, to a fresh SQLite file set as a simulation's store is (commits not flushed
one by one) with a plain eventsourcing aggregate: the bare rate. Prints both, their ratio
(target ≥ 70%), the wall time and peak memory, and beside them the bare rate with the
library's default flush of each commit. Then runs the
same scenario in ``--shards`` shards (2) on a local Dask cluster of as many single-threaded
worker processes, and prints its speed against the single process's, each with its report
counted from the store as `simulate` makes it (target ≥ 1.7× with 2 shards on 2 cores),
with each worker's peak RSS.

    .venv/bin/python -m benchmarks.simulation [SCENARIO] [--customers N] [--days N]
                                              [--shards N]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from application.adapters.unflushed_sqlite import unflushed
from simulations.dask_runs import run_sharded
from simulations.report import report
from simulations.runner import Simulation
from simulations.scenario import load


class Note(Aggregate):
    class Written(Aggregate.Event):
        text: str

    def write(self, text: str) -> None:
        self.trigger_event(self.Written, text=text)


def bare(path: Path, events: int, saves: int, flushed: bool = False) -> float:
    """Events per second saving ``events`` events in ``saves`` saves of one new aggregate,
    on a SQLite file set as a simulation's store is (commits not flushed one by one), or
    ``flushed``: the library's default, each commit waiting for the disk."""
    store = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    app = Application[Any](store if flushed else unflushed(store))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", default="large")
    parser.add_argument("--customers", type=int, help="override the population's customers")
    parser.add_argument("--days", type=int, help="override the number of days")
    parser.add_argument("--shards", type=int, default=2, help="shards of the sharded run "
                        "(default 2; 1 leaves it out)")
    args = parser.parse_args()
    scenario = load(args.scenario)
    if args.customers:
        scenario = attrs.evolve(scenario, population=attrs.evolve(
            scenario.population, customers=args.customers))
    scenario = attrs.evolve(scenario, days=args.days or scenario.days)
    folder = Path(tempfile.mkdtemp(prefix="bs-bench-sim-"))

    simulation = Simulation(scenario, folder)
    saves = 0
    save = simulation.app.save

    def counted(*objs: Any, **kwargs: Any) -> Any:
        nonlocal saves
        saves += 1
        return save(*objs, **kwargs)

    simulation.app.save = counted  # type: ignore[method-assign]
    began = time.perf_counter()
    simulation.run()
    wall = time.perf_counter() - began
    events = int(simulation.app.recorder.max_notification_id() or 0)
    began = time.perf_counter()
    report(simulation)  # counted from the store, as `simulate` and every shard do
    whole = wall + time.perf_counter() - began
    simulation.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = events / wall
    baseline = bare(folder / "bare.sqlite3", events, saves)
    flushed = bare(folder / "bare-flushed.sqlite3", events, saves, flushed=True)
    print(f"scenario {scenario.name}: {len(simulation.people):,} login IDs, {scenario.days} days, "
          f"{simulation.tally.visits:,} visits, hash cost 2^{scenario.hash_cost}")
    print(f"simulation: {events:,} events in {saves:,} saves, {wall:.1f} s wall, "
          f"{rate:,.0f} events/s, peak RSS {peak:.0f} MiB; with its report (counted from "
          f"the store) {whole:.1f} s")
    print(f"bare saves (same events, same saves, SQLite file set as the simulation's): "
          f"{baseline:,.0f} events/s")
    print(f"ratio: {rate / baseline:.0%} of the bare rate (target ≥ 70%)")
    print(f"  (the library's default, each commit flushed to the disk: bare saves at "
          f"{flushed:,.0f} events/s, the simulation at {rate / flushed:.0%} of that)")
    if args.shards > 1:
        sharded = run_sharded(scenario, args.shards, folder / "sharded", progress=False)
        stored = sum(r.events for r in sharded.shards)
        assert stored == events, f"{args.shards} shards stored {stored:,} events, not {events:,}"
        print(f"{args.shards} shards on Dask: {stored:,} events and their reports, "
              f"{sharded.seconds:.1f} s wall (cluster start included), "
              f"{stored / sharded.seconds:,.0f} events/s: {whole / sharded.seconds:.2f}× one "
              f"process with its report (target ≥ 1.7× with 2 shards on 2 cores)")
        for r in sharded.shards:
            print(f"  {r.part.name}: {r.events:,} events in {r.seconds:.1f} s, "
                  f"worker peak RSS {r.peak_mib:.0f} MiB")


if __name__ == "__main__":  # (Dask's worker processes import this module: not again)
    main()
