"""What a stored event must be to be read as this system's: its topic one of this system's
event classes (resolving a topic imports its module: ``this:s`` printed a poem), and its
fields what the class declares. A row of well-formed JSON whose fields are not (a timestamp
"yesterday", a count "600", a state of ``{}``, an attempt's row given an account event's
topic) is refused by name, where it crashed the checks that read it."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Sized
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

from domain.forms import SECRET_FIELDS

OURS = ("domain.", "eventsourcing.domain:Snapshot")  # the topics this system stores
# Times and durations the audit can reckon with and show in JST: a KeyIssued valid for 10**30
# seconds, or stamped 9999-12-31 UTC (past JST's year 9999), ended verify in a traceback.
EARLIEST, LATEST = datetime(1000, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
LONGEST = 100 * 365 * 24 * 3600  # seconds: the most a recorded duration (``*_seconds``) is
# The policy's numbers no policy can set to 0 (LoginPolicy): a key valid for no time, or
# locked before any wrong entry, is no policy in force (verify blamed a lawful login on one).
# (D-10's two may be 0 in a KeyIssued: issued before they were recorded with each key.)
AT_LEAST_ONE = frozenset({"valid_for_seconds", "max_wrong_entries", "failure_limit",
                          "failure_window_seconds"})


def foreign_topic(topic: object) -> bool:
    """A topic that names no class of this system's (checked before it is resolved)."""
    return not (isinstance(topic, str) and topic.startswith(OURS))


class Field(NamedTuple):
    """What one field of an event may hold: a value of exactly one of ``kinds`` (True is no
    int); of a Literal's type, only its ``literals``; of a dict, values of ``items``; a
    datetime in a time zone. ``optional``: it may be absent (the class has a default: an
    event stored before the field was recorded)."""

    name: str
    kinds: frozenset[type]
    optional: bool
    literals: dict[type, frozenset[object]]
    items: type | None


@functools.cache
def shape(cls: type) -> tuple[Field, ...]:
    """``cls``'s fields, from its annotations (Any's and class variables left out)."""
    fields = []
    for name, hint in typing.get_type_hints(cls).items():
        allowed = _allowed(hint)
        if allowed is not None:
            fields.append(Field(name, frozenset(allowed[0]), hasattr(cls, name), *allowed[1:]))
    return tuple(fields)


def _real(kind: type) -> type:
    """The standard class ``kind`` is or stands for: freezegun, while it freezes time (in
    the specs), puts its own subclass of datetime in every module (where the annotations
    are read, and in this one's names), and this module's caches would keep it."""
    return next((c for c in kind.__mro__ if c.__module__ in ("builtins", "datetime", "uuid")),
                kind)


Allowed = tuple[set[type], dict[type, frozenset[object]], "type | None"]


def _allowed(hint: Any) -> Allowed | None:
    """The types a value of ``hint`` may have, a Literal's values by type, and a dict's
    values' type; None: anything (or a class variable)."""
    if isinstance(hint, typing.TypeVar):  # the aggregate's id: this system's are UUIDs
        return {UUID}, {}, None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or origin is typing.ClassVar:
        return None
    if origin is typing.Literal:
        by_type: dict[type, frozenset[object]] = {}
        for value in args:
            kind = _real(type(value))
            by_type[kind] = by_type.get(kind, frozenset()) | {value}
        return set(by_type), by_type, None
    if origin in (types.UnionType, typing.Union):
        parts = [_allowed(arg) for arg in args]
        if any(part is None for part in parts):
            return None
        kinds, literals, items = set[type](), dict[type, frozenset[object]](), None
        for part in parts:
            assert part is not None
            kinds |= part[0]
            literals |= part[1]
            items = items or part[2]
        return kinds, literals, items
    if origin is dict:
        values = args[1] if len(args) == 2 else Any
        return {dict}, {}, None if values is Any else _real(typing.get_origin(values) or values)
    kind = _real(origin or hint)
    return ({float, int} if kind is float else {kind}), {}, None  # (a float given 5 stores 5)


def misshapen(cls: type, state: dict[str, Any]) -> str | None:
    """What is wrong with ``state`` as the fields of an event of ``cls``; None: nothing."""
    return None if fits_of(cls)(state) else _misfit(cls, state)


@functools.cache
def fits_of(cls: type) -> Callable[[dict[str, Any]], bool]:
    """``cls``'s shape as one expression of exact type tests, compiled once (every event of
    a store is checked: a loop over the fields cost verify a tenth of its speed); what it
    finds amiss ``_misfit`` says."""
    tests: list[str] = []
    names: dict[str, Any] = {"datetime": _real(datetime),  # (not a name freezegun patches)
                             "_earliest": EARLIEST, "_latest": LATEST, "_longest": LONGEST}
    for i, field in enumerate(shape(cls)):
        got = f"s[{field.name!r}]"
        if field.optional:  # (absent: its default)
            names[f"_default{i}"] = getattr(cls, field.name)
            got = f"s.get({field.name!r}, _default{i})"
        single = len(field.kinds) == 1  # ("is" is the quicker test)
        names[f"_kinds{i}"] = next(iter(field.kinds)) if single else field.kinds
        test = [f"type(v := {got}) {'is' if single else 'in'} _kinds{i}"]
        if names["datetime"] in field.kinds:
            test.append("(type(v) is not datetime or (v.tzinfo is not None and "
                        "_earliest <= v < _latest))")
        if _duration(field):
            test.append(f"(type(v) is not int or {int(field.name in AT_LEAST_ONE)} <= v <= "
                        "_longest)")
        elif field.name in AT_LEAST_ONE:
            test.append("(type(v) is not int or v >= 1)")
        for j, (kind, values) in enumerate(field.literals.items()):
            names[f"_kind{i}_{j}"], names[f"_values{i}_{j}"] = kind, values
            test.append(f"(type(v) is not _kind{i}_{j} or v in _values{i}_{j})")
        if field.items is not None:
            names[f"_items{i}"] = field.items
            test.append(f"(type(v) is not dict or all(type(x) is _items{i} for x in v.values()))")
        tests.append(f"({' and '.join(test)})")
    source = (f"def fits(s):\n try:\n  return {' and '.join(tests) or 'True'}\n"
              " except KeyError:\n  return False\n")
    exec(source, names)
    fits: Callable[[dict[str, Any]], bool] = names["fits"]
    return fits


def _misfit(cls: type, state: dict[str, Any]) -> str | None:
    """What ``fits_of`` found amiss, said."""
    for field in shape(cls):
        if field.name not in state:
            if field.optional:
                continue
            return f"it has no {field.name}"
        value, kind = state[field.name], _real(type(state[field.name]))
        its = f"its {field.name} is {_shown(field.name, value)}"
        if kind not in field.kinds:  # (freezegun's datetime, in the specs, is one)
            wanted = " or ".join(sorted(kind.__name__ for kind in field.kinds))
            article = "an" if wanted[0] in "aeio" else "a"  # (an int, a str, a UUID)
            return f"{its}, not {article} {wanted}"
        if kind is datetime and value.tzinfo is None:
            return f"{its}, with no time zone"
        if kind is datetime and not EARLIEST <= value < LATEST:
            return f"{its}, not within the years {EARLIEST.year} to {LATEST.year - 1}"
        least = int(field.name in AT_LEAST_ONE)
        if kind is int and _duration(field) and not least <= value <= LONGEST:
            return f"{its}, not a duration of {least} to {LONGEST:,} seconds (a hundred years)"
        if kind is int and least and value < least:
            return f"{its}, not a limit of 1 or more"
        if kind in field.literals and value not in field.literals[kind]:
            return f"{its}, not one of {', '.join(map(repr, field.literals[kind]))}"
        if field.items is not None and isinstance(value, dict):
            for key, item in value.items():
                if type(item) is not field.items:
                    return (f"its {field.name} holds {_shown(str(key), item)}, not a "
                            f"{field.items.__name__}")
    return None


def _duration(field: Field) -> bool:
    """A field that records seconds (a key's validity, a window), as an int."""
    return field.name.endswith("_seconds") and int in field.kinds


def _shown(name: str, value: Any) -> str:
    """A misshapen value for the line that refuses it: what a field meant for a secret's
    digest holds, and what a list or a dict holds, only as its kind and size (a key or a
    password may be in it, in clear); the rest as written, cut short."""
    if isinstance(value, list | tuple | dict | set) or name.endswith("digest") or (
            name in SECRET_FIELDS):
        kind = type(value).__name__
        unit = "character" if isinstance(value, str) else "item"
        size = (f" of {len(value):,} {unit}{'' if len(value) == 1 else 's'}"
                if isinstance(value, Sized) else "")
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}{size}"
    text = value.isoformat() if isinstance(value, datetime) else repr(value)  # (as stored)
    return text if len(text) <= 40 else text[:37] + "..."
