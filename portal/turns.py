"""Digest turns that serve's worker processes share when they outnumber the cores: as many
turns as cores, each a lock on a file of serve's own folder (BS_PORTAL_TURNS), so four
workers on two cores work out two digests at a time between them, not four. Each digest
works through 16 MB: four at once on two cores evict each other from the caches, each
costing more CPU, and the queue finishes no sooner. A worker killed while it holds a turn
gives it back with its files (the kernel releases an flock with its holder)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

TURNS = "BS_PORTAL_TURNS"  # serve's folder of turn files, when its workers outnumber the cores


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0))


def prepare(folder: Path, cores: int) -> None:
    """The turn files, one per core (serve's parent, before any worker starts)."""
    for turn in range(cores):
        (folder / f"turn-{turn}").touch()


class Turns:
    """The turns in ``folder``: a digest takes any free one; when none is, it waits for
    its worker's own (workers start on different ones, so waiting spreads over all)."""

    def __init__(self, folder: Path):
        self.paths = sorted(folder.glob("turn-*"))
        if not self.paths:
            raise ValueError(f"{folder} holds no turn files")
        self.own = os.getpid() % len(self.paths)
        self._files = threading.local()  # (an flock belongs to an open file: one per thread)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        files = self._opened()
        order = files[self.own:] + files[:self.own]
        taken = next((fd for fd in order if _try(fd)), None)
        if taken is None:
            taken = order[0]
            fcntl.flock(taken, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(taken, fcntl.LOCK_UN)

    def _opened(self) -> list[int]:
        files: list[int] | None = getattr(self._files, "fds", None)
        if files is None:
            files = self._files.fds = [os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                                       for path in self.paths]
        return files


def _try(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
