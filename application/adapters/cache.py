"""The repository's aggregate cache: the library's LRUCache contract on an OrderedDict."""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Any, TypeVar

from eventsourcing.application import Cache

K = TypeVar("K")
V = TypeVar("V")


class OrderedLRU(Cache[K, V]):
    """Least recently used first out, as the library's LRUCache, but each step one call of
    an OrderedDict's (C code, atomic under the GIL) where the library's walks a linked list
    in Python under a lock: a simulation reads and caches an aggregate at every command
    (about 5% of its time went to the library's two methods). Two threads at once may
    each find a key the other has just evicted: a miss, never a broken list."""

    cache: OrderedDict[K, Any]

    def __init__(self, maxsize: int):
        super().__init__()
        self.cache = OrderedDict()
        self.maxsize = maxsize

    def get(self, key: K, *, evict: bool = False) -> V:
        if evict:
            return self.cache.pop(key)
        value = self.cache[key]
        try:  # noqa: SIM105 (contextlib.suppress: a third of this method's time)
            self.cache.move_to_end(key)
        except KeyError:  # (evicted meanwhile: still the value read)
            pass
        return value

    def put(self, key: K, value: V | None) -> Any:
        """Cached as the most recent; the least recent out when full (returned, as the
        library's LRUCache returns it)."""
        cache = self.cache
        cache[key] = value
        cache.move_to_end(key)
        if len(cache) > self.maxsize:
            with contextlib.suppress(KeyError):  # (another thread's put emptied it first)
                return cache.popitem(last=False)
        return None, None
