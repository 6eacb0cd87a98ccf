"""``python -m benchmarks.portal``: every worker count's runs, their figures and checks."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import benchmarks.portal as package
from benchmarks.portal.run import Figures, run_load, summary
from benchmarks.portal.settings import COST
from simulations.wording import counted_as


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.portal",
                                     description=(package.__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="A short load (a few seconds a run), so CI proves it works.")
    parser.add_argument("--workers", default="1,2,4", help="Worker counts, comma-separated.")
    parser.add_argument("--seconds", type=float, help="Load time per run (default 30; 4 quick).")
    parser.add_argument("--users", type=int, help="Simultaneous people (default 8 per core).")
    parser.add_argument("--keep", type=Path, help="Keep the runs' logs and CSVs here.")
    parser.add_argument("--repeat", type=int, default=1,
                        help="Runs of each worker count, in turn; then each count's median "
                             "and range (default 1).")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat: give 1 or more runs")
    cores = len(os.sched_getaffinity(0))
    seconds = args.seconds or (3.0 if args.quick else 30.0)
    users = args.users or (4 if args.quick else 8) * cores
    where = (f"PostgreSQL at {os.environ['POSTGRES_HOST']}:{os.environ.get('POSTGRES_PORT', 5432)}"
             if os.environ.get("POSTGRES_HOST") else "SQLite (POSTGRES_HOST is not set)")
    print(f"Portal load: {where}, {counted_as(cores, 'core')}, scrypt N=2^{COST}, "
          f"{counted_as(users, 'user')}, {seconds:g} s a run")
    print(f"The digest limit: scrypt digests/s on {counted_as(cores, 'process')} at once with nothing "
          "else running, measured before and after each run")
    failed = False
    folder = Path(tempfile.mkdtemp(prefix="bs-portal-load-"))
    runs: dict[int, list[Figures]] = {}
    try:
        for run in range(1, args.repeat + 1):
            for workers in [int(w) for w in args.workers.split(",")]:
                figures = run_load(workers, seconds, users, cores,
                                   folder / f"run-{run}-workers-{workers}",
                                   0.5 if args.quick else 3.0, measure_after=not args.quick)
                print(figures.line())
                for problem in figures.problems:
                    print(f"  PROBLEM: {problem}")
                failed = failed or bool(figures.problems) or figures.failures > 0
                runs.setdefault(workers, []).append(figures)
        if args.repeat > 1:
            print(f"Over {counted_as(args.repeat, 'run')} of each (median, range):")
            for workers, each in runs.items():
                print("  " + summary(workers, each))
    finally:
        if args.keep:
            shutil.copytree(folder, args.keep, dirs_exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
    if failed:
        print("FAILED: a request failed, or something the people saw is not in the store, "
              "or verify found a violation, or a secret is in a log")
        sys.exit(1)
    print("OK: no error, nothing lost, verify clean, no secret in the logs (every run)")


if __name__ == "__main__":
    main()
