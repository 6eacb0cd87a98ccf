"""Login IDs and their owners: Account (what logging in needs), Customer (the contract and
its main ID) and SubID. Every change is an event named as the manual would say it."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.aggregate import Aggregate
from domain.forms import NOTIFY_KEY_OFF, NOTIFY_KEY_ON

_NAMESPACE = uuid5(NAMESPACE_URL, "https://billingstation.example/notify-key")


def customer_id(customer_number: str) -> UUID:
    """Customers are found by BS customer number without scanning (and numbers stay unique)."""
    return uuid5(_NAMESPACE, f"customer/{customer_number}")


# Pure, and asked for at every login; bounded, as a portal is asked for IDs of anyone's choosing.
@lru_cache(maxsize=2**16)
def login_index_id(login_id: str) -> UUID:
    """Login IDs are unique across main and sub IDs: one index aggregate per login ID."""
    return uuid5(_NAMESPACE, f"login-id/{login_id}")


class Account(Aggregate):
    """A login ID with its password, registered address and notify-key setting."""

    KEY_MAIL_MEMORY = timedelta(days=1)  # key mail times kept for D-10: past any window
    # The version of the last change of what the account's screens show (not a login, not
    # a key mail): a 確認 made before it is out of date (CI-4, SB-8). A class default, so a
    # snapshot from before it was kept reads the same at 確認 and at OK.
    edited_version = 1
    # The attempts of the latest key mails, oldest first (D-10 allows 5 an hour): a key of
    # one a newer mail superseded (D-2) is told from a guess. A class default, likewise.
    RECENT_KEYS = 5
    recent_key_attempts: tuple[UUID, ...] = ()

    class Registered(Aggregate.Created):
        login_id: str
        password_digest: str
        information: dict[str, str]

    def __init__(self, login_id: str, password_digest: str, information: dict[str, str]):
        self.login_id = login_id
        self.password_digest = password_digest
        self.information = dict(information)
        self.notify_key = information.get("notify_key") == NOTIFY_KEY_ON
        self.logins = 0
        self.last_login_at: datetime | None = None
        self.previous_login_at: datetime | None = None
        self.key_mail_times: list[datetime] = []
        self.pending_attempt_id: UUID | None = None

    @property
    def email(self) -> str:
        """Where keys go (LG-3): the contact email of a main ID, the registered one of a sub ID."""
        return self.information["email"]

    @property
    def first_login(self) -> bool:
        """D-1: no successful login of this login ID ever."""
        return self.logins == 0

    def attempts_mailed_before(self, attempt_id: UUID) -> tuple[UUID, ...]:
        """The attempts of the recent key mails before ``attempt_id``'s, newest first."""
        recent = self.recent_key_attempts
        return recent[:recent.index(attempt_id)][::-1] if attempt_id in recent else ()

    class ScreenEdit(Aggregate.Event):
        """A change of what the account's own screens show (お客様情報変更, 副ID 情報変更),
        by the login ID ``by`` each event names (CI-1 and SB-2 are audited on it): a 確認 of
        those screens made before it is out of date (CI-4, SB-8)."""

        def apply(self, account: Account) -> None:
            self.edit(account)
            account.edited_version = self.originator_version

        def edit(self, account: Account) -> None:
            raise NotImplementedError

    class InformationChanged(ScreenEdit):
        changes: dict[str, str]
        by: str

        def edit(self, account: Account) -> None:
            account.information.update(self.changes)

    class NotifyKeyEnabled(ScreenEdit):
        by: str

        def edit(self, account: Account) -> None:
            account.notify_key = True
            account.information["notify_key"] = NOTIFY_KEY_ON

    class NotifyKeyDisabled(ScreenEdit):
        by: str

        def edit(self, account: Account) -> None:
            account.notify_key = False
            account.information["notify_key"] = NOTIFY_KEY_OFF

    def change_information(self, changes: dict[str, str], by: str) -> None:
        """Records what differs, and who changed it; the notify-key setting as an event of
        its own."""
        setting = changes.pop("notify_key", None)
        changed = {k: v for k, v in changes.items() if self.information.get(k) != v}
        if changed:
            self.trigger_event(self.InformationChanged, changes=changed, by=by)
        if setting is not None and (setting == NOTIFY_KEY_ON) != self.notify_key:
            event = self.NotifyKeyEnabled if setting == NOTIFY_KEY_ON else self.NotifyKeyDisabled
            self.trigger_event(event, by=by)

    class KeyMailed(Aggregate.Event):
        attempt_id: UUID

        def apply(self, account: Account) -> None:
            since = self.timestamp - Account.KEY_MAIL_MEMORY
            account.key_mail_times = [
                *(t for t in account.key_mail_times if t > since), self.timestamp]
            account.pending_attempt_id = self.attempt_id
            account.recent_key_attempts = (
                *account.recent_key_attempts, self.attempt_id)[-Account.RECENT_KEYS:]

    def key_mailed(self, attempt_id: UUID, now: datetime) -> None:
        self.trigger_event(self.KeyMailed, attempt_id=attempt_id, timestamp=now)

    class LoggedIn(Aggregate.Event):
        attempt_id: UUID

        def apply(self, account: Account) -> None:
            account.logins += 1
            account.previous_login_at = account.last_login_at
            account.last_login_at = self.timestamp
            if account.pending_attempt_id == self.attempt_id:  # a keyless login leaves a
                account.pending_attempt_id = None  # live key pending, for D-2 to end it

    def logged_in(self, attempt_id: UUID, now: datetime) -> None:
        self.trigger_event(self.LoggedIn, attempt_id=attempt_id, timestamp=now)

    class PasswordDigestRenewed(Aggregate.Event):
        """The password (the same) digested again at the hasher's cost: one made at another
        cost (BS_HASH_COST changed since) is renewed when the password is next given right."""
        password_digest: str

        def apply(self, account: Account) -> None:
            account.password_digest = self.password_digest

    def renew_password_digest(self, digest: str, now: datetime) -> None:
        self.trigger_event(self.PasswordDigestRenewed, password_digest=digest, timestamp=now)


class Customer(Account):
    """The contract: BS customer number, plan, company, the main ID and 組織設定."""

    class Onboarded(Account.Registered):
        customer_number: str
        company: str
        company_kana: str
        plan: str

    def __init__(
        self,
        login_id: str,
        password_digest: str,
        information: dict[str, str],
        customer_number: str,
        company: str,
        company_kana: str,
        plan: str,
    ):
        super().__init__(login_id, password_digest, information)
        self.customer_number = customer_number
        self.company = company
        self.company_kana = company_kana
        self.plan = plan
        self.organizations: list[str] = []
        self.sub_ids: dict[str, UUID] = {}  # login ID -> SubID id, in registration order

    @classmethod
    def onboard(cls, customer_number: str, **kwargs: Any) -> Customer:
        return cls._create(
            cls.Onboarded, id=customer_id(customer_number), customer_number=customer_number,
            **kwargs,
        )

    class OrganizationRegistered(Aggregate.Event):
        name: str
        by: str

        def apply(self, customer: Customer) -> None:
            customer.organizations.append(self.name)

    def register_organization(self, name: str, by: str) -> None:
        if name not in self.organizations:
            self.trigger_event(self.OrganizationRegistered, name=name, by=by)

    class SubIDAdded(Aggregate.Event):
        sub_id: UUID
        login_id: str
        by: str

        def apply(self, customer: Customer) -> None:
            customer.sub_ids[self.login_id] = self.sub_id

    def add_sub_id(self, sub_id: SubID, by: str) -> None:
        self.trigger_event(self.SubIDAdded, sub_id=sub_id.id, login_id=sub_id.login_id, by=by)


class SubID(Account):
    """A sub ID (副ID): the main ID registers it in 権限設定 and manages its settings."""

    class RegisteredBy(Account.Registered):
        customer_id: UUID

    def __init__(
        self, login_id: str, password_digest: str, information: dict[str, str], customer_id: UUID
    ):
        super().__init__(login_id, password_digest, information)
        self.customer_id = customer_id

    @classmethod
    def register(cls, customer: Customer, **kwargs: Any) -> SubID:
        return cls._create(cls.RegisteredBy, customer_id=customer.id, **kwargs)


class LoginIndex(Aggregate):
    """Maps a login ID to its account; its name-derived id makes the login ID unique."""

    class Claimed(Aggregate.Created):
        login_id: str
        account_id: UUID
        is_main_id: bool

    def __init__(self, login_id: str, account_id: UUID, is_main_id: bool):
        self.login_id = login_id
        self.account_id = account_id
        self.is_main_id = is_main_id

    @classmethod
    def claim(cls, account: Account) -> LoginIndex:
        return cls._create(
            cls.Claimed, id=login_index_id(account.login_id), login_id=account.login_id,
            account_id=account.id, is_main_id=isinstance(account, Customer),
        )

