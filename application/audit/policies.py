"""The policy in force as the events record it: verify counts the keys issued under each
D-4/D-10/LG-5 policy, and the passwords checked under each D-14 one, under its numbers,
and the commands say them in words."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs

from application.audit.evidence import Violation
from application.japan_time import span
from domain.policy import LoginPolicy

# The counts' keys: "policy of keys: VALID SECONDS/WRONG ENTRIES/KEYS/WINDOW SECONDS" (0/0:
# D-10's unrecorded) and "policy of client addresses: FAILURES/WINDOW SECONDS". A store's
# policy may change; one changed in a tampered event is seen there, where the rules trust it.
KEY_POLICY, ADDRESS_POLICY = "policy of keys: ", "policy of client addresses: "
POLICIES = (KEY_POLICY, ADDRESS_POLICY)


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


POLICY = "POLICY"  # a finding of --expect-policy: not a rule of RULES.md, the auditor's own


def as_recorded(policy: LoginPolicy) -> tuple[KeyPolicy, AddressPolicy]:
    """A login policy as the events record its numbers (for no key, no password check)."""
    return (KeyPolicy(int(policy.validity.total_seconds()), policy.max_wrong_entries,
                      policy.max_keys_per_window, int(policy.key_window.total_seconds()), 0),
            AddressPolicy(policy.address_failure_limit,
                          int(policy.address_window.total_seconds()), 0))


def looser_than(expected: LoginPolicy, counts: Counter[str]) -> list[Violation]:
    """verify --expect-policy: each policy the events record that is looser than
    ``expected`` in any of its numbers (a key valid longer, more wrong entries before its
    lock; more keys mailed, or failed logins let through, within the expected window than
    the expected limit, at worst: 3 keys within 30 minutes let 6 through in 60). A stricter
    one is no finding; keys issued without their D-10 limit are counted apart (the summary
    says how many), not judged here."""
    keys, addresses = as_recorded(expected)
    found = []
    for policy in policies(counts):
        terms = _key_terms(policy, keys) if isinstance(policy, KeyPolicy) \
            else _address_terms(policy, addresses)
        if terms:
            found.append(_finding(policy, terms))
    return found


def most_within(limit: int, window: int, expected_window: int) -> int:
    """At most how many a limit of ``limit`` within ``window`` seconds lets through within
    ``expected_window`` seconds (a longer window holds the same limit: no more)."""
    return limit * -(-expected_window // window) if window < expected_window else limit


def _key_terms(policy: KeyPolicy, want: KeyPolicy) -> list[tuple[str, str, str]]:
    """(rule, as the terminal says it, as the page says it) of each looser number."""
    terms = []
    if policy.valid_seconds > want.valid_seconds:
        terms.append(("LG-5", f"valid {minutes_en(policy.valid_seconds)}, longer than "
                              f"{minutes_en(want.valid_seconds)}",
                      f"有効時間 {span(policy.valid_seconds)} "
                      f"({span(want.valid_seconds)} より長い)"))
    if policy.wrong_entries > want.wrong_entries:
        terms.append(("D-4", f"locked at {policy.wrong_entries:,} wrong entries, not "
                             f"{want.wrong_entries:,}",
                      f"誤入力 {policy.wrong_entries:,}回でロック ({want.wrong_entries:,}回より多い)"))
    most = most_within(policy.keys, policy.window_seconds, want.window_seconds) \
        if policy.window_seconds else 0  # (0: D-10's limit unrecorded, not judged here)
    if most > want.keys:
        terms.append(("D-10", f"at most {_keys(policy.keys)} within "
                              f"{minutes_en(policy.window_seconds)}"
                              f"{_at_worst_en(most, policy.window_seconds, want)}, "
                              f"more than {_keys(want.keys)}",
                      f"{span(policy.window_seconds)}間に{policy.keys:,}通まで"
                      f"{_at_worst_ja(most, policy.window_seconds, want, '通')} "
                      f"({want.keys:,}通より多い)"))
    return terms


def _keys(n: int) -> str:
    return f"{n:,} key{'s' if n != 1 else ''}"


def _address_terms(policy: AddressPolicy, want: AddressPolicy) -> list[tuple[str, str, str]]:
    most = most_within(policy.failures, policy.window_seconds, want.window_seconds)
    if most <= want.failures:
        return []
    return [("D-14", f"refused after {policy.failures:,} failed logins within "
                     f"{minutes_en(policy.window_seconds)}"
                     f"{_at_worst_en(most, policy.window_seconds, want)}, more than "
                     f"{want.failures:,}",
             f"{span(policy.window_seconds)}間に{policy.failures:,}回の失敗で拒否"
             f"{_at_worst_ja(most, policy.window_seconds, want, '回')} "
             f"({want.failures:,}回より多い)")]


def _at_worst_en(most: int, window: int, want: KeyPolicy | AddressPolicy) -> str:
    """What a limit lets through within the expected window at worst, where its own
    ``window`` is another (8 within 4 min reads as 20 within 10 min's rate: it lets 24)."""
    return "" if window == want.window_seconds else (
        f": up to {most:,} within {minutes_en(want.window_seconds)}")


def _at_worst_ja(most: int, window: int, want: KeyPolicy | AddressPolicy, unit: str) -> str:
    return "" if window == want.window_seconds else (
        f": {span(want.window_seconds)}間に最大{most:,}{unit}")


def _finding(policy: KeyPolicy | AddressPolicy, terms: list[tuple[str, str, str]]
             ) -> Violation:
    """One finding a looser policy, the events it covered counted, where history finds them."""
    if isinstance(policy, KeyPolicy):
        covered = f"{_keys(policy.issued)} issued"
        covered_ja = f"期待より緩いポリシーで発行された通知キー {policy.issued:,}通"
        column = ("key_policy", f"{policy.valid_seconds}/{policy.wrong_entries}/"
                                f"{policy.keys}/{policy.window_seconds}")
    else:
        covered = f"{policy.checked:,} password{'s' if policy.checked != 1 else ''} checked"
        covered_ja = f"期待より緩いポリシーで行われたパスワードの確認 {policy.checked:,}回"
        column = ("address_policy", f"{policy.failures}/{policy.window_seconds}")
    return Violation(
        POLICY, f"{covered} under a policy looser than expected: "
                + "; ".join(f"{en} ({rule})" for rule, en, _ in terms),
        [f"history's {column[0]} column {column[1]} names their attempts (no one event: "
         "the store's keys or checks under it)"],
        f"{covered_ja}: " + "、".join(
            f"{ja} ({rule})" for rule, _, ja in terms))


def minutes_en(seconds: int) -> str:
    """A policy's span as the terminal says it: 10 min, or 5 s."""
    return span(seconds, " min", " s")
