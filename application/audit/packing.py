"""The audit's own pickles (a verify checkpoint and what it packs inside): built back only
from this system's domain events and audit books and a few standard types."""

from __future__ import annotations

import importlib
import io
import pickle
from typing import Any

from application.audit.collector import no_gc

_ALLOWED = {("collections", "OrderedDict"), ("collections", "Counter"),
            ("datetime", "datetime"), ("datetime", "timezone"), ("datetime", "timedelta"),
            ("uuid", "UUID"), ("uuid", "SafeUUID"), ("copyreg", "_reconstructor"),
            ("builtins", "object"), ("builtins", "set"), ("builtins", "frozenset")}
_AUDIT = ("application.audit.account_book", "application.audit.attempt_book",
          "application.audit.clients", "application.audit.recent", "application.audit.verify",
          "application.audit.checkpoint", "application.audit.evidence", "application.audit.pairs")
# Where a class packed by an earlier version of this format now lives: the findings moved
# from verify to evidence, the books split in two (roles.py's tables are never packed)
_MOVED = {
    ("application.audit.verify", "Violation"): ("application.audit.evidence", "Violation"),
    **{("application.audit.books", name): ("application.audit.account_book", name)
       for name in ("AccountState", "AccountBook")},
    **{("application.audit.books", name): ("application.audit.attempt_book", name)
       for name in ("Attempt", "AttemptBook", "OutOfOrder")},
}


class Unreadable(ValueError):
    """Packed bytes that do not build back into what was packed (damaged, or made by a
    version whose classes differ)."""


class Unpickler(pickle.Unpickler):
    """Builds only the classes a checkpoint holds: a few standard ones, and classes defined
    in our domain modules and in the audit's books (of accounts and of attempts), clients,
    recent, verify, checkpoint, evidence and pairs (nested ones by their dotted name, each
    step a class of that module); never a function, a module or anything reached through
    one."""

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


def pack(obj: Any) -> bytes:
    with no_gc():
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def unpack(data: bytes) -> Any:
    try:
        with no_gc():
            return Unpickler(io.BytesIO(data)).load()
    except Exception as e:
        raise Unreadable(f"{type(e).__name__}: {e}") from e
