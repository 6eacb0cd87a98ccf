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
_OURS = ("domain.", "application.audit.")


class Unpickler(pickle.Unpickler):
    """Builds only the classes a checkpoint holds: a few standard ones, and classes defined
    in our domain and audit modules (nested ones by their dotted name, each step a class of
    that module); never a function, a module or anything reached through one."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module.startswith(_OURS):
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


def pack(obj: Any) -> bytes:
    with no_gc():
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def unpack(data: bytes) -> Any:
    with no_gc():
        return Unpickler(io.BytesIO(data)).load()
