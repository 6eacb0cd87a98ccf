"""Logging in (LG-1..LG-8, SB-9, D-1..D-10): 「ログイン」, 通知キー照合, the top page, and
whom to ask when the key mail does not come. Load, let the domain decide, save, mail."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import attrs

from application.derivations import MAX_SECRET, AddressGate, Derivations, KeyChecks
from application.messages import key_mail
from application.outcomes import (
    Contact,
    ContactRoute,
    ErrorPage,
    KeyEntry,
    LoginScreen,
    Refusal,
    Session,
    TopPage,
)
from application.ports import MailError
from application.station import RACES, AttemptNotFound, LostEveryRace, Station, committed
from domain import clock
from domain.accounts import Account, Customer, SubID
from domain.crypto import new_id, new_token
from domain.forms import is_login_id, key_typed, login_id_typed
from domain.login_attempt import KeyOutcome, LoginAttempt, Status
from domain.portal_sessions import PortalSession, portal_session_id

log = logging.getLogger(__name__)

LOGIN_RACES = 20  # other writes of its account or attempt a login or key entry may lose to
#   (each loss: reads, no scrypt)
KEY_RETRIES = {  # a key entry after which the key page asks again
    KeyOutcome.WRONG: Refusal.KEY_WRONG,  # D-4: retry while valid
    KeyOutcome.EARLIER_KEY: Refusal.KEY_SUPERSEDED,  # D-2: the newest mail's key, please
    KeyOutcome.NOT_A_KEY: Refusal.NOT_A_KEY,  # D-6: 12 digits, please (not counted, D-4)
}
KEY_ERRORS = {  # what a key entry that did not log in shows otherwise
    KeyOutcome.EXPIRED: Refusal.KEY_EXPIRED,  # LG-5
    KeyOutcome.LOCKED: Refusal.LOGIN_FAILED,  # D-9: a locked attempt reads as a failed login
    KeyOutcome.REFUSED: Refusal.KEY_UNUSABLE,  # D-2, D-3
}


@attrs.frozen
class Opening:
    """A login at the portal: the session it opens (D-12) is recorded in the login's own
    transaction, so a login is never complete without its session nor a session without its
    login; ``replacing``, the browser's earlier session (its token), ends there too."""

    replacing: str | None = attrs.field(default=None, repr=False)


class Login(Station):
    def read_again(self, aggregate: Any) -> bool:
        """An attempt is read again only while it may take a key (its entry, D-2's end of
        it): a burst of failed logins fills no worker's cache with attempts over."""
        return not isinstance(aggregate, LoginAttempt) or aggregate.status in (
            Status.REQUESTED, Status.AWAITING_KEY)

    def log_in(self, login_id: str, password: str, opening: Opening | None = None,
               gate: AddressGate | None = None) -> LoginScreen:
        """「ログイン」: the password, then the top page or 通知キー照合 with a mailed key.
        Logins of one login ID at once: the store lets one commit; each other is decided
        again on what was committed (no mail is sent for a write that did not commit),
        without deriving again what it derived already (Derivations).
        ``gate``: the password's digest asks it when its turn comes (NotAdmitted: nothing
        checked or recorded) and tells it of a mismatch (Hasher.matches); what it checked is
        recorded with the attempt, whose password is then recorded at the check's instant."""
        login_id, derived = login_id_typed(login_id), Derivations(password, self.hasher, gate)
        try:
            return committed(lambda: self._log_in(login_id, derived, opening), "D-2",
                             tries=LOGIN_RACES)
        except LostEveryRace:  # nothing of it recorded: the page says to try again
            log.warning("a login lost %d races to other writes of its login ID: refused "
                        "as busy, nothing recorded", LOGIN_RACES)
            return ErrorPage(Refusal.BUSY)

    def _log_in(self, login_id: str, derived: Derivations, opening: Opening | None
                ) -> LoginScreen:
        now, gate = clock.now(), derived.gate
        account = self.account(login_id) if is_login_id(login_id) else None
        attempt_id = new_id(self.entropy)
        if account is None:  # recorded as a tag, never verbatim: it may be a password (its
            matched, login_id = False, self.hasher.unknown(login_id, gate)  # save: no race)
        else:
            matched = derived.matches(account.password_digest)
        check = gate.checked if gate is not None else None
        attempt = LoginAttempt.request(login_id, account.id if account else None, now,
                                       attempt_id, check)
        if check is not None:
            now = check.at  # the password's check: what follows it is recorded then
        if not matched or not account:
            attempt.reject_password(now)
            self.save(attempt)
            return ErrorPage(Refusal.LOGIN_FAILED)
        if self.hasher.outdated(account.password_digest):  # (saved with the login's account)
            account.renew_password_digest(derived.renewed_digest(), now)
        if not attempt.accept_password(account.notify_key, account.first_login, now):
            attempt.complete(now)
            return self._logged_in(attempt, account, opening, now)
        return self._mail_key(attempt, account, derived)

    def _mail_key(self, attempt: LoginAttempt, account: Account, derived: Derivations
                  ) -> LoginScreen:
        now = attempt.modified_on
        resume_at = attempt.withhold_key_past_limit(account.key_mail_times, self.policy, now)
        if resume_at is not None:  # D-10
            self.save(attempt, account)  # (the account: a password digest renewed)
            return ErrorPage(Refusal.KEY_LIMIT, resume_at)
        earlier = self._pending_attempt(account)
        key, key_digest = derived.new_key(self.policy, self.entropy)
        attempt.issue_key(key_digest, account.email, self.policy, now)
        account.key_mailed(attempt.id, now)
        if earlier is not None:
            earlier.supersede(attempt.id, now)  # D-2
        self.save(attempt, account, *([earlier] if earlier else []))  # one transaction
        assert attempt.expires_at is not None
        try:
            self.mailer.send(key_mail(account.email, account.login_id, key, attempt.expires_at,
                                      attempt.valid_for, self.login_url))
        except MailError as e:
            log.error("key mail for attempt %s failed: %s", attempt.id, e)
            self._record_mail_failure(attempt, str(e))
            return ErrorPage(Refusal.MAIL_FAILED)
        return KeyEntry(attempt.id)

    def _record_mail_failure(self, attempt: LoginAttempt, reason: str) -> None:
        """The failure recorded on the attempt as the store has it: another login of the same
        login ID may have superseded it while its mail was being handed over (D-2), and
        that is no reason to log in again (a new key, a new mail) as a lost race would be."""
        def record() -> None:
            stored = self.get(attempt.id, LoginAttempt)
            stored.mail_failed(reason)
            self.save(stored)
        try:
            committed(record, "D-2")
        except LostEveryRace:  # (the screen says the mail failed all the same: it did)
            log.warning("the failed key mail of attempt %s was not recorded: %d other writes "
                        "to the attempt came first", attempt.id, RACES)

    def enter_key(self, attempt_id: UUID, key: str, opening: Opening | None = None
                  ) -> LoginScreen:
        """「OK」 on 通知キー照合. Two entries racing on one attempt, or an entry and another
        write of its account (a change of お客様情報, a login of the same login ID): the
        store lets one commit; the other is decided again on what was committed (a newer
        key's mail supersedes it, D-2), comparing no digest again (KeyChecks)."""
        checks = KeyChecks(self.hasher)
        try:
            return committed(lambda: self._enter_key(attempt_id, key, opening, checks), "D-3",
                             tries=LOGIN_RACES)
        except LostEveryRace:  # nothing of it recorded: 通知キー照合 again, saying to retry
            log.warning("a key entry of attempt %s lost %d races to other writes of its "
                        "attempt or account: asked again, nothing recorded", attempt_id,
                        LOGIN_RACES)
            return KeyEntry(attempt_id, Refusal.BUSY)

    def _enter_key(self, attempt_id: UUID, key: str, opening: Opening | None,
                   checks: KeyChecks) -> LoginScreen:
        now = clock.now()
        attempt = self.find(attempt_id, LoginAttempt)
        if attempt is None:  # stale or forged: nothing to record
            raise AttemptNotFound(attempt_id)
        outcome = attempt.enter_key(key_typed(key[:MAX_SECRET]), checks, now,
                                    self._mailed_before(attempt), digits=self.policy.digits)
        if outcome is not KeyOutcome.VERIFIED:
            self.save(attempt)
            if outcome in KEY_RETRIES:
                return KeyEntry(attempt_id, KEY_RETRIES[outcome],
                                attempt.tries_left if outcome is KeyOutcome.WRONG else None)
            return ErrorPage(KEY_ERRORS[outcome])
        assert attempt.account_id is not None
        return self._logged_in(attempt, self.get(attempt.account_id, Account), opening, now)

    def _logged_in(self, attempt: LoginAttempt, account: Account, opening: Opening | None,
                   now: datetime) -> TopPage:
        """A completed login recorded, with the portal session it opens, in one save; its
        top page read before, so nothing after the commit can fail it."""
        account.logged_in(attempt.id, now)
        top = self._top_page(account, self._customer_of(account))
        if opening is None:
            self.save(attempt, account)
            return top
        token = new_token(self.entropy)
        opened = [PortalSession.start(token, account.id, account.login_id, top.previous_login,
                                      now)]
        earlier = (self.find(portal_session_id(opening.replacing), PortalSession)
                   if opening.replacing else None)
        if earlier is not None and not earlier.ended:
            earlier.end("replaced", now)  # the browser's session before this one
            opened.append(earlier)
        self.save(attempt, account, *opened)
        return attrs.evolve(top, token=token)

    def top_page(self, session: Session) -> TopPage:
        account = self.get(session.account_id, Account)
        return self._top_page(account, self._customer_of(account))

    def key_mail_contact(self, login_id: str) -> Contact:
        """LG-8: whom to ask when the key mail does not arrive, in the manual's words: who,
        not a name (the person asking has shown only a password)."""
        if isinstance(self.account(login_id), SubID):
            return Contact(ContactRoute.MAIN_ID_PERSON)
        return Contact(ContactRoute.OPERATOR)

    def _mailed_before(self, attempt: LoginAttempt) -> Iterator[LoginAttempt]:
        """The attempts whose keys were mailed to the login ID just before ``attempt``'s,
        newest first, each read only when asked for (after a key that did not match)."""
        if attempt.account_id is None:
            return
        account = self.get(attempt.account_id, Account)
        for attempt_id in account.attempts_mailed_before(attempt.id):
            yield self.get(attempt_id, LoginAttempt)

    def _pending_attempt(self, account: Account) -> LoginAttempt | None:
        if account.pending_attempt_id is None:
            return None
        return self.get(account.pending_attempt_id, LoginAttempt)

    def _customer_of(self, account: Account) -> Customer:
        """The customer a login ID belongs to: a main ID is its customer."""
        if isinstance(account, SubID):
            return self.get(account.customer_id, Customer)
        return cast(Customer, account)

    @staticmethod
    def _top_page(account: Account, customer: Customer) -> TopPage:
        """The header names the company for a main ID, the person in charge for a sub ID."""
        name = (account.information["person_in_charge"] if isinstance(account, SubID)
                else customer.company)
        return TopPage(session_of(account), name, customer.customer_number,
                       account.previous_login_at)


def session_of(account: Account) -> Session:
    owner = account.customer_id if isinstance(account, SubID) else account.id
    return Session(account.login_id, account.id, owner, not isinstance(account, SubID))
