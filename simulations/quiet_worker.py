"""Preloaded into a local cluster's worker processes (Dask calls ``dask_setup`` as each
starts, on its main thread): Ctrl-C is the driver's to handle, not theirs."""

from __future__ import annotations

import signal

from distributed import Worker


def dask_setup(worker: Worker) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
