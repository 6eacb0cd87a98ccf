"""What verify says on the terminal, in English: its counts (one of each in the
singular), the policies the events record, the note on events stamped out of order, what
went unjudged, and paths as a terminal can print them."""

from __future__ import annotations

import os
from collections import Counter

from application.audit.attempt_book import OutOfOrder
from application.audit.policies import (
    AddressPolicy,
    KeyPolicy,
    as_recorded,
    minutes_en,
    worded,
)
from application.audit.verify import (
    JUDGED_D14,
    OUT_OF_ORDER,
    UNCHECKED_D10,
    UNCOUNTED_D14,
    UNJUDGED_D12,
)
from application.japan_time import jst
from domain.policy import LoginPolicy
from simulations.wording import counted_as


def printable_path(path: str) -> str:
    """A path as a terminal can print it: a name's bytes that are no UTF-8 escaped (\\xff)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


D14_UNJUDGED = ("D-14 not judged: no login attempt here records a client address (the "
                "portal's do, and a simulation's whose people have addresses)")


# The counts that are nouns, as one of each is said (the outcomes are adjectives)
_ONE = {"events": "event", "login attempts": "login attempt",
        UNCHECKED_D10: "key issued without its D-10 limit",
        JUDGED_D14: "password checked from a client address (D-14)",
        UNCOUNTED_D14: "failed login not counted against its client address (D-14)",
        UNJUDGED_D12: "portal session an earlier version saved apart from its login "
                      "(D-12 unjudged)",
        OUT_OF_ORDER: "login attempt event stamped over a minute before one stored "
                      "ahead of it (time-based outcomes unsure)"}


def policies_in_force(counts: Counter[str]) -> str:
    """Each policy the events record, with how many keys (or passwords) it was in force for."""
    return "; ".join(worded(counts, _key_policy, _address_policy))


def _key_policy(policy: KeyPolicy) -> str:
    return f"{_key_terms(policy)} ({counted_as(policy.issued, 'key')})"


def _key_terms(policy: KeyPolicy) -> str:
    limit = (f"at most {policy.keys:,} within {minutes_en(policy.window_seconds)}"
             if policy.window_seconds else "D-10's limit unrecorded")
    return (f"keys: valid {minutes_en(policy.valid_seconds)}, locked at {policy.wrong_entries:,} "
            f"wrong entries, {limit}")


def _address_policy(policy: AddressPolicy) -> str:
    return f"{_address_terms(policy)} ({counted_as(policy.checked, 'password')} checked)"


def _address_terms(policy: AddressPolicy) -> str:
    return (f"client addresses (D-14): refused after {policy.failures:,} failed logins within "
            f"{minutes_en(policy.window_seconds)}")


def policy_expected(expected: LoginPolicy) -> str:
    """verify --expect-policy's bar, as the terminal says it: RULES.md's for keys, D-14's as
    the settings set it (said when they are not RULES.md's own)."""
    keys, addresses = as_recorded(expected)
    rules = as_recorded(LoginPolicy())[1]
    set_by = "" if addresses == rules else (
        f", as BS_ADDRESS_FAILURE_LIMIT and BS_ADDRESS_WINDOW set it (RULES.md's: "
        f"{rules.failures:,} within {minutes_en(rules.window_seconds)})")
    return f"{_key_terms(keys)}; {_address_terms(addresses)}{set_by}"



def counted(n: int, what: str) -> str:
    """One of verify's counts: ``1 event``, ``2 login attempts``, ``125 password rejected``
    (an outcome's name read as words, as simulate says it)."""
    return f"{n:,} {_ONE[what] if n == 1 and what in _ONE else what.replace('_', ' ')}"


def out_of_order(first: OutOfOrder | None, store: str | None = None) -> str:
    """What events stamped out of order mean for the verdict (the first; of several stores,
    in ``store``)."""
    ahead = ("an earlier event of its own" if first and first.ahead_of == first.attempt_id
             else f"an event of attempt {first.ahead_of}" if first else "")
    where = (f"the first, {f'in {store}, ' if store else ''}of attempt {first.attempt_id}, "
             "is stamped "
             f"{jst(first.at, seconds=True)} JST and stored after {ahead} stamped "
             f"{jst(first.ahead_at, seconds=True)} JST (one of the two is wrong): "
             if first else "")
    return (f"note: {where}the clocks of the store's writers disagreed, or an event was "
            "changed; what depends on the time between events (abandoned, pending, expired; "
            "D-10's and D-14's windows) may be misjudged")
