"""The portal's sessions (D-12) and the per-address login throttle (D-14), kept in the
event store so that every worker process sees the same: processes share nothing else."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from uuid import UUID

import attrs
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.login import Login, Opening
from application.outcomes import (
    ErrorPage,
    LoginScreen,
    Refusal,
    Refused,
    Session,
    Throttled,
    TopPage,
)
from application.station import A, committed
from domain import clock
from domain.accounts import Account
from domain.crypto import NotAdmitted
from domain.portal_sessions import (
    UNRECORDED,
    AddressCheck,
    ClientAddress,
    PortalSession,
    client_address_id,
    portal_session_id,
)

log = logging.getLogger(__name__)
COUNT_RACES = 20  # other workers' counts of one address's failures a count may lose to

@attrs.frozen
class Member:
    """A request of a live session (D-12): its top page header (LG-7, with the session),
    the customer's plan (SC-2), and the instant it was judged live, which the portal signs
    into the browser's cookie as the session's last request."""

    top: TopPage
    plan: str
    seen_at: datetime

    @property
    def session(self) -> Session:
        return self.top.session


class PortalSessions(Login):
    def log_in_from(self, address: str, login_id: str, password: str,
                    opening: Opening | None = None) -> LoginScreen | Throttled:
        """「ログイン」 from a client address: refused unchecked past D-14's limit, and a
        failed password counted against the address. With a field left empty there is
        nothing to check: asked for both, nothing recorded, nothing counted (an office
        behind one address shares D-14's 20). A burst of logins all pass the first
        check before any is counted, then queue for the cores: the limit is asked again when
        a password's digest gets its turn, and a wrong one counted within it, so a burst
        has no more passwords checked than the limit and the digests running beside it."""
        if self._throttled(address):
            return Throttled(address)
        if not login_id.strip() or not password:
            return ErrorPage(Refusal.LOGIN_INCOMPLETE)
        try:
            return self.log_in(login_id, password, opening, _AddressGate(self, address))
        except NotAdmitted:
            return Throttled(address)

    def member(self, token: str, vouched: datetime | None = None) -> Member | None:
        """What a page of a live session needs, its account read once: the session (main
        ID or sub ID, from the store: D-12), the LG-7 header and the customer's plan; or
        None. ``vouched``: the session's last request, as the portal's signed cookie says
        (D-12's idle time runs from the later of it and what the store knows). A request
        records nothing: the portal carries its instant back in the cookie (``seen_at``)."""
        portal = self._read(portal_session_id(token), PortalSession)
        now = clock.now()
        if portal is None or portal.ended:
            return None
        if portal.idle(now, vouched):
            if PortalSession.usable(vouched, now) is not None:  # idle by its own last request
                self.end_session(token, "idle")
            return None  # without one, refused: a live session's browser may still come
        account = self._read(portal.account_id, Account)
        assert account is not None  # a session's account is never deleted
        customer = self._customer_of(account)  # read once: the header and the plan
        top = self._top_page(account, customer)
        if portal.previous_login != UNRECORDED:  # the session's own: a later login of the
            top = attrs.evolve(top, previous_login=portal.previous_login)  # ID changes nothing
        return Member(top, customer.plan, now)

    def end_session(self, token: str, reason: str = "logout") -> None:
        """ログアウト (SC-4), or 30 idle minutes (D-12)."""
        portal = self.find(portal_session_id(token), PortalSession)
        if portal is not None and not portal.ended:
            portal.end(reason, clock.now())
            self._save_quietly(portal)

    def _read(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """An aggregate to read, not to change: the worker's cached copy itself (brought up
        to date with the store, as every read is), not a deep copy of it for a command.
        Another thread may bring it up to date while the caller holds it, so a caller
        reads single attributes, never iterates one that an event changes in place."""
        try:
            found: Aggregate = self.repository.get(aggregate_id, deepcopy_from_cache=False)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    def _throttled(self, address: str) -> bool:
        return self._check(address) is None

    def _check(self, address: str) -> AddressCheck | None:
        """D-14's check of ``address`` now: None past its limit, else what it read."""
        now = clock.now()
        client = self._read(client_address_id(address), ClientAddress)
        if client is None:
            return AddressCheck.first(address, now, self.policy)
        return client.check(now, self.policy)

    def _client(self, address: str) -> ClientAddress | None:
        return self.find(client_address_id(address), ClientAddress)

    def _count_failure(self, address: str) -> None:
        """A failed login counted against its address. Other workers count theirs at the
        same moment (a burst from one address): each lost race is counted again on what
        they committed, up to COUNT_RACES times whatever the limit; past that the count is
        lost, and said so in the log (the login's page is the failed login's all the same)."""
        def count() -> None:
            now = clock.now()
            client = self._client(address) or ClientAddress.first_seen(address, now)
            client.login_failed(now, self.policy)
            self.save(client)
        try:
            committed(count, "D-14", tries=COUNT_RACES)
        except Refused:
            log.warning("a failed login from %s was not counted (D-14): %d other writes "
                        "to its count came first", address, COUNT_RACES)

    def _save_quietly(self, portal: PortalSession) -> None:
        """Two requests of one session at once: one records it, which is all it needs."""
        with contextlib.suppress(IntegrityError):
            self.save(portal)


@attrs.define
class _AddressGate:
    """D-14 in a password's digest turn (Hasher.matches): the address's limit asked again,
    and a wrong password counted before the turn ends."""

    sessions: PortalSessions
    client_address: str
    checked: AddressCheck | None = None  # what it read when it last admitted a digest

    def admits(self) -> bool:
        self.checked = self.sessions._check(self.client_address)
        return self.checked is not None

    def mismatched(self) -> None:
        self.sessions._count_failure(self.client_address)
