"""Events recorded in pairs, in one save, on two aggregates: a login on its attempt
(LoginCompleted) and on its account (LoggedIn, naming the attempt, at the same instant); a
sub ID on its customer (SubIDAdded) and as its own account (SubID.RegisteredBy, naming the
customer). Neither half is lawful alone: a LoggedIn with no attempt completing is a login
with no password checked (LG-1); an attempt completed with no LoggedIn leaves its account's
logins miscounted, and with them which is its first (D-1); a sub ID registered that its
customer never added, or added and never registered, is no main ID's doing (SB-2).

Each half waits for its other; one stamped over a minute before a half stored after it (a
save's events are stored together), or still waiting at the store's end, never had it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.audit.account_book import AccountBook
from application.audit.attempt_book import CLOCKS_APART, AttemptBook
from application.audit.attempt_rules import attempt_evidence
from application.audit.evidence import Violation, line, printable

COMPLETED, LOGGED_IN, ADDED, REGISTERED = "completed", "logged in", "added", "registered"
_OTHER = {COMPLETED: LOGGED_IN, LOGGED_IN: COMPLETED, ADDED: REGISTERED, REGISTERED: ADDED}
# Which half, and what both halves name: two ids (as integers: a UUID's hash is a Python
# call) and the login's instant, or the sub ID's login ID
Key = tuple[str, int, int, Any]


class Pairs:
    """The halves still waiting for their other."""

    def __init__(self) -> None:
        self.waiting: dict[Key, Any] = {}

    def halve(self, half: Any, side: str, first: int, second: int, third: Any
              ) -> list[tuple[Key, Any]]:
        """``half`` taken in; the halves now known never to have had their other."""
        waiting = self.waiting
        if waiting.pop((_OTHER[side], first, second, third), None) is not None:
            return []  # (met its other half)
        key = (side, first, second, third)
        if key in waiting:  # the same half again: one too many, whatever comes
            return [(key, half)]
        waiting[key] = half
        if len(waiting) == 1:  # (waits alone, as in a save)
            return []
        horizon = half.timestamp - CLOCKS_APART  # (by the halves' own clock: writers' differ)
        lost = []
        while waiting[oldest := next(iter(waiting))].timestamp < horizon:  # (this one stays)
            lost.append((oldest, waiting.pop(oldest)))
        return lost

    def left(self) -> list[tuple[Key, Any]]:
        """At the store's end: the halves whose other never came (a save stores both)."""
        return list(self.waiting.items())


def lost_half(key: Key, half: Any, accounts: AccountBook, attempts: AttemptBook
              ) -> Violation:
    """The finding a half that never had its other is, worded by the books as they stand."""
    side, first, second, _ = key
    if side in (ADDED, REGISTERED):
        return _lost_sub_id(side, half, accounts)
    account = accounts.of(UUID(int=second))
    who = printable(account.login_id) if account else str(UUID(int=second))
    if side == COMPLETED:
        attempt = attempts.open.get(first) or attempts.closed.get(UUID(int=first))
        evidence = attempt_evidence(attempt) if attempt else [line(half)]
        return Violation("D-1", f"a login of {who} completed with no login of it recorded "
                         "on its account then (its logins miscounted, and with them which "
                         "is its first)", evidence,
                         f"{who} のログインが完了したのに、そのログインがアカウントに記録されて"
                         "いない (ログインの回数と、どれが初回ログインかを誤らせる)")
    return Violation("LG-1", f"a login of {who} was recorded on its account with no login "
                     "attempt of it completing then (no password checked)", [line(half)],
                     f"{who} のアカウントに、ログイン試行の完了なしにログインが記録された "
                     "(パスワードの確認なし)")


def _lost_sub_id(side: str, half: Any, accounts: AccountBook) -> Violation:
    sub = printable(half.login_id)
    if side == ADDED:
        main = printable(accounts.main_login_id(half.originator_id) or str(half.originator_id))
        return Violation("SB-2", f"sub ID {sub} was added to the permission settings of "
                         f"{main} with no sub ID registered for it", [line(half)],
                         f"{main} の権限設定に副ID {sub} が追加されたが、副IDは登録されていない")
    owner = accounts.of(half.customer_id)
    named = printable(owner.login_id) if owner else str(half.customer_id)
    return Violation("SB-2", f"sub ID {sub} was registered as {named}'s with no main ID "
                     "adding it to its permission settings", [line(half)],
                     f"副ID {sub} が、主IDが権限設定に追加することなく ({named} の副IDとして) "
                     "登録された")
