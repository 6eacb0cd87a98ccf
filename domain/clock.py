"""The model's only clock: aware UTC (D-8). Every event of the domain's aggregates is
stamped by it (domain.aggregate), also those the library makes. freezegun moves it in the
specs; a simulation or the demo holds it itself (``Simulated``): the same to the model,
without freezegun's patching of every module and its cost on every read of the time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from types import TracebackType

_held: datetime | None = None  # a simulation's instant while one runs
_one_at_a_time = threading.Lock()  # a multi-threaded Dask worker may be handed two shards


def now() -> datetime:
    return _held or datetime.now(tz=UTC)


class Simulated:
    """Time held at an instant and moved by hand while the block runs. One simulation at a
    time in a process: another waits for it to end."""

    def __init__(self, start: datetime) -> None:
        self.start = start.astimezone(UTC)

    def __enter__(self) -> Simulated:
        _one_at_a_time.acquire()
        self.move_to(self.start)
        return self

    def move_to(self, moment: datetime) -> None:
        global _held
        _held = moment.astimezone(UTC)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        global _held
        _held = None
        _one_at_a_time.release()
