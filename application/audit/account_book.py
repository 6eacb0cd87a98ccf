"""The accounts as the store's events have them so far: who each is, whose main ID may
change it, its notify-key setting and the address its keys go to (a fold the audit commands
share)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from application.audit.reading import OutOfSequence
from application.audit.roles import Roles
from domain.accounts import Account, Customer
from domain.forms import NOTIFY_KEY_ON

# The logins a portal session may begin with: it is saved with its login, whose events
# come just before its own; a few more allow for saves stored side by side (D-12).
RECENT_LOGINS = 64


# (Not slotted, as attempt_book.Attempt: a verify checkpoint pickles thousands of them, and an instance
# dict is pickled and restored in C; attrs' slotted state is a Python call each way.)
@attrs.define(slots=False)
class AccountState:
    login_id: str
    customer_id: UUID
    is_main_id: bool
    notify_key: bool
    address: str  # where keys go now (LG-3): its information's email
    address_set: tuple[datetime, str]  # when, and by which event, it became that
    logins: int = 0
    keys_issued: list[tuple[datetime, UUID]] = attrs.Factory(list)  # recent keys (D-10)
    latest_key: tuple[datetime, UUID] | None = None  # the last key issued, and its attempt
    version: int = 1  # of its latest event the books read: each later one stored after it


_ACCOUNT = Roles((Customer.Onboarded, "main"), (Account.Registered, "sub"),
                 (Account.NotifyKeyEnabled, "on"), (Account.NotifyKeyDisabled, "off"),
                 (Account.LoggedIn, "login"), (Account.InformationChanged, "changed"))


class AccountBook:
    """Who each account is, whose main ID may change it, its notify-key setting and the
    address its keys go to now."""

    def __init__(self) -> None:
        # By account id as an integer (as the books' other tables: a UUID's hash is a Python
        # call, an int's is not, and verify looks up several an event)
        self.accounts: dict[int, AccountState] = {}
        # The latest logins no portal session began with (D-12), by account and instant,
        # the oldest first: all a session can begin with, however many logins there were.
        self.unopened: dict[tuple[int, datetime], int] = {}
        # Each login ID's account: the first registered under it (the login index keeps a
        # login ID to one account; a second registered under it is no account of it)
        self.holders: dict[str, int] = {}

    def fold(self, event: Any) -> None:
        role = _ACCOUNT[type(event)]
        if role in ("main", "sub"):
            owner: UUID = getattr(event, "customer_id", event.originator_id)  # a sub ID's
            self.accounts[event.originator_id.int] = AccountState(
                event.login_id, owner, role == "main",
                event.information.get("notify_key") == NOTIFY_KEY_ON,
                event.information.get("email", ""), (event.timestamp, type(event).__qualname__)
            )
            self.holders.setdefault(event.login_id, event.originator_id.int)
            return
        if role == "login":
            self._unopened((event.originator_id.int, event.timestamp))
        account = self.accounts.get(event.originator_id.int) if role else None
        if account is None:  # (an account's event without its registration: a store cut
            return  # short at its start; the checks judge the event itself)
        if event.originator_version <= account.version:  # (moved: a setting seen too late)
            raise OutOfSequence(
                f"aggregate {event.originator_id}: its event {event.originator_version} is "
                f"stored after its event {account.version}: an aggregate's events are stored "
                "in the order it numbered them, so they were moved, or the store is damaged",
                (event.originator_id, event.originator_version))
        account.version = event.originator_version
        if role == "login":
            account.logins += 1
        elif role in ("on", "off"):
            account.notify_key = role == "on"
        elif role == "changed" and "email" in event.changes:
            account.address = event.changes["email"]
            account.address_set = (event.timestamp, type(event).__qualname__)

    def of(self, account_id: UUID | None) -> AccountState | None:
        """The account an attempt names, as it stands; None for no such account."""
        return self.accounts.get(account_id.int) if account_id else None

    def _unopened(self, login: tuple[int, datetime]) -> None:
        kept = self.unopened
        kept[login] = kept.pop(login, 0) + 1  # (the newest last)
        if len(kept) > RECENT_LOGINS:
            del kept[next(iter(kept))]

    def opens_session(self, account_id: UUID, at: datetime) -> bool:
        """A portal session of the account beginning ``at`` (D-12) takes its login of that
        very instant, saved with it, that no session began with; False: there is none."""
        left = self.unopened.pop((account_id.int, at), 0)
        if left > 1:
            self.unopened[(account_id.int, at)] = left - 1
        return left > 0

    def holds(self, login_id: str, account_id: UUID) -> bool:
        """Whether the account is the login ID's own (the first registered under it)."""
        return self.holders.get(login_id) == account_id.int

    def main_login_id(self, account_id: UUID) -> str | None:
        """The login ID allowed to change this account: its customer's main ID."""
        account = self.accounts.get(account_id.int)
        owner = self.accounts.get(account.customer_id.int) if account else None
        return owner.login_id if owner and owner.is_main_id else None  # (a sub ID's owner,
        #   as its registration names it, is a customer: its main ID; else none may)

    def kind(self, account_id: UUID | None) -> str:
        account = self.of(account_id)
        return "unknown" if account is None else "main" if account.is_main_id else "sub"

