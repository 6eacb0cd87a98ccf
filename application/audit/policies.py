"""The policy in force as the events record it: verify counts the keys issued under each
D-4/D-10/LG-5 policy, and the passwords checked under each D-14 one, under its numbers,
and the commands say them in words."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs

# The counts' keys: "policy of keys: VALID SECONDS/WRONG ENTRIES/KEYS/WINDOW SECONDS" (0/0:
# D-10's unrecorded) and "policy of client addresses: FAILURES/WINDOW SECONDS". A store's
# policy may change; one changed in a tampered event is seen there, where the rules trust it.
KEY_POLICY, ADDRESS_POLICY = "policy of keys: ", "policy of client addresses: "
POLICIES = (KEY_POLICY, ADDRESS_POLICY)


def duration(seconds: int, minute: str, second: str) -> str:
    """A policy's span in whole minutes, or in seconds if it is none (a tampered event's:
    5 s, not 0.0833333 min), with the units given (" min", " s"; "分", "秒")."""
    return f"{seconds // 60:,}{minute}" if seconds % 60 == 0 else f"{seconds:,}{second}"


def key_policy(issued: Any) -> str:
    """The policy a key was issued under (its count's key)."""
    return KEY_POLICY + key_policy_numbers(issued)


def key_policy_numbers(issued: Any) -> str:
    """A KeyIssued event's policy as history's column and the counts' key give it: its
    validity, wrong entries and D-10's window in seconds, 600/5/5/3600."""
    return (f"{issued.valid_for_seconds}/{issued.max_wrong_entries}/"
            f"{issued.max_keys_per_window}/{issued.key_window_seconds}")


@attrs.frozen
class KeyPolicy:
    """Keys' policy as their events record it (window 0: D-10's unrecorded), and how many
    keys were issued under it."""

    valid_seconds: int
    wrong_entries: int
    keys: int
    window_seconds: int
    issued: int


@attrs.frozen
class AddressPolicy:
    """D-14's policy as password checks record it, and how many were made under it."""

    failures: int
    window_seconds: int
    checked: int


def policies(counts: Counter[str]) -> list[KeyPolicy | AddressPolicy]:
    """Each policy counted, keys' first, each kind by its numbers (several stores' counts,
    merged, came in the stores' order: 10 min, 15 min, 5 min)."""
    keys: list[KeyPolicy | AddressPolicy] = []
    addresses: list[KeyPolicy | AddressPolicy] = []
    for what, n in counts.items():
        if what.startswith(KEY_POLICY):
            keys.append(key_policy_of(what.removeprefix(KEY_POLICY), n))
        elif what.startswith(ADDRESS_POLICY):
            addresses.append(address_policy_of(what.removeprefix(ADDRESS_POLICY), n))
    return sorted(keys, key=attrs.astuple) + sorted(addresses, key=attrs.astuple)


def key_policy_of(numbers: str, issued: int = 1) -> KeyPolicy:
    """A key policy from its numbers (600/5/5/3600), in force for ``issued`` keys."""
    valid, wrong, most, window = map(int, numbers.split("/"))
    return KeyPolicy(valid, wrong, most, window, issued)


def address_policy_of(numbers: str, checked: int = 1) -> AddressPolicy:
    """D-14's policy from its numbers (20/600), in force for ``checked`` passwords."""
    failures, window = map(int, numbers.split("/"))
    return AddressPolicy(failures, window, checked)


def worded(counts: Counter[str], key: Callable[[KeyPolicy], str],
           address: Callable[[AddressPolicy], str]) -> list[str]:
    """Each policy counted, in words (the terminal's or the page's): ``key``'s of a key
    policy, ``address``'s of D-14's."""
    return [key(p) if isinstance(p, KeyPolicy) else address(p) for p in policies(counts)]


def address_policy(client: Any) -> str:
    """The D-14 policy a password was checked under (its count's key): its attempt's
    LoginRequestedFrom records it."""
    return ADDRESS_POLICY + address_policy_numbers(client)


def address_policy_numbers(client: Any) -> str:
    """A LoginRequestedFrom event's D-14 policy as history's column gives it: 20/600."""
    return f"{client.failure_limit}/{client.failure_window_seconds}"
