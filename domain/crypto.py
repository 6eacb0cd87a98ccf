"""Where secrets come from and how they are kept: entropy for keys, salts and ids (D-6), and
salted scrypt digests compared in constant time (D-7)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from uuid import UUID

import attrs


class Entropy(Protocol):
    """Where keys, salts and attempt ids come from. Production: the ``secrets`` module (the
    OS's CSPRNG). A simulation passes a seeded source, so the same seed records the same
    events."""

    def token_bytes(self, nbytes: int) -> bytes: ...

    def randbelow(self, exclusive_upper_bound: int) -> int: ...


def new_id(entropy: Entropy) -> UUID:
    return UUID(bytes=entropy.token_bytes(16), version=4)


def new_token(entropy: Entropy) -> str:
    """A bearer token: 256 random bits, URL-safe (a portal session's id)."""
    return base64.urlsafe_b64encode(entropy.token_bytes(32)).decode().rstrip("=")


T = TypeVar("T")


class NotAdmitted(Exception):
    """A digest not worked out: when its turn came, its caller's gate said no (D-14: the
    address reached its limit while the login waited). Nothing was checked."""


class Gate(Protocol):
    """What a caller of ``matches`` asks of the digest's turn (a served portal queues the
    digests for its cores): whether to work it out at all, and to hear, still within the
    turn, that it did not match, so that the next turn knows (D-14 counts it there)."""

    def admits(self) -> bool: ...

    def mismatched(self) -> None: ...


@attrs.frozen
class Hasher:
    """D-7: salted scrypt digests of keys and passwords, compared in constant time.

    ``cost`` is log2 of scrypt's N. Deliberately slow by default (BS_HASH_COST sets it); a
    simulation may lower it only through its scenario's hash_cost, which its report states.
    """

    cost: int = 14
    entropy: Any = attrs.field(default=secrets, eq=False, repr=False)  # an Entropy

    def digest(self, secret: str) -> str:
        salt = self.entropy.token_bytes(16)
        derived = self._in_turn(lambda: self._derive(secret, salt, self.cost))
        return f"scrypt${self.cost}${salt.hex()}${derived.hex()}"

    def matches(self, secret: str, digest: str, gate: Gate | None = None) -> bool:
        """Does ``secret`` give ``digest``? With a ``gate``, asked when the digest's turn
        comes, just before the work (no: NotAdmitted), and told of a mismatch within it."""
        try:
            _, cost, salt, expected = digest.split("$")
            salted, n = bytes.fromhex(salt), int(cost)
        except ValueError:  # not a digest this system makes
            salted, n, expected = b"", 0, ""

        def compared() -> bool:
            if gate is not None and not gate.admits():
                raise NotAdmitted
            try:
                found = self._derive(secret, salted, n)
            except (ValueError, OverflowError, MemoryError):  # a cost scrypt refuses
                found = None  # (not a digest of ours: nothing matches it)
            matched = found is not None and hmac.compare_digest(found.hex(), expected)
            if gate is not None and not matched:
                gate.mismatched()
            return matched

        return self._in_turn(compared)

    def _in_turn(self, work: Callable[[], T]) -> T:
        """Runs a digest's work: here at once; a served portal queues it for a core."""
        return work()

    @staticmethod
    def _derive(secret: str, salt: bytes, cost: int) -> bytes:
        return hashlib.scrypt(
            secret.encode(), salt=salt, n=2**cost, r=8, p=1, maxmem=2**cost * 1024 + 2**20,
            dklen=32,
        )

    @staticmethod
    def is_digest(value: str) -> bool:
        """Is ``value`` a digest as ``digest`` makes them (and so no secret in clear)?"""
        return re.fullmatch(r"scrypt\$(?:[1-9]|1\d|20)\$[0-9a-f]{32}\$[0-9a-f]{64}",
                            value) is not None

    def decoy(self) -> str:
        """A digest no input matches, so an unknown login ID costs the same work (D-9)."""
        return self.digest(secrets.token_hex(16))

    @staticmethod
    def short(digest: str) -> str:
        """A short, non-reversible tag of a digest, for screens an auditor reads."""
        return hashlib.sha256(digest.encode()).hexdigest()[:8]


def fingerprint(text: str) -> str:
    """A fixed-size, non-reversible stand-in for untrusted text, with its length: how a
    malformed login ID is recorded (never verbatim: it may be huge or hold anything)."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"?{digest}/{len(text)}"
