"""verify: replay a whole store and check every login and every change against the policy
in force at its time, trusting nothing but the events.

Logins: a key is required iff the notify key was on (LG-3, LG-2) and it was not the first
login (LG-4, D-1); a key is mailed to the login ID's registered address then (LG-3), and only
while fewer than the limit were mailed to it within the window (D-10); a key is accepted
only if issued (LG-3), within its validity (LG-5, D-5), not superseded (D-2), once (D-3),
not after a lock (D-4). At the portal, a password is checked only while the failed logins
of its client address that the check read within the window are fewer than the limit
(D-14); a portal session begins only as a login of its account completes (D-12); a login
is recorded on its attempt and on its account at once, neither without the other (LG-1,
D-1: pairs.py), and its attempt names its login ID's own account (LG-1). Changes: only
the customer's main ID changes customer information (CI-1) or permission settings and sub
IDs (SB-2; a sub ID is registered only as its main ID adds it: pairs.py). What the events
do not record (the portal's HTTP) is not judged: see README. Here the rules that need more
than one attempt's events; attempt_rules.py the others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from datetime import timedelta
from typing import Any

from eventsourcing.utils import get_topic

from application.adapters.eventstore import EventStore
from application.audit.account_book import AccountBook, AccountState
from application.audit.attempt_book import Attempt, AttemptBook
from application.audit.attempt_rules import (
    attempt_evidence,
    check_completion,
    check_demand,
    check_key,
    check_newer_key,
    check_recipient,
)
from application.audit.clients import ClientBook
from application.audit.collector import rare_passes
from application.audit.digests import in_clear_findings
from application.audit.evidence import FAILURE_READ, KEY_OF_WINDOW, Violation, line, noted, printable
from application.audit.pairs import ADDED, COMPLETED, LOGGED_IN, REGISTERED, Pairs, lost_half
from application.audit.policies import address_policy, key_policy
from application.audit.reading import Recall, recalled_from, replay
from application.audit.roles import Roles
from application.audit.sequence import sequences_checked
from application.japan_time import span
from domain.accounts import Account, Customer, LoginIndex, SubID
from domain.login_attempt import LoginAttempt
from domain.portal_sessions import UNRECORDED, ClientAddress, PortalSession, client_address_id

_CHANGES = (Account.ScreenEdit, Customer.OrganizationRegistered, Customer.SubIDAdded)
_PERMISSION_SETTINGS = (Customer.OrganizationRegistered, Customer.SubIDAdded)
_VERIFIED = Roles((_CHANGES, "change"), (LoginAttempt.Event, "attempt"),
                  (ClientAddress.LoginFailed, "failure"), (PortalSession.Started, "session"),
                  (Account.LoggedIn, "login"), (SubID.RegisteredBy, "sub"),
                  ((Account.Registered, Account.PasswordDigestRenewed), "digested"))
_CHECKED = (LoginAttempt.PasswordAccepted, LoginAttempt.PasswordRejected)  # (at its instant)
_USES = (LoginAttempt.KeyVerified, LoginAttempt.LoginCompleted)  # of a key or an attempt
UNCHECKED_D10 = "keys issued without their D-10 limit"  # (by a version before it was recorded)
JUDGED_D14 = "passwords checked from a client address (D-14)"  # (the portal's, recorded so)
UNCOUNTED_D14 = "failed logins not counted against their client address (D-14)"
UNJUDGED_D12 = "portal sessions an earlier version saved apart from their login (D-12 unjudged)"
OUT_OF_ORDER = ("login attempt events stamped over a minute before one stored ahead of them "
                "(time-based outcomes unsure)")


def d14_unjudged(counts: Counter[str]) -> bool:
    """Login attempts were read, and none recorded a client address: D-14 not judged."""
    return bool(counts["login attempts"]) and not counts[JUDGED_D14]


class Verifier:
    """Feed it the store's events in order; it yields violations and counts what it saw."""

    def __init__(self) -> None:
        self.accounts = AccountBook()
        self.attempts = AttemptBook()
        self.clients = ClientBook()
        self.counts: Counter[str] = Counter()
        self.longest_window = timedelta(0)  # of D-10's windows in force so far
        self.pairs = Pairs()  # logins and sub IDs, each recorded on two aggregates at once

    def check(self, events: Iterable[Any], final: bool = True, recall: Recall | None = None
              ) -> Iterator[Violation]:
        """The violations among ``events`` (the store's, in order, or those after a
        checkpoint's position); ``final``: the store ends here (``finish``); ``recall``: the
        store's events of an attempt long over, read again when a late one needs them."""
        counts, attempts, fold = self.counts, self.attempts, self.accounts.fold
        for event in events:
            counts["events"] += 1
            if event is None:  # a row replay read but did not decode: nothing to check
                continue
            fold(event)
            role = _VERIFIED[type(event)]
            if role == "change":
                yield from self._check_change(event)
            elif role == "attempt":
                yield from self._check_attempt(event, recall)
                if attempts.due():  # (only an attempt's event moves the time, or an end)
                    self._count(attempts.pop_over())
            elif role == "failure":
                self.clients.fold(event)
            elif role == "session":
                yield from self._check_session(event)
            elif role == "login":
                yield from self._halve(event, LOGGED_IN, event.attempt_id.int,
                                       event.originator_id.int, event.timestamp)
            elif role == "sub":
                yield from self._halve(event, REGISTERED, event.originator_id.int,
                                       event.customer_id.int, event.login_id)
                yield from in_clear_findings(event)
            elif role == "digested":
                yield from in_clear_findings(event)
        if final:
            yield from self.unpaired()
            self.finish()

    def unpaired(self) -> Iterator[Violation]:
        """At the store's end: the halves of logins and of sub IDs' registrations whose
        other half never came (a save stores both: none is still to come)."""
        for key, half in self.pairs.left():
            yield lost_half(key, half, self.accounts, self.attempts)

    def finish(self) -> None:
        """The end of the store: every attempt still open is over (and counted)."""
        self._count(self.attempts.pop_over(final=True))
        if self.attempts.out_of_order:
            self.counts[OUT_OF_ORDER] = self.attempts.out_of_order

    def _count(self, attempts: Iterator[Attempt]) -> None:
        for attempt in attempts:
            self.counts["login attempts"] += 1
            self.counts[attempt.outcome.value] += 1

    def _check_change(self, event: Any) -> Iterator[Violation]:
        if isinstance(event, Account.InformationChanged):
            yield from in_clear_findings(event)  # (a secret among its changes)
        elif isinstance(event, Customer.SubIDAdded):
            yield from self._halve(event, ADDED, event.sub_id.int, event.originator_id.int,
                                   event.login_id)
        allowed = self.accounts.main_login_id(event.originator_id)
        if event.by == allowed:
            return
        changed = self.accounts.of(event.originator_id)
        customer_information = (changed is not None and changed.is_main_id
                                and not isinstance(event, _PERMISSION_SETTINGS))
        rule, what, shown = ("CI-1", "customer information", "お客様情報") \
            if customer_information else ("SB-2", "permission settings", "権限設定")
        yield Violation(rule, f"{what} changed by {event.by}, not by the main ID {allowed}",
                        [line(event)], f"{shown}を主ID {allowed} でなく {event.by} が変更した")

    def _check_session(self, started: Any) -> Iterator[Violation]:
        """D-12: a portal session begins only as a login of its login ID completes, in the
        login's own save (as sessions that record their 前回ログイン always were; one saved
        by an earlier version, apart from its login, is counted, not judged)."""
        if getattr(started, "previous_login", UNRECORDED) == UNRECORDED:
            self.counts[UNJUDGED_D12] += 1
            return
        account = self.accounts.of(started.account_id)
        if self.accounts.opens_session(started.account_id, started.timestamp) and (
                account is None or account.login_id == started.login_id):
            return
        who = printable(started.login_id)
        yield Violation("D-12", f"a portal session began for {who} with no login of it "
                        "completing then", [line(started)],
                        f"{who} のポータルのセッションが、ログインの完了なしに始まった")

    def _check_attempt(self, event: Any, recall: Recall | None) -> Iterator[Violation]:
        attempt = self.attempts.fold(event, self.accounts)
        if attempt is None and isinstance(event, _USES):
            attempt = self._recalled(event, recall)
            if attempt is None:
                yield _no_longer_held(event)
                return
        if attempt is None:
            return
        if isinstance(event, LoginAttempt.KeyVerified):
            yield from check_key(attempt, event)
            yield from check_newer_key(attempt, self.accounts.of(attempt.account_id))
        elif isinstance(event, LoginAttempt.LoginCompleted):
            kinds = list(map(type, attempt.events))  # (in C: verify runs this at every login)
            yield from check_completion(attempt, kinds)
            # (a second completion is D-3's, said above; one with no account LG-1's)
            if attempt.account_id is not None and kinds.count(LoginAttempt.LoginCompleted) == 1:
                yield from self._halve(event, COMPLETED, attempt.id.int,
                                       attempt.account_id.int, event.timestamp)
        elif isinstance(event, LoginAttempt.KeyIssued):
            yield from in_clear_findings(event)
            if list(map(type, attempt.events)).count(LoginAttempt.KeyIssued) > 1:
                yield Violation("LG-6", "a login attempt was issued a second key (only a new "
                                "login issues a new key)", attempt_evidence(attempt),
                                "1回のログインに2つ目の通知キーが発行された")
            self.counts[key_policy(event)] += 1
            account = self.accounts.of(attempt.account_id)
            yield from check_demand(attempt)
            yield from check_recipient(attempt, account, event)
            if account is not None:
                yield from self._check_key_limit(attempt, account, event)
                account.latest_key = (event.timestamp, attempt.id)
        elif isinstance(event, LoginAttempt.LoginRequested) and event.account_id is not None:
            yield from self._check_account_named(event)
        elif isinstance(event, _CHECKED) and attempt.client is not None:
            yield from self._check_address_limit(attempt, event)
            if isinstance(event, LoginAttempt.PasswordRejected) and not self.clients.claimed(
                    attempt.client.client_address):
                self.counts[UNCOUNTED_D14] += 1  # (D-14's count, and so its limit, fell short)

    def _recalled(self, event: Any, recall: Recall | None) -> Attempt | None:
        """A key used or a login completed on an attempt long over (verify holds only the
        latest closed ones): the attempt as its events, read from the store again, and this
        one make it, judged then as one still held. Its key's demand was judged when it was
        made, so the policy is taken as it recorded it then (PasswordAccepted's
        key_required): the account's setting has moved on since."""
        earlier = recall(event.originator_id, event.originator_version) if recall else []
        if not earlier or not isinstance(earlier[0], LoginAttempt.LoginRequested):
            return None
        first = earlier[0]
        attempt = Attempt(first.originator_id, first.login_id, first.account_id,
                          first.timestamp, self.accounts.kind(first.account_id),
                          client=first if isinstance(first, LoginAttempt.LoginRequestedFrom)
                          else None)
        for each in [*earlier, event]:
            attempt.fold(each)
        attempt.key_on = attempt.policy_requires_key = attempt.key_required
        self.attempts.closed.add(attempt)  # (held again: a later event of it finds it)
        return attempt

    def _check_account_named(self, requested: Any) -> Iterator[Violation]:
        """LG-1: a login attempt names its login ID's own account, the first registered
        under it (the portal finds it by the login ID); one naming another's, a second
        registered under the same login ID, or none registered before it, is no login of
        that account (its keys, logins and first login are counted on another)."""
        login_id, account_id = requested.login_id, requested.account_id
        if self.accounts.holds(login_id, account_id):
            return
        account, who = self.accounts.of(account_id), printable(login_id)
        if account is None:
            named, shown = (f"an account not registered before it ({account_id})",
                            "それより前に登録されていないアカウント")
        elif account.login_id != login_id:
            other = printable(account.login_id)
            named, shown = f"the account of {other}", f"{other} のアカウント"
        else:
            named, shown = (f"a second account registered as {who} ({account_id})",
                            f"{who} として2つ目に登録されたアカウント")
        yield Violation("LG-1", f"a login attempt for {who} names {named}", [line(requested)],
                        f"{who} のログイン試行が{shown}を指している")

    def _halve(self, half: Any, side: str, first: int, second: int, third: Any
               ) -> list[Violation]:
        return [lost_half(key, lost, self.accounts, self.attempts) for key, lost in
                self.pairs.halve(half, side, first, second, third)]

    def _check_address_limit(self, attempt: Attempt, checked: Any) -> Iterator[Violation]:
        """D-14: the failed logins of the client address that the password's check read
        (the request records the address, the limit in force and the version read) within
        the window before the check's instant (its event's) were fewer than the limit."""
        self.counts[JUDGED_D14] += 1
        client, now = attempt.client, checked.timestamp
        window = timedelta(seconds=client.failure_window_seconds)
        self.counts[address_policy(client)] += 1
        failed = self.clients.read(client.client_address, client.count_version, now - window)
        if len(failed) < client.failure_limit:
            return
        address, limit = printable(client.client_address), client.failure_limit
        seconds = client.failure_window_seconds
        message = (f"a password was checked for {attempt.login_id} from {address} after "
                   f"{len(failed)} failed logins from it within "
                   f"{span(seconds, ' minutes', ' seconds')} (the limit: {limit})")
        shown = (f"接続元 {address} で{span(seconds)}間に{len(failed)}回ログイン"
                 f"に失敗した後でさらにパスワードを確かめた (上限 {limit}回)")
        address_id = client_address_id(client.client_address)
        earlier = [noted(at, "ClientAddress.LoginFailed", address_id,
                         FAILURE_READ) for at in failed]
        yield Violation("D-14", message, earlier + attempt_evidence(attempt), shown)

    def _check_key_limit(self, attempt: Attempt, account: AccountState, issued: Any
                         ) -> Iterator[Violation]:
        """D-10: fewer keys than the limit in force were mailed to the login ID within the
        window before this one (the key's own event records both)."""
        window = timedelta(seconds=issued.key_window_seconds)
        if not window:  # issued before the limit was recorded with each key
            self.counts[UNCHECKED_D10] += 1
            return
        self.longest_window = max(self.longest_window, window)  # (a policy may change)
        keys, now = account.keys_issued, issued.timestamp  # (instants and attempts, in order)
        while keys and keys[0][0] <= now - self.longest_window:
            del keys[0]
        since = now - window
        within = [key for key in keys if key[0] > since]
        if len(within) >= issued.max_keys_per_window:
            seconds, limit = issued.key_window_seconds, issued.max_keys_per_window
            message = (f"a key was mailed to {attempt.login_id} after {len(within)} within "
                       f"{span(seconds, ' minutes', ' seconds')} (the limit: {limit})")
            shown = (f"{span(seconds)}間に{len(within)}通送った後でさらに通知キーを"
                     f"送った (上限 {limit}通)")
            earlier = [noted(at, "LoginAttempt.KeyIssued", attempt_id,
                             KEY_OF_WINDOW) for at, attempt_id in within]
            yield Violation("D-10", message, earlier + attempt_evidence(attempt), shown)
        keys.append((now, attempt.id))


# Events no check reads (counted, not decoded): key mails (the attempt records its key),
# login IDs' index entries, a portal session's requests and end, and an address's first
# sight (its failures are found by its id, which the attempt's address gives).
UNREAD = frozenset(get_topic(kind) for kind in (
    Customer.KeyMailed, SubID.KeyMailed, LoginIndex.Claimed, PortalSession.Seen,
    PortalSession.Ended, ClientAddress.Seen))


def events_to_verify(app: EventStore, on_page: Callable[[int], None] | None = None,
                     after: int = 0, until: int | None = None) -> Generator[Any, None, None]:
    """The store's events as verify reads them: those no check reads left undecoded; then
    each aggregate's (of those with an event after ``after``) found numbered in sequence,
    or on SQLite the rows before ``after`` counted (beside the replay; said after it, whose
    gap check names missing rows more closely)."""
    with sequences_checked(app, after) as in_sequence, rare_passes():
        yield from replay(app, on_page, after=after, until=until, skipped=UNREAD)
        in_sequence()


def _no_longer_held(event: Any) -> Violation:
    """A key used or a login completed on an attempt long over whose earlier events are
    not to be had (verify given no store to read them from again): said as such."""
    key = isinstance(event, LoginAttempt.KeyVerified)
    used, used_ja = ("a key was accepted", "通知キーを受け付けた") if key else (
        "a login completed", "ログインを完了した")
    return Violation("D-3", f"{used} on a login attempt long over (its earlier events are no "
                     "longer held)", [line(event)], f"とうに終わったログイン試行で{used_ja}")


def verify(app: EventStore, events: Iterable[Any] | None = None) -> Iterator[Violation]:
    """Every violation in the store (or in ``events``, the store's replay by default)."""
    yield from Verifier().check(events_to_verify(app) if events is None else events,
                                recall=recalled_from(app))
