"""How an event reads to an auditor, what a violation shows of it, and what a period is."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from application.japan_time import jst
from domain.crypto import Hasher
from domain.forms import SECRET_FIELDS


@attrs.define
class Violation:
    rule: str
    message: str  # as the command line says it
    evidence: list[str]
    shown: str  # as the auditor's page says it, in Japanese


_NOT_SHOWN = ("originator_id", "originator_version", "originator_topic", "timestamp",
              "information")


def printable(text: str) -> str:
    """Text as a terminal or a spreadsheet may show it: control characters escaped (a store
    written before login IDs were checked may hold anything)."""
    return text if text.isprintable() else "".join(
        c if c.isprintable() else repr(c)[1:-1] for c in text)


TOKEN_DIGEST = "token_digest"  # a portal session's: SHA-256 of its bearer token, in hex
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_RULED = ("email", "notify_key")  # of a registration's information: what the rules read


def line(event: Any) -> str:
    """One event as an auditor reads it: JST, type, aggregate, fields; digests shortened;
    of a registration's information, what the rules read (LG-2..LG-4, LG-3's address)."""
    fields = vars(event)
    details = {k: shown(k, v) for k, v in fields.items() if k not in _NOT_SHOWN}
    information = fields.get("information")
    if isinstance(information, dict):
        details |= {k: shown(k, information[k]) for k in _RULED if k in information}
    return noted(event.timestamp, type(event).__qualname__, event.originator_id,
                 " ".join(f"{k}={v}" for k, v in details.items()))


# What verify notes of an event it recalls (``noted``), and the same said on its Japanese page
NEWER_KEY = "(the newer key, issued before)"
ADDRESS_SINCE = "(the registered address since)"
FAILURE_READ = "(a failed login the check read)"
KEY_OF_WINDOW = "(an earlier key of the window)"
NOTES_JA = {NEWER_KEY: "(先に発行された、より新しい通知キー)",
            ADDRESS_SINCE: "(この時点からの登録メールアドレス)",
            FAILURE_READ: "(確認の時点で数えたログイン失敗)",
            KEY_OF_WINDOW: "(同じ期間に先に送った通知キー)"}


def noted(at: datetime, kind: str, aggregate_id: UUID | None, text: str) -> str:
    """An evidence line as ``line`` makes one, with ``text`` where the fields go (what
    verify recalls of an event it no longer holds)."""
    return f"{jst(at, seconds=True)} JST  {kind:<32} {str(aggregate_id)[:8]}  {text}"


def shown(name: str, value: Any) -> Any:
    """A field's value for the auditor: a digest (a key's, a password's, also a changed
    password's among a change's fields) only as its short tag, text printable. What such a
    field holds that is no digest (D-7: a key or a password in clear?) is not shown, nor
    tagged: 32 bits of an unsalted hash of a 12-digit key leave a few hundred guesses. A
    portal session's token digest (SHA-256 of 256 random bits) shows its first 8 hex digits;
    a time, in JST."""
    if isinstance(value, dict):
        return {k: shown(k, v) for k, v in value.items()}
    if isinstance(value, datetime):  # (previous_login: in JST, as every time shown)
        return f"{jst(value, seconds=True)} JST"
    if isinstance(value, str):
        if not (name.endswith("digest") or name in SECRET_FIELDS):
            return printable(value)
        if name == TOKEN_DIGEST and SHA256_HEX.fullmatch(value):
            return f"sha256:{value[:8]}"  # (of a session's 256 random bits: D-12)
        if value and not Hasher.is_digest(value):
            return f"<not a digest: {len(value):,} characters, not shown>"
        return Hasher.short(value)
    return value


def within(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    """The period [since, until): either end may be open."""
    return (since is None or moment >= since) and (until is None or moment < until)
