"""A login's scrypt work, each piece done once however often the login is decided again
after a lost race (a login ID shared by many): its password's check, its key's digest, a
renewed password digest (Derivations), and a key entry's comparisons (KeyChecks)."""

from __future__ import annotations

from typing import Protocol

import attrs

from domain.crypto import Checks, Entropy, Gate, Hasher, NotAdmitted
from domain.policy import LoginPolicy
from domain.portal_sessions import AddressCheck

MAX_SECRET = 128  # characters of a password or key worth hashing; anything longer is wrong


class AddressGate(Gate, Protocol):
    """A portal's gate (D-14): ``checked``, what it read when it last admitted a digest."""

    checked: AddressCheck | None


def _worth_hashing(password: str) -> str:
    return password if len(password) <= MAX_SECRET else ""  # (too long: no password's)


@attrs.define
class Derivations:
    """A login's scrypt work (its password's check, its key's digest, a renewed password
    digest), each done once: a login decided again after a lost race derives nothing again
    unless what it derived against changed meanwhile (the account's password digest), and
    a key that was never committed nor mailed serves the next try. ``gate``: as
    ``Login.log_in`` says; a check reused asks it again (NotAdmitted past D-14's limit), so
    the attempt is recorded after what won the race, at a check of its own."""

    password: str = attrs.field(repr=False, converter=_worth_hashing)
    hasher: Hasher = attrs.field(repr=False)
    gate: AddressGate | None = attrs.field(repr=False)
    _matched: dict[str, bool] = attrs.field(factory=dict, repr=False)
    _key: tuple[str, str] | None = attrs.field(default=None, repr=False)
    _renewed: str | None = attrs.field(default=None, repr=False)

    def matches(self, digest: str) -> bool:
        """Does the password match ``digest`` (an account's)?"""
        if digest not in self._matched:
            self._matched[digest] = self.hasher.matches(self.password, digest, self.gate)
        elif self.gate is not None and not self.gate.admits():
            raise NotAdmitted
        return self._matched[digest]

    def renewed_digest(self) -> str:
        """The password digested at the hasher's cost (PasswordDigestRenewed)."""
        if self._renewed is None:
            self._renewed = self.hasher.digest(self.password)
        return self._renewed

    def new_key(self, policy: LoginPolicy, entropy: Entropy) -> tuple[str, str]:
        """A new key (D-6) and its digest (D-7)."""
        if self._key is None:
            key = policy.new_key(entropy)
            self._key = key, self.hasher.digest(key)
        return self._key


@attrs.define
class KeyChecks:
    """A key entry's comparisons, each digest's done once: an entry decided again after a
    lost race compares nothing again (the attempt's key digest, and those of the attempts
    mailed before it, never change)."""

    hasher: Checks = attrs.field(repr=False)
    _matched: dict[tuple[str, str], bool] = attrs.field(factory=dict, repr=False)

    def matches(self, secret: str, digest: str) -> bool:
        if (secret, digest) not in self._matched:
            self._matched[secret, digest] = self.hasher.matches(secret, digest)
        return self._matched[secret, digest]
