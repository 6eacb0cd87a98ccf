"""A setting's value checked before anything reads it, the library's and ours: numbers in
their range, yes or no, a class a topic names (a cipher built as the library builds it).
Each refusal is a ConfigError naming the setting: one line, not a traceback later."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import Cipher, Compressor
from eventsourcing.utils import Environment, resolve_topic, strtobool

N = TypeVar("N", int, float)


class ConfigError(ValueError):
    """A setting that cannot be used; its message names it."""


# The library's numeric and yes/no PostgreSQL settings, checked before it reads them (it
# would end in a traceback, or take a port it cannot parse for a server that is down).
_POSTGRES_NUMBERS = {"POSTGRES_PORT": (int, 1, 65535), "POSTGRES_CONNECT_TIMEOUT": (int, 1, None),
                     "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": (int, 0, None),
                     "POSTGRES_POOL_SIZE": (int, 0, None), "POSTGRES_MAX_OVERFLOW": (int, 0, None),
                     "POSTGRES_MAX_WAITING": (int, 0, None), "POSTGRES_LOCK_TIMEOUT": (int, 0, None),
                     "POSTGRES_CONN_MAX_AGE": (float, 0, None)}
_POSTGRES_YES_NO = ("POSTGRES_PRE_PING", "POSTGRES_ENABLE_DB_FUNCTIONS", "CREATE_TABLE")
# The library looks the schema's types up by its name unquoted, which PostgreSQL folds to
# lower case: a plain lower-case name, or its first save fails
_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}", re.ASCII)
# The words PostgreSQL (15) will not take as a schema's name unquoted, as the library writes
# it: those SELECT word FROM pg_get_keywords() lists, each tried as CREATE SCHEMA w,
# CREATE TABLE w.t and SELECT … FROM w.t (its first save fails with a syntax error); and
# system_user, reserved since PostgreSQL 16.
_RESERVED_WORDS = """
    all analyse analyze and any array as asc asymmetric authorization binary both case
    cast check collate collation column concurrently constraint create cross
    current_catalog current_date current_role current_schema current_time
    current_timestamp current_user default deferrable desc distinct do else end except
    false fetch for foreign freeze from full grant group having ilike in initially
    inner intersect into is isnull join lateral leading left like limit localtime
    localtimestamp natural not notnull null offset on only or order outer overlaps
    placing primary references returning right select session_user similar some
    symmetric system_user table tablesample then to trailing true union unique user using
    variadic verbose when where window with
"""
RESERVED = frozenset(_RESERVED_WORDS.split())


def checked_store(store: dict[str, str]) -> dict[str, str]:
    """``store``, once every setting the library would parse is known to parse: the
    PostgreSQL numbers and yes/no values, and the cipher and compressor (built once here, as
    the library builds them), each refused by name."""
    for name, (kind, low, high) in _POSTGRES_NUMBERS.items():
        if value := store.get(name):  # (empty: the library's default)
            number(name, value, kind, low, high)
    if int(store.get("POSTGRES_POOL_SIZE") or 5) + int(store.get("POSTGRES_MAX_OVERFLOW") or 10) < 1:
        raise ConfigError("POSTGRES_POOL_SIZE and POSTGRES_MAX_OVERFLOW cannot both be 0")
    for name in _POSTGRES_YES_NO:
        if value := store.get(name):
            yes_or_no(name, value)
    if (schema := store.get("POSTGRES_SCHEMA")) and not _PLAIN_NAME.fullmatch(schema):
        raise ConfigError("POSTGRES_SCHEMA must be a plain lower-case name (a to z, digits "
                          f"and _, at most 63, not starting with a digit), not {schema!r}")
    if schema in RESERVED:
        raise ConfigError(f"POSTGRES_SCHEMA cannot be {schema!r}: PostgreSQL reserves the "
                          "word (name the schema otherwise, e.g. billing_station)")
    cipher = store.get("CIPHER_TOPIC")
    if cipher or store.get("CIPHER_KEY"):  # (a key alone: the library's default topic)
        _cipher_usable(cipher, store)
    if compressor := store.get("COMPRESSOR_TOPIC"):
        _usable("COMPRESSOR_TOPIC", compressor)
    return store


def number(name: str, value: str, kind: Callable[[str], N], low: float,
           high: float | None = None, unit: str = "") -> N:
    """The setting ``name``'s ``value`` as a number (of ``unit``) from ``low`` (to
    ``high``), or a ConfigError naming it, its range and what it was given."""
    try:
        parsed = kind(value)
        usable = low <= parsed <= (high if high is not None else float("inf"))
    except ValueError:
        usable = False
    if not usable:
        given = "empty" if not value else value if value.isprintable() and (
            value == value.strip()) else repr(value)
        raise ConfigError(f"{name} must be a {'whole ' if kind is int else ''}number"
                          f"{f' of {unit}' if unit else ''} from {low}"
                          + (f" to {high}" if high is not None else " up") + f" (not {given})")
    return parsed


def yes_or_no(name: str, value: str) -> bool:
    try:
        return bool(strtobool(value))
    except ValueError:
        raise ConfigError(f"{name} must be yes or no") from None


_DEFAULT_CIPHER = "eventsourcing.cipher:AESCipher"  # the library's: it needs pycryptodome
_CIPHER = "eventsourcing.cryptography:AESCipher"  # on the cryptography package, installed
_EXAMPLES: dict[type, str] = {Cipher: "eventsourcing.cryptography:AESCipher",
                              Compressor: "eventsourcing.compressor:ZlibCompressor"}
_KEY = "a base64 key of 16, 24 or 32 bytes, e.g. AESCipher.create_key(32)"


def _cipher_usable(topic: str | None, store: dict[str, str]) -> None:
    """The cipher built as the library builds it, or what to set, by name: the library's
    words (a module missing, base64's padding) do not say which setting is wrong."""
    try:
        cipher = resolve_topic(topic or _DEFAULT_CIPHER)
    except Exception as e:
        raise ConfigError(f"CIPHER_TOPIC cannot be used: {e} (e.g. {_CIPHER})" if topic
                          else f"CIPHER_KEY needs CIPHER_TOPIC={_CIPHER}") from None
    _is_a("CIPHER_TOPIC", cipher, Cipher)  # (before it is called with the key)
    if not store.get("CIPHER_KEY"):
        raise ConfigError(f"CIPHER_TOPIC needs CIPHER_KEY: {_KEY}")
    try:
        cipher(Environment(env=store))
    except ValueError as e:  # (base64's padding, the key's size)
        raise ConfigError(f"CIPHER_KEY cannot be used: {e} (it must be {_KEY})") from None
    except Exception as e:  # a class that is no cipher
        raise ConfigError(f"CIPHER_TOPIC cannot be used: {e} (e.g. {_CIPHER})") from None


def _usable(name: str, topic: str) -> None:
    """A compressor at ``topic`` (the library's class, or a module with compress and
    decompress, as the library takes), or a ConfigError naming the setting."""
    try:
        found = resolve_topic(topic)
    except Exception as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(f"{name} cannot be used: {reason}") from None
    if not all(callable(getattr(found, f, None)) for f in ("compress", "decompress")):
        _is_a(name, found, Compressor)  # (a module such as zlib serves as the library's)


def _is_a(name: str, found: object, kind: type) -> None:
    """A topic names a class of the library's ``kind``, or a ConfigError: the library calls
    what it names (a cipher with the store's settings, its key among them)."""
    if not (isinstance(found, type) and issubclass(found, kind)):
        raise ConfigError(f"{name} cannot be used: it names no {kind.__name__} of the "
                          f"eventsourcing library's (e.g. {_EXAMPLES[kind]})")
