"""D-7 as the events show it: what they keep of a key or a password is its digest, never
the secret itself (a store written by another hand may hold one in clear)."""

from __future__ import annotations

import functools
import typing
from typing import Any

from application.audit.evidence import Violation, line, shown
from domain.forms import SECRET_FIELDS

_DIGESTS = ("password_digest", "key_digest")  # an event's fields that hold one
_HOLDERS = ("information", "changes")  # and its dicts, whose secret fields (SECRET_FIELDS) do
_LENGTHS = frozenset({106, 107})  # a digest's: scrypt$N$ (N one or two digits), 32 + 64 hex


def _digest_shaped(value: str) -> bool:
    """A digest's prefix and length: no key (12 digits) or password (at most 32 characters)
    in clear has them, and checking them costs a tenth of matching every hex digit, at every
    key verify reads. (A value so shaped but no digest is damage, not a secret shown.)"""
    return len(value) in _LENGTHS and value.startswith("scrypt$")


@functools.cache
def _kept(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Which of those fields and dicts ``cls`` declares (found once: a key's event is
    checked at every login)."""
    declared = typing.get_type_hints(cls)
    return (tuple(n for n in _DIGESTS if n in declared),
            tuple(n for n in _HOLDERS if n in declared))


def in_clear_findings(event: Any) -> list[Violation]:
    """D-7: ``event``'s fields meant to hold a digest that hold something else, as a finding
    (none, the lawful case: a list, not a generator, at every key verify reads)."""
    fields = _in_clear(event)
    return [_found(event, fields)] if fields else []


def _value(event: Any, name: str) -> Any:
    holder, field = name.split(".", 1)
    return getattr(event, holder)[field]


def _in_clear(event: Any) -> list[str]:
    """The fields of ``event`` meant to hold a digest that hold something else."""
    digests, holders = _kept(event.__class__)
    found = [name for name in digests if not _digest_shaped(getattr(event, name))]
    for holder in holders:
        values = getattr(event, holder)
        found += [f"{holder}.{name}" for name in SECRET_FIELDS & values.keys()
                  if values[name] and not _digest_shaped(values[name])]
    return found


def _found(event: Any, fields: list[str]) -> Violation:
    """A key or a password not stored as its digest. (The evidence line shows such a field
    only by its length, so the finding shows no secret, nor a tag to guess it by; one
    inside a registration's information, which the line leaves out, is added to it.)"""
    named = ", ".join(fields)
    inside = "".join(f" {name}={shown(name.split('.')[-1], _value(event, name))}"
                     for name in fields if "." in name)
    return Violation("D-7", f"{type(event).__qualname__} keeps {named} as something other "
                     "than its digest (a key or a password in clear?)", [line(event) + inside],
                     f"{type(event).__qualname__} が {named} をダイジェストでない形で記録した"
                     " (通知キーまたはパスワードがそのまま記録された可能性)")
