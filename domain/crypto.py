"""Where secrets come from and how they are kept: entropy for keys, salts and ids (D-6), and
salted scrypt digests compared in constant time (D-7)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from typing import Protocol, TypeVar
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
UNKNOWN_LOGIN_ID = b"billing-station: a login ID of no account"  # (Hasher.unknown's salt)
LONG = 256  # bytes of a login ID of no account derived as typed; a longer one by its SHA-256


class NotAdmitted(Exception):
    """A digest not worked out: when its turn came, its caller's gate said no (D-14: the
    address reached its limit while the login waited). Nothing was checked."""


class Gate(Protocol):
    """What a caller of ``matches`` asks of the digest's turn (a served portal queues the
    digests for its cores): whether to work it out at all, and to hear, still within the
    turn, that it did not match, so that the next turn knows (D-14 counts it there)."""

    def admits(self) -> bool: ...

    def mismatched(self) -> None: ...


class Checks(Protocol):
    """What checks a secret against a digest: a Hasher, or one that remembers its answers."""

    def matches(self, secret: str, digest: str) -> bool: ...


_DIGEST = re.compile(r"scrypt\$(?:[1-9]|1\d|20)\$[0-9a-f]{32}\$[0-9a-f]{64}")  # (verify: each key)


@attrs.frozen
class Hasher:
    """D-7: salted scrypt digests of keys and passwords, compared in constant time.

    ``cost`` is log2 of scrypt's N. Deliberately slow by default (BS_HASH_COST sets it); a
    simulation may lower it only through its scenario's hash_cost, which its report states.
    """

    cost: int = 14
    entropy: Entropy = attrs.field(default=secrets, eq=False, repr=False)

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
            try:
                found = self._derive(secret, salted, n)
            except (ValueError, OverflowError, MemoryError):  # a cost scrypt refuses
                return False  # (not a digest of ours: nothing matches it)
            return hmac.compare_digest(found.hex(), expected)

        return self._in_turn(lambda: _through(gate, compared, lambda matched: not matched))

    def _in_turn(self, work: Callable[[], T]) -> T:
        """Runs a digest's work: here at once; a served portal queues it for a core."""
        return work()

    @staticmethod
    def _derive(secret: str, salt: bytes, cost: int) -> bytes:
        """scrypt of ``secret``'s UTF-8 (a lone surrogate, which no text typed holds, as its
        own bytes: it costs the same work as any other, D-9)."""
        return hashlib.scrypt(
            secret.encode("utf-8", "surrogatepass"), salt=salt, n=2**cost, r=8, p=1,
            maxmem=2**cost * 1024 + 2**20, dklen=32,
        )

    @staticmethod
    def is_digest(value: str) -> bool:
        """Is ``value`` a digest as ``digest`` makes them (and so no secret in clear)?"""
        return _DIGEST.fullmatch(value) is not None

    def unknown(self, login_id: str, gate: Gate | None = None) -> str:
        """What is recorded of a login ID that is no account's: it may be a password typed in
        the wrong field, so never the text, but a tag of its scrypt derivation at this cost,
        worked out in the turn a password's check would take (D-9: an unknown login ID costs
        as long as a wrong password; a ``gate`` as ``matches`` asks it, told of the failed
        login). The same text gives the same tag, so tries at one unknown ID are told from
        tries at many; guessing what a tag stands for costs a derivation a guess (one salt
        for every tag: a guess tests them all). The tag names its cost (``?14$`` and 16 hex
        digits), so an auditor can work it out again."""
        text, salt = login_id, UNKNOWN_LOGIN_ID
        typed = text.encode("utf-8", "surrogatepass")
        if len(typed) > LONG:  # its SHA-256 stands for it, under a salt of its own
            text, salt = hashlib.sha256(typed).hexdigest(), UNKNOWN_LOGIN_ID + b" (long)"

        def tagged() -> str:
            return f"?{self.cost}${self._derive(text, salt, self.cost).hex()[:16]}"

        return self._in_turn(lambda: _through(gate, tagged, lambda _: True))  # (no account:
                                                                               # a failure)

    def outdated(self, digest: str) -> bool:
        """Was ``digest`` made at another cost than this hasher's (so worth making again)?"""
        return digest.split("$")[1:2] != [str(self.cost)]

    @staticmethod
    def tag_cost(recorded: str) -> int | None:
        """The cost of a tag ``unknown`` made, or None if ``recorded`` is no such tag."""
        found = re.fullmatch(r"\?([1-9]|1\d|20)\$[0-9a-f]{16}", recorded)
        return int(found.group(1)) if found else None

    @staticmethod
    def short(digest: str) -> str:
        """A short, non-reversible tag of a digest, for screens an auditor reads."""
        return hashlib.sha256(digest.encode()).hexdigest()[:8]


def same_digest(held: str, given: str) -> bool:
    """Two digests (a stored one, one handed back by a 確認) compared in constant time (D-7)."""
    return hmac.compare_digest(held.encode(), given.encode())


def _through(gate: Gate | None, work: Callable[[], T], failed: Callable[[T], bool]) -> T:
    """``work`` in a digest's turn, through ``gate``: asked just before (no: NotAdmitted,
    nothing worked out), told within the turn if what came out is a ``failed`` login."""
    if gate is not None and not gate.admits():
        raise NotAdmitted
    done = work()
    if gate is not None and failed(done):
        gate.mismatched()
    return done
