"""What an event's class is to a fold, found once per class: the audit's replays are hot
loops, and a dict's lookup by class costs no Python call once a class is known."""

from __future__ import annotations

from typing import Any


class Roles(dict[type, str]):
    """What an event's class is to a fold, by the first ``(kind, role)`` it is a subclass
    of ("" for none): isinstance's answer, found once per class. Asked as ``roles[type(e)]``:
    a dict's own lookup, with no Python call once a class is known (replays are hot loops,
    three lookups an event)."""

    def __init__(self, *kinds: tuple[Any, str]) -> None:
        super().__init__()
        self.kinds = kinds

    def __missing__(self, cls: type) -> str:
        found = self[cls] = next((role for kind, role in self.kinds if issubclass(cls, kind)), "")
        return found

