"""The latest closed login attempts verify remembers, so that a late event is judged with
its evidence; a checkpoint keeps them packed."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from application.audit.packing import pack, unpack


class Identified(Protocol):
    @property
    def id(self) -> UUID: ...


Attempt = TypeVar("Attempt", bound=Identified)  # (attempt_book.Attempt)

REMEMBERED = 2_000  # closed attempts kept, so a late event is judged with its evidence
SEGMENTS = 8  # packed parts of them a checkpoint keeps at most


class RecentAttempts(Generic[Attempt]):
    """The latest ``REMEMBERED`` closed attempts, so a late event is judged with its
    evidence; an attempt closed again keeps its place, and the oldest is forgotten first.

    Pickled (a verify checkpoint), those closed since the last pickling go into one packed
    segment of their own and older segments stay as they were packed: a checkpoint costs
    what changed, not all it remembers. A segment older than the latest ``REMEMBERED`` is
    dropped whole. A late event for an attempt still packed unpacks them all, and the next
    pickling packs them as one segment again, as it does when there are more than
    ``SEGMENTS`` (many checkpoints, each of a few attempts)."""

    def __init__(self) -> None:
        # by id, as an int (a UUID's hash is a Python call; an attempt is added at its close)
        self.latest: OrderedDict[int, Attempt] = OrderedDict()
        self.packed: list[tuple[frozenset[int], bytes]] = []  # oldest first: ids, pickle

    def get(self, attempt_id: UUID) -> Attempt | None:
        found = self.latest.get(attempt_id.int)
        if found is None and self._is_packed(attempt_id.int):
            self._unpack()
            found = self.latest.get(attempt_id.int)
        return found

    def add(self, attempt: Attempt) -> None:
        key = attempt.id.int
        if self.packed and key not in self.latest and self._is_packed(key):
            self._unpack()
        self.latest[key] = attempt
        if len(self.latest) > REMEMBERED:
            self.latest.popitem(last=False)
        while self.packed and len(self.latest) + sum(
                len(ids) for ids, _ in self.packed[1:]) >= REMEMBERED:
            del self.packed[0]  # (each of its attempts is older than REMEMBERED newer ones)

    def _is_packed(self, key: int) -> bool:
        return bool(self.packed) and any(key in ids for ids, _ in self.packed)

    def _unpack(self) -> None:
        """The table as it would be had it never been packed."""
        table: OrderedDict[int, Attempt] = OrderedDict()
        for _, segment in self.packed:
            table.update(unpack(segment))
        table.update(self.latest)  # (one closed again keeps its first place, as in a dict)
        while len(table) > REMEMBERED:
            table.popitem(last=False)
        self.latest, self.packed = table, []

    def __getstate__(self) -> dict[str, Any]:
        segments = list(self.packed)
        if self.latest:
            segments.append(_segment(self.latest))
        if len(segments) > SEGMENTS:
            whole = RecentAttempts[Attempt]()
            whole.packed = segments
            whole._unpack()
            segments = [_segment(whole.latest)]
        return {"latest": OrderedDict(), "packed": segments}


def _segment(attempts: OrderedDict[int, Attempt]) -> tuple[frozenset[int], bytes]:
    return frozenset(attempts), pack(attempts)
