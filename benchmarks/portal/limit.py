"""The physical limit of this design: scrypt digests per second on every core, nothing
else running."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

from benchmarks.portal.settings import COST, PASSWORD
from domain.crypto import Hasher


def _digests_for(seconds: float) -> tuple[float, float]:
    """Digests per second in this process for ``seconds``, and CPU seconds per digest."""
    hasher, done = Hasher(COST), 0
    began, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - began < seconds:
        hasher.digest(PASSWORD)
        done += 1
    return done / (time.perf_counter() - began), (time.process_time() - cpu) / done


def digest_capacity(cores: int, seconds: float) -> tuple[float, float]:
    """scrypt digests per second at cost 14 on ``cores`` processes at once, nothing else
    of ours running (the sum of each process's rate, all started before any measures),
    and the CPU seconds one digest takes."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(cores, mp_context=spawn) as pool:
        for started in [pool.submit(time.sleep, 0.3) for _ in range(cores)]:
            started.result()  # every process is up
        measured = list(pool.map(_digests_for, [seconds] * cores))
    return sum(r for r, _ in measured), min(c for _, c in measured)
