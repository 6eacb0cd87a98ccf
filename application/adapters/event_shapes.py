"""What a stored event must be to be read as this system's: its topic one of this system's
event classes (resolving a topic imports its module: ``this:s`` printed a poem), and its
fields what the class declares. A row of well-formed JSON whose fields are not (a timestamp
"yesterday", a count "600", a state of ``{}``, an attempt's row given an account event's
topic) is refused by name, where it crashed the checks that read it."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

OURS = ("domain.", "eventsourcing.domain:Snapshot")  # the topics this system stores

Shape = tuple[tuple[str, tuple[type, ...], bool], ...]


def foreign_topic(topic: object) -> bool:
    """A topic that names no class of this system's (checked before it is resolved)."""
    return not (isinstance(topic, str) and topic.startswith(OURS))


@functools.cache
def shape(cls: type) -> Shape:
    """``cls``'s fields: each with the types its value may have, and whether it may be
    absent (the class has a default: an event stored before the field was recorded)."""
    fields = []
    for name, hint in typing.get_type_hints(cls).items():
        kinds = _kinds(hint)
        if kinds is not None:
            fields.append((name, kinds, hasattr(cls, name)))
    return tuple(fields)


def _real(kind: type) -> type:
    """The standard class ``kind`` is or stands for: freezegun, while it freezes time (in
    the specs), puts its own subclass of datetime in every module (where the annotations
    are read, and in this one's names), and this module's caches would keep it."""
    return next((c for c in kind.__mro__ if c.__module__ in ("builtins", "datetime", "uuid")),
                kind)


def _kinds(hint: Any) -> tuple[type, ...] | None:
    """The types a value of ``hint`` may have; None: anything (or a class variable)."""
    if isinstance(hint, typing.TypeVar):  # the aggregate's id: this system's are UUIDs
        return (UUID,)
    origin = typing.get_origin(hint)
    if hint is Any or origin is typing.ClassVar:
        return None
    if origin is typing.Literal:
        return tuple({_real(type(value)) for value in typing.get_args(hint)})
    if origin in (types.UnionType, typing.Union):
        parts = [_kinds(arg) for arg in typing.get_args(hint)]
        return None if None in parts else tuple(_real(k) for part in parts if part for k in part)
    kind = _real(origin or hint)
    return (float, int) if kind is float else (kind,)  # (a float field given 5 stores 5)


def misshapen(cls: type, state: dict[str, Any]) -> str | None:
    """What is wrong with ``state`` as the fields of an event of ``cls``; None: nothing."""
    return None if fits_of(cls)(state) else _misfit(cls, state)


@functools.cache
def fits_of(cls: type) -> Callable[[dict[str, Any]], bool]:
    """``cls``'s shape as one expression of exact type tests, compiled once (every event of
    a store is checked: a loop over the fields cost verify a tenth of its speed). A value
    of a subclass, or a field missing, is left to ``_misfit`` to judge and say."""
    tests: list[str] = []
    names: dict[str, Any] = {"datetime": _real(datetime)}  # (not a name freezegun patches)
    for i, (name, kinds, optional) in enumerate(shape(cls)):
        kind = f"_kind{i}"
        got = f"s[{name!r}]"
        if optional:  # (a field an event stored before it was recorded lacks: its default)
            names[f"_default{i}"] = getattr(cls, name)
            got = f"s.get({name!r}, _default{i})"
        names[kind] = kinds[0] if len(kinds) == 1 else frozenset(kinds)
        same = "is" if len(kinds) == 1 else "in"
        if names["datetime"] in kinds:  # (and in a time zone)
            tests.append(f"(type(v := {got}) {same} {kind} and (type(v) is not datetime or "
                         "v.tzinfo is not None))")
        else:
            tests.append(f"type({got}) {same} {kind}")
    source = (f"def fits(s):\n try:\n  return {' and '.join(tests) or 'True'}\n"
              " except KeyError:\n  return False\n")
    exec(source, names)
    fits: Callable[[dict[str, Any]], bool] = names["fits"]
    return fits


def _misfit(cls: type, state: dict[str, Any]) -> str | None:
    """What ``fits_of`` found amiss, said (None: a value of a subclass, which is fine)."""
    for name, kinds, optional in shape(cls):
        if name not in state:
            if optional:
                continue
            return f"it has no {name}"
        value = state[name]
        if not isinstance(value, kinds):
            wanted = " or ".join(kind.__name__ for kind in kinds)
            article = "an" if wanted[0] in "aeio" else "a"  # (an int, a str, a UUID)
            return f"its {name} is {_shown(value)}, not {article} {wanted}"
        if isinstance(value, datetime) and value.tzinfo is None:
            return f"its {name} is {_shown(value)}, with no time zone"
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
