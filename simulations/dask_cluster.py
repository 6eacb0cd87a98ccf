"""Where shards run: a local Dask cluster (one single-threaded worker process per shard, at
most one per core, on the loopback interface, its workers quiet and deaf to Ctrl-C) or
the cluster behind a scheduler's address; a client of either, or why not."""

from __future__ import annotations

import gc
import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import dask
from distributed import Client, LocalCluster

from simulations import quiet_worker

# the scheduler's HTTP endpoints (health, metrics) on a free loopback port, not on :8787
LOOPBACK_ONLY = {"dashboard_address": "127.0.0.1:0"}
# Workers without their statistical profiler: it samples every thread's stack every 10 ms,
# and in a shard's one long pure-Python task that cost about a tenth of its time.
QUIET_WORKERS = {"distributed.worker.profile.enabled": False}


class SchedulerUnreachable(ConnectionError):
    """The Dask scheduler named by --scheduler did not answer."""


class SchedulerAddressError(ValueError):
    """--scheduler names no address a Dask client can use."""


def local_workers(shards: int) -> int:
    """A local cluster's worker processes for ``shards``: one per shard, at most one per
    core (more would only share the cores, each with a shard's memory)."""
    return max(1, min(shards, os.cpu_count() or 1))


@contextmanager
def dask_client(shards: int, scheduler: str | None = None) -> Iterator[Client]:
    """A client of the scheduler at ``scheduler``, or of a local cluster for ``shards`` on
    the loopback interface (closed afterwards): ``local_workers`` worker processes of one
    thread each, so a worker plays one shard at a time (the simulated clock is its
    process's) and the others queue. Their warnings and errors are not shown (a Ctrl-C
    made each say its task was cancelled, and its nanny that it killed it; a failed task
    printed its traceback): a failed shard is named, with why."""
    if scheduler:
        with _connected(scheduler) as client:
            _with_a_worker(client, scheduler)
            yield client
        return
    with dask.config.set(QUIET_WORKERS), _local_cluster(shards) as cluster, \
            Client(cluster) as client:
        yield client


def _connected(scheduler: str) -> Client:
    """A client of the scheduler at ``scheduler``, or one of the errors naming why not."""
    problem: Exception
    try:
        return Client(scheduler, timeout=10)
    except ValueError as e:  # not an address at all
        problem = SchedulerAddressError(f"{scheduler!r} is not a scheduler address "
                                        f"(e.g. tcp://10.0.0.5:8786): {e}")
    except (OSError, TimeoutError) as e:
        problem = SchedulerUnreachable(f"no Dask scheduler answered at {scheduler}: {e}")
    # The client that failed to connect is garbage, kept in a cycle by its traceback: closed
    # now, not whenever the collector next runs, which may be inside another client's start
    # (Dask's loop runners share a lock: a test process hung there).
    gc.collect()
    raise problem


WORKERS_WAIT = 30.0  # s a scheduler may take to have a worker (one starting beside it)


def _with_a_worker(client: Client, scheduler: str) -> None:
    """A scheduler without workers took the shards and waited for ever, saying nothing."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_WAIT)
    except TimeoutError:
        raise SchedulerUnreachable(
            f"the Dask scheduler at {scheduler} has no workers (none joined within "
            f"{WORKERS_WAIT:g} s): start some, e.g. dask worker {scheduler} --nthreads 1"
        ) from None


def _local_cluster(shards: int) -> LocalCluster:
    """The local cluster, its worker processes ignoring Ctrl-C (a terminal sends it to every
    process of the command, and each printed a traceback as it stopped mid-task): this
    process's KeyboardInterrupt closes the cluster, which stops them. They are born ignoring
    it, and a worker the nanny restarts (after a crash) ignores it from its preload on."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return LocalCluster(n_workers=local_workers(shards), threads_per_worker=1,
                            processes=True, dashboard_address=None, host="127.0.0.1",
                            silence_logs=logging.CRITICAL, scheduler_kwargs=LOOPBACK_ONLY,
                            preload=[quiet_worker.__name__])
    finally:
        signal.signal(signal.SIGINT, previous)
