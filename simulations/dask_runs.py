"""Sharded runs on Dask: each shard a task on a worker (by default a local cluster of one
single-threaded worker per shard, at most one per core: more shards queue, each worker
playing one at a time; or the cluster behind a scheduler's address: ``dask_cluster``), a
progress bar counting simulated days over all shards, failed shards retried and then
named, never lost; on Ctrl-C, a cluster's shards stopped at their next simulated day (or
customer, while they onboard the population).

A shard writes its own SQLite store under the run's folder; or, given PostgreSQL settings,
all shards write one shared store whose tables the driver creates before any worker starts
(workers then run with CREATE_TABLE=false: starting together, they would race to create
them). The report is one: the shards' reports merged (``shards.merge``);
on a shared store each shard is counted over its own events there (``shards.own_events``:
shards write at once, so the store's order interleaves their simulated days).
"""

from __future__ import annotations

import functools
import sys
import time
import uuid
from asyncio import CancelledError
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import attrs
from distributed import Client, Event, Future, as_completed, get_worker, wait
from tqdm import tqdm

from application import bootstrap
from simulations.dask_cluster import dask_client
from simulations.population import Part
from simulations.report import Report
from simulations.run_folder import set_aside_earlier_run
from simulations.runner import RunStopped
from simulations.scenario import Scenario
from simulations.shards import (
    ShardResult,
    create_tables,
    folder_of,
    merge,
    own_store,
    parts,
    run_shard,
)
from simulations.wording import counted_as

RETRIES = 1  # a shard that fails is run once more (afresh), then named
STOP_WAIT = 30  # seconds a Ctrl-C waits for shards on a cluster's workers to stop
SCHEDULER_TIMEOUT = 5  # seconds for the scheduler to take the stop (else: it is not answering)

Failure = tuple[Part, str, BaseException]  # a shard, when it failed, and why


class ShardsFailed(RuntimeError):
    """One or more shards failed (a task even after its retries); each is named, with why.
    ``errors``: what each raised, in the same order (a full disk is told from a bug)."""

    def __init__(self, failures: list[Failure]) -> None:
        ordered = sorted(failures, key=lambda failure: failure[0].index)
        self.failures = [(part, why) for part, why, _ in ordered]
        self.errors = [error for *_, error in ordered]
        super().__init__("; ".join(f"{part.name} failed {why}" for part, why in self.failures))


def _why(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


@attrs.frozen
class ShardedRun:
    report: Report
    shards: list[ShardResult]
    seconds: float

    @property
    def stores(self) -> list[Path]:
        return [r.store for r in self.shards if r.store is not None]

    @property
    def peak_mib(self) -> float:
        """The largest peak RSS of any shard's worker process."""
        return max(r.peak_mib for r in self.shards)


ASK_EVERY = 0.5  # seconds of play between two questions to the scheduler: is the run stopped?
ONBOARDED_STEPS = 50  # times a shard tells how many of its customers it has onboarded


def shard_task(scenario: Scenario, part: Part, folder: Path, store: bootstrap.StoreSettings,
               shared: bool, topic: str, stoppable: bool) -> ShardResult | None:
    """A shard as a Dask task: each simulated day is logged to the driver under ``topic``.
    ``stoppable`` (a cluster of the caller's: its tasks outlive the command): the run's stop
    event, named ``topic`` too, is read as the task starts, then between customers
    onboarded and between days (at most every ASK_EVERY seconds: each read is a round trip
    to the scheduler); set when the run is interrupted, the shard stops there (None). A
    running task cannot be cancelled: a shard on another cluster's worker played on to its
    end, holding the worker, after Ctrl-C. (A local cluster's workers end with the
    command.)"""
    worker, stop = get_worker(), Event(topic) if stoppable else None
    if stop is not None and stop.is_set():  # (queued, or retried, after a Ctrl-C)
        return None
    asked = time.monotonic()

    def stopped() -> bool:
        nonlocal asked
        if stop is None or time.monotonic() - asked < ASK_EVERY:
            return False
        asked = time.monotonic()
        return stop.is_set()

    def on_day(day: int) -> None:
        worker.log_event(topic, {"shard": part.index, "day": day})

    onboarded, step = 0, max(1, part.size // ONBOARDED_STEPS)

    def on_customer() -> None:  # (told in a few steps: each is a message to the scheduler)
        nonlocal onboarded
        onboarded += 1
        if onboarded % step == 0 or onboarded == part.size:
            worker.log_event(topic, {"shard": part.index, "customers": onboarded % step or step})

    try:
        return run_shard(scenario, part, folder, store, on_day, shared=shared, stop=stopped,
                         on_customer=on_customer)
    except RunStopped:
        return None


def shared_store(store: bootstrap.StoreSettings) -> bootstrap.StoreSettings:
    """A shared store's tables made once, here; the settings workers use (no CREATE_TABLE)."""
    create_tables(store)
    return store | {"CREATE_TABLE": "false"}


def run_sharded(scenario: Scenario, shards: int, folder: Path, *, scheduler: str | None = None,
                store: bootstrap.StoreSettings | None = None, retries: int = RETRIES,
                progress: bool | None = None, client: Client | None = None) -> ShardedRun:
    """Play ``scenario`` as ``shards`` tasks on Dask; one report for all of them.
    ``store``: one shared (PostgreSQL) store instead of a SQLite store per shard.
    ``progress``: a bar over all shards' simulated days (None: on a terminal only).
    ``client``: a client of ``scheduler``'s (or a local) cluster already open, to use."""
    began = time.perf_counter()
    plan = parts(scenario, shards)
    topic = f"billing-station-days-{uuid.uuid4().hex}"
    results: dict[int, ShardResult] = {}
    failures: list[Failure] = []
    with _given_or_own(client, len(plan), scheduler) as client:  # a cluster first: else nothing written
        folder.mkdir(parents=True, exist_ok=True)
        set_aside_earlier_run(folder)
        shared = shared_store(store) if store is not None else None
        stores = _stores_made(plan, folder, shared, failures)
        bar = functools.partial(tqdm, file=sys.stderr, leave=False,
                                disable=None if progress is None else not progress)
        with bar(total=sum(p.size for p in plan if p.index in stores),
                 unit="customer", desc=f"onboarding {scenario.name}", position=0) as customers, \
                bar(total=scenario.days * len(stores), unit="shard-day", position=1,
                    desc=f"simulating {scenario.name} in {counted_as(len(plan), 'shard')}"
                    ) as days:
            def told(event: tuple[float, dict[str, int]]) -> None:
                _, said = event  # (a shard's day, or how many more customers it onboarded)
                if "day" in said:
                    days.update()
                else:
                    customers.update(said["customers"])

            client.subscribe_topic(topic, told)
            attempts = 1 if shared else 1 + retries
            stoppable = scheduler is not None  # (a local cluster's workers end with it)
            futures: dict[Future, Part] = {}
            try:
                for part in plan:
                    if part.index in stores:
                        futures[client.submit(
                            shard_task, scenario, part, folder_of(folder, part),
                            stores[part.index], shared is not None, topic, stoppable,
                            key=f"shard-{part.index + 1}-of-{part.count}-{topic}", pure=False,
                            retries=attempts - 1)] = part
                _gathered(futures, attempts, results, failures)
            except KeyboardInterrupt:
                try:
                    if stoppable:
                        _stop_on_cluster(client, list(futures), topic)
                finally:  # (also after a second Ctrl-C, which stops the wait)
                    with suppress(Exception, CancelledError):
                        client.cancel(list(futures))
                raise
            finally:  # also after a Ctrl-C: a local cluster's shard plays on until the cluster
                # closes, after this client, and the scheduler said CRITICAL, with a
                # traceback, of each simulated day it could not send to the closed client
                with suppress(Exception, CancelledError):
                    client.unsubscribe_topic(topic)
    if failures:
        raise ShardsFailed(failures)
    done = [results[k] for k in sorted(results)]
    return ShardedRun(merge([r.report for r in done]), done, time.perf_counter() - began)


def _stores_made(plan: list[Part], folder: Path, shared: bootstrap.StoreSettings | None,
                 failures: list[Failure]) -> dict[int, bootstrap.StoreSettings]:
    """Each shard's store by its index (the one ``shared``, or its own made here before any
    task starts); a shard whose own store cannot be made is a failure, before it started."""
    stores = {}
    for part in plan:
        try:
            stores[part.index] = shared or own_store(folder_of(folder, part))
        except OSError as e:
            failures.append((part, f"before it started (its store "
                                   f"{folder_of(folder, part)}): {_why(e)}", e))
    return stores


def _gathered(futures: dict[Future, Part], attempts: int, results: dict[int, ShardResult],
              failures: list[Failure]) -> None:
    """Each shard's result as it comes, or its failure (named after the others finish)."""
    for future in as_completed(futures):
        part = futures[future]
        try:
            result = future.result()
        except Exception as e:
            failures.append((part, f"in {counted_as(attempts, 'attempt')}: {_why(e)}", e))
            continue
        if result is None:  # (its stop event: only this run's Ctrl-C sets it)
            failures.append((part, "when the run was stopped", KeyboardInterrupt()))
        else:
            results[part.index] = result


@contextmanager
def _given_or_own(client: Client | None, shards: int, scheduler: str | None
                  ) -> Iterator[Client]:
    if client is not None:
        yield client
        return
    with dask_client(shards, scheduler) as own:
        yield own


def _stop_on_cluster(client: Client, futures: list[Future], topic: str) -> None:
    """Ctrl-C on a cluster of the caller's: every shard stops at its next simulated day (or
    customer, while onboarding), those not started as they start, and this waits for them
    (a second Ctrl-C stops waiting; they stop all the same), so that their folders are
    cleared after their last write. Best effort: a scheduler gone or not answering leaves
    the Ctrl-C to be answered."""
    playing, scheduler = [future for future in futures if not future.done()], client.scheduler
    if not playing or scheduler is None:
        return
    say = functools.partial(print, file=sys.stderr, flush=True)
    say(f"\nstopping {counted_as(len(playing), 'shard')} on the cluster at their next "
        "simulated day or customer ...")
    try:
        client.sync(scheduler.event_set, name=topic, callback_timeout=SCHEDULER_TIMEOUT)
    except (Exception, CancelledError):
        say("the cluster's scheduler did not answer: its shards may play on")
        return
    with suppress(Exception, CancelledError):  # (a scheduler lost meanwhile ends the wait)
        wait(playing, timeout=STOP_WAIT)
    if still := sum(1 for future in playing if not future.done()):  # (the event stays set)
        say(f"{counted_as(still, 'shard')} still playing after {STOP_WAIT} s: each stops at "
            "its next simulated day or customer")
        return
    with suppress(Exception, CancelledError):  # all stopped: the scheduler forgets the event
        client.sync(scheduler.event_clear, name=topic, callback_timeout=SCHEDULER_TIMEOUT)


def describe(run: ShardedRun) -> str:
    """One line per shard and the run's figures, for people."""
    # a worker process may have played other shards before: its peak is over all of them
    lines = [f"{r.part.name}: {r.events:,} events in {r.seconds:.1f} s, its worker's peak "
             f"RSS so far {r.peak_mib:.0f} MiB" for r in run.shards]
    events = run.report.events
    lines.append(f"{counted_as(len(run.shards), 'shard')} in {run.seconds:.1f} s wall: "
                 f"{events / run.seconds:,.0f} events/s stored over all shards")
    return "\n".join(lines)

