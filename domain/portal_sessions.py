"""The portal's state that must hold across worker processes (D-12, D-14): a session of a
logged-in browser, and the failed logins of one client address. Both are found by a
name-derived id, so no scan is needed; a session is found by a digest of its bearer token,
which itself is never stored (D-7's rule, applied to session ids)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

import attrs

from domain.aggregate import Aggregate
from domain.policy import ADDRESS_WINDOWS, LoginPolicy

_NAMESPACE = uuid5(NAMESPACE_URL, "https://billingstation.example/portal")

IDLE_TIMEOUT = timedelta(minutes=30)  # D-12
QUIET_FORGOTTEN = 2 * ADDRESS_WINDOWS[1]  # no failure kept past it, whatever the policy
CLOCK_TOLERANCE = timedelta(seconds=5)  # how far the workers' clocks may differ, no more


def token_digest(token: str) -> str:
    """What the store keeps of a session id: its SHA-256 (the token is 256 random bits, so
    a salt adds nothing)."""
    return hashlib.sha256(token.encode()).hexdigest()


def portal_session_id(token: str) -> UUID:
    return uuid5(_NAMESPACE, f"session/{token_digest(token)}")


def client_address_id(address: str) -> UUID:
    return uuid5(_NAMESPACE, f"client-address/{address}")


UNRECORDED: Literal["unrecorded"] = "unrecorded"  # started before sessions kept it


class PortalSession(Aggregate):
    """One browser's login, from the top page to ログアウト or 30 idle minutes (D-12)."""

    # (A class default too: a snapshot taken before sessions kept it is restored without
    # __init__, and reads it here.)
    previous_login: datetime | Literal["unrecorded"] | None = UNRECORDED

    class Started(Aggregate.Created):
        token_digest: str
        account_id: UUID
        login_id: str
        # the login before this one (LG-7), or None; "unrecorded" in a session started
        # before sessions kept it, whose event has none
        previous_login: datetime | Literal["unrecorded"] | None = UNRECORDED

    def __init__(self, token_digest: str, account_id: UUID, login_id: str,
                 previous_login: datetime | Literal["unrecorded"] | None = UNRECORDED):
        self.token_digest = token_digest
        self.account_id = account_id
        self.login_id = login_id
        self.previous_login = previous_login  # its header's 前回ログイン, whatever logs in later
        self.last_seen: datetime | None = None
        self.ended = False

    @classmethod
    def start(cls, token: str, account_id: UUID, login_id: str,
              previous_login: datetime | None, now: datetime) -> PortalSession:
        return cls._create(cls.Started, id=portal_session_id(token),
                           token_digest=token_digest(token), account_id=account_id,
                           login_id=login_id, previous_login=previous_login, timestamp=now)

    @staticmethod
    def usable(vouched: datetime | None, now: datetime) -> datetime | None:
        """A last request the portal signed, if it can be one: a later instant than now
        (beyond the workers' clock tolerance) is no request at all."""
        return vouched if vouched is not None and vouched <= now + CLOCK_TOLERANCE else None

    def idle(self, now: datetime, vouched: datetime | None = None) -> bool:
        """D-12: 30 minutes since the session's last request. The store knows its start
        (and, in stores from before the portal's signed cookie, each request it saw);
        ``vouched`` is a later request the portal vouches for by its own signature. A
        request can only make the session younger by being later than both, and never later
        than now: an older or absent one changes nothing."""
        seen = self.last_seen or self.created_on
        if (vouched := self.usable(vouched, now)) is not None:
            seen = max(seen, min(vouched, now))
        return now - seen >= IDLE_TIMEOUT

    class Seen(Aggregate.Event):
        """A request of the session, as the store recorded each one before the portal
        carried the last one in a signed cookie (D-12); kept so that those stores read."""

        def apply(self, session: PortalSession) -> None:
            session.last_seen = self.timestamp

    class Ended(Aggregate.Event):
        reason: str  # "logout" (SC-4), "idle" (D-12), "replaced" (a new login in its browser)

        def apply(self, session: PortalSession) -> None:
            session.ended = True

    def end(self, reason: str, now: datetime) -> None:
        if not self.ended:
            self.trigger_event(self.Ended, reason=reason, timestamp=now)


@attrs.frozen
class AddressCheck:
    """D-14's check of a login's client address, made when its password's digest got its
    turn: the instant, the version of the address's failures it read (0: none yet), and
    the limit and window it applied, recorded with the attempt so that an audit counts
    again what the check counted, against what it was bound by."""

    client_address: str
    at: datetime
    count_version: int
    limit: int
    window: timedelta

    @classmethod
    def first(cls, address: str, now: datetime, policy: LoginPolicy) -> AddressCheck:
        """The check of an address with no failed login recorded yet."""
        return cls(address, now, 0, policy.address_failure_limit, policy.address_window)


class ClientAddress(Aggregate):
    """The failed logins of one client address that D-14's checks count: at each, it
    forgets the earlier ones older than twice the window that one was counted under."""

    class Seen(Aggregate.Created):
        address: str

    def __init__(self, address: str):
        self.address = address
        self.failures: list[datetime] = []

    @classmethod
    def first_seen(cls, address: str, now: datetime) -> ClientAddress:
        return cls._create(cls.Seen, id=client_address_id(address), address=address,
                           timestamp=now)

    def failures_in_window(self, now: datetime, window: timedelta) -> int:
        return sum(1 for t in self.failures if t > now - window)

    def check(self, now: datetime, policy: LoginPolicy) -> AddressCheck | None:
        """D-14 at ``now``: None past the policy's limit, else what the check read. (Its
        version is read before its failures: a worker's cached copy that another thread
        brings up to date meanwhile has only more of them, as none it had is forgotten so
        soon under one window.)"""
        version = self.version
        if self.failures_in_window(now, policy.address_window) >= policy.address_failure_limit:
            return None
        return attrs.evolve(AddressCheck.first(self.address, now, policy), count_version=version)

    class LoginFailed(Aggregate.Event):
        """A failed login counted, with D-14's window in force (stored before it was
        recorded: 10 minutes, then the only one)."""

        window_seconds: int = 600

        def apply(self, client: ClientAddress) -> None:
            since = self.kept_since()
            client.failures = [*(t for t in client.failures if t > since), self.timestamp]

        def kept_since(self) -> datetime:
            """The earlier failures the address keeps at this one: those within twice its
            window (under one window, a failure stored by a worker whose clock runs ahead,
            or read by one whose check took its instant a little before, forgets none that
            a check still counts). The audit marks the others forgotten at this version, so
            it judges a check on what the address held at the version the check read. A
            window lengthened counts those kept under the shorter one: the whole of it
            once it has passed."""
            return self.timestamp - timedelta(seconds=2 * self.window_seconds)

    def login_failed(self, now: datetime, policy: LoginPolicy) -> None:
        self.trigger_event(self.LoginFailed, timestamp=now,
                           window_seconds=int(policy.address_window.total_seconds()))

