"""The rules judged on one login attempt's own events (and its login ID's account as it
stood): the key was issued (LG-3) to the registered address (LG-3), accepted once (D-3),
within its validity (LG-5), not after a newer key (D-2) or a lock (D-4); and asked for
exactly when the policy required it (LG-2, LG-3, LG-4, D-1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from application.audit.account_book import AccountState
from application.audit.attempt_book import Attempt
from application.audit.evidence import (
    ADDRESS_SINCE,
    NEWER_KEY,
    Violation,
    line,
    noted,
    printable,
)
from application.japan_time import jst, span
from domain.login_attempt import LoginAttempt
from domain.portal_sessions import CLOCK_TOLERANCE

_BROKEN_BY = {LoginAttempt.KeySuperseded: "D-2", LoginAttempt.AttemptLocked: "D-4",
              LoginAttempt.KeyExpired: "LG-5"}  # the rule a key accepted after it breaks
_ENDED = {"D-2": "新しい通知キーによる無効化", "D-4": "誤入力によるロック", "LG-5": "期限切れ"}


def attempt_evidence(attempt: Attempt) -> list[str]:
    return [line(e) for e in attempt.events]


def _accepted_late(attempt: Attempt, key: Any, verified: Any) -> Violation:
    """LG-5 with its sum said (``key`` issued, valid for, accepted, how late): the auditor
    need not work it out from the evidence's times."""
    issued, accepted = jst(key.timestamp, seconds=True), jst(verified.timestamp, seconds=True)
    valid, late = (key.valid_for_seconds,
                   int((verified.timestamp - attempt.deadline).total_seconds()))
    by = f"{span(late, ' min', ' s')} late" if late else "as it ended"
    by_ja = f"{span(late)}超過" if late else "期限の時刻ちょうど"
    return Violation(
        "LG-5", f"a key was accepted after its validity (issued {issued} JST, valid "
        f"{span(valid, ' min', ' s')}, accepted {accepted} JST: {by})",
        attempt_evidence(attempt), f"有効期限を過ぎた通知キーが受け付けられた (発行 {issued}、"
        f"有効{span(valid)}、受付 {accepted}: {by_ja})")


def check_key(attempt: Attempt, verified: Any) -> Iterator[Violation]:
    if attempt.issued is None:
        yield Violation("LG-3", "a key was verified that was never issued", attempt_evidence(attempt),
                        "発行されていない通知キーが照合された")
        return
    if attempt.verifications > 1:
        yield Violation("D-3", "a key was verified twice", attempt_evidence(attempt),
                        "同じ通知キーが2回照合された")
    if not verified.timestamp < attempt.deadline:
        yield _accepted_late(attempt, attempt.issued, verified)
    elif (verified.timestamp < attempt.issued.timestamp  # (D-5: valid from its issue on;
          and verified.timestamp < attempt.issued.timestamp - CLOCK_TOLERANCE):  # the
        #   portal's workers' clocks may differ by the tolerance: reckoned only then)
        yield Violation("LG-5", "a key was accepted before it was issued",
                        attempt_evidence(attempt), "発行より前の時刻に通知キーが受け付けられた")
    ended = attempt.ended_by
    if ended is not None:
        rule = _BROKEN_BY[type(ended)]
        yield Violation(rule, f"a key was accepted after {type(ended).__name__}",
                        attempt_evidence(attempt), f"{_ENDED[rule]}の後で通知キーが受け付けられた")
    limit, wrong = attempt.issued.max_wrong_entries, attempt.rejections
    if wrong >= limit and not isinstance(ended, LoginAttempt.AttemptLocked):  # (said above)
        yield Violation("D-4", f"a key was accepted after {wrong} wrong entries (the limit: "
                        f"{limit}), its attempt never locked", attempt_evidence(attempt),
                        f"{wrong}回の誤入力 (上限 {limit}回) の後で、ロックされずに通知キーが受け付けられた")


def check_newer_key(attempt: Attempt, account: AccountState | None) -> Iterator[Violation]:
    """D-2: the key accepted was the login ID's newest (a newer key, once issued, leaves
    every earlier one unusable, whether or not its attempt recorded that it was
    superseded). The store's order decides: the account is saved with each key issued and
    with each login, so the two never race."""
    newer = account.latest_key if account is not None else None
    if newer is None or newer[1] == attempt.id or attempt.issued is None or isinstance(
            attempt.ended_by, LoginAttempt.KeySuperseded) or attempt.verifications > 1:
        return  # (said by check_key: superseded as recorded, or used again, D-3)
    at, by = newer
    evidence = [*attempt_evidence(attempt),
                noted(at, "LoginAttempt.KeyIssued", by, NEWER_KEY)]
    yield Violation("D-2", f"a key was accepted after a newer key for {attempt.login_id} was "
                    "issued", evidence, "新しい通知キーの発行の後で、古い通知キーが受け付けられた")


def check_recipient(attempt: Attempt, account: AccountState | None, issued: Any
                     ) -> Iterator[Violation]:
    """LG-3: the key went to the login ID's registered address as it stood then (a main ID's
    連絡先メールアドレス, a sub ID's 登録先メールアドレス), as its events set it; a key for a
    login ID with no account went to no registered address."""
    to = printable(issued.mailed_to)
    if account is None:
        yield Violation("LG-3", f"a key was mailed to {to} for {attempt.login_id}, a login "
                        "ID with no account", attempt_evidence(attempt),
                        f"アカウントのないログインIDの通知キーが {to} に送られた")
        return
    if issued.mailed_to == account.address:
        return
    at, kind = account.address_set
    address = printable(account.address)
    # (after the attempt's events: a finding is filed under its first evidence's time)
    registered = noted(at, kind, attempt.account_id,
                       f"email={address}  {ADDRESS_SINCE}")
    yield Violation(
        "LG-3", f"a key for {attempt.login_id} was mailed to {to}, not to its registered "
        f"address {address}", [*attempt_evidence(attempt), registered],
        f"通知キーが登録されたメールアドレス {address} でなく {to} に送られた")


def check_completion(attempt: Attempt, events: list[type]) -> Iterator[Violation]:
    """A login completed only as one: once (D-3), an account's whose password was accepted
    and not rejected (LG-1), and with the key when the policy required it: with 利用する
    past the first login (LG-3). ``events``: the types of the attempt's events."""
    if events.count(LoginAttempt.LoginCompleted) > 1:
        yield Violation("D-3", "a login attempt completed a second time",
                        attempt_evidence(attempt), "ログイン試行が2回目の完了をした")
        return  # (the first completion was judged)
    if attempt.account_id is None:
        yield Violation("LG-1", f"a login completed for {printable(attempt.login_id)}, a login "
                        "ID with no account", attempt_evidence(attempt),
                        "アカウントのないログインIDのログインが完了した")
    elif (LoginAttempt.PasswordAccepted not in events
          or LoginAttempt.PasswordRejected in events):
        yield Violation("LG-1", "a login completed without its password accepted",
                        attempt_evidence(attempt), "パスワードが受け付けられないまま、ログインが完了した")
    if attempt.policy_requires_key and attempt.verified is None:
        yield Violation("LG-3", "a login completed without the key the policy required",
                        attempt_evidence(attempt), "ポリシーが求める通知キーなしでログインが完了した")


def check_demand(attempt: Attempt) -> Iterator[Violation]:
    """A key was issued only when the policy required it: never with 利用しない (LG-2) nor at
    a first login (LG-4, D-1), whether or not the login then completed. (For a login ID
    with no account there is no setting to break: its key is an LG-3 finding.)"""
    if not attempt.policy_requires_key and attempt.kind != "unknown":
        if attempt.key_on:
            yield Violation("LG-4", "a key was demanded at a first login", attempt_evidence(attempt),
                            "初回ログインで通知キーが求められた")
        else:
            yield Violation("LG-2", "a key was demanded with the notify key off",
                            attempt_evidence(attempt), "通知キー「利用しない」で通知キーが求められた")
