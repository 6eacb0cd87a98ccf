"""The audit's own pickles (a verify checkpoint and what it packs inside): built back only
from this system's domain events and audit books and a few standard types."""

from __future__ import annotations

import gc
import importlib
import io
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_ALLOWED = {("collections", "OrderedDict"), ("collections", "Counter"),
            ("datetime", "datetime"), ("datetime", "timezone"), ("datetime", "timedelta"),
            ("uuid", "UUID"), ("uuid", "SafeUUID"), ("copyreg", "_reconstructor"),
            ("builtins", "object"), ("builtins", "set"), ("builtins", "frozenset")}
_AUDIT = ("application.audit.books", "application.audit.clients", "application.audit.recent",
          "application.audit.verify", "application.audit.checkpoint",
          "application.audit.evidence", "application.audit.pairs")
_MOVED = {("application.audit.verify", "Violation"): ("application.audit.evidence", "Violation")}
# (where a class packed by an earlier version of this format now lives)


class Unreadable(ValueError):
    """Packed bytes that do not build back into what was packed (damaged, or made by a
    version whose classes differ)."""


class Unpickler(pickle.Unpickler):
    """Builds only the classes a checkpoint holds: a few standard ones, and classes defined
    in our domain modules and in the audit's books, clients, recent, verify, checkpoint,
    evidence and pairs (nested ones by their dotted name, each step a class of that
    module); never a function, a module or anything reached through one."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        module, name = _MOVED.get((module, name), (module, name))
        if module.startswith("domain.") or module in _AUDIT:
            found: Any = importlib.import_module(module)
            for part in name.split("."):
                found = getattr(found, part, None)
                if not isinstance(found, type) or found.__module__ != module:
                    break
            else:
                return found
        raise pickle.UnpicklingError(f"{module}.{name} has no place in a checkpoint")


@contextmanager
def no_gc() -> Iterator[None]:
    """Many small objects at once: the collector has nothing to free."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def long_lived() -> Iterator[None]:
    """What was unpacked before lives to the end of the run: the collector, which would look
    at each of its objects again as new ones are made (they were unpacked with it off, so
    all as young), leaves them be (a tenth of a checkpointed verify of 10,000 events)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def pack(obj: Any) -> bytes:
    with no_gc():
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def unpack(data: bytes) -> Any:
    try:
        with no_gc():
            return Unpickler(io.BytesIO(data)).load()
    except Exception as e:
        raise Unreadable(f"{type(e).__name__}: {e}") from e
