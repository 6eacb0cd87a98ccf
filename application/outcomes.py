"""What a use case returns: values naming the screen, the refusal or the contact route.
The manual's words for them are in ``application.screens``, and only there."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

import attrs

from domain.accounts import Account
from domain.fields import Field


class Refusal(enum.Enum):
    """Why a screen refuses, by the rule that makes it refuse."""

    LOGIN_FAILED = "D-9"  # unknown ID, wrong password and locked attempt read the same
    LOGIN_INCOMPLETE = "LG-1"  # a field left empty at the portal: nothing checked
    KEY_WRONG = "D-4"  # retry while the key is valid
    KEY_EXPIRED = "LG-5"  # log in again for a new key (LG-6)
    KEY_UNUSABLE = "D-2/D-3"  # superseded or used
    KEY_SUPERSEDED = "D-2"  # an earlier mail's key, on the newest key's page
    NOT_A_KEY = "D-6"  # not 12 digits: asked again, not counted towards D-4's lock
    KEY_LIMIT = "D-10"  # too many key mails within the hour
    MAIL_FAILED = "LG-3"  # the key mail could not be handed over
    CONFLICT = "CI-4/SB-8"  # an OK that lost a race with another change
    BUSY = "LG-1/LG-3"  # ours: a ログイン or key's OK that lost every race to other writes
    MAIN_ID_ONLY_INFORMATION = "CI-1"
    MAIN_ID_ONLY_PERMISSIONS = "SB-2"


class Refused(Exception):
    """A screen refused to this user (CI-1, SB-2) or an OK that lost a race."""

    def __init__(self, refusal: Refusal, rule: str):
        self.refusal, self.rule = refusal, rule
        super().__init__(f"{refusal.name} [{rule}]")


class Completed(enum.Enum):
    """An OK that applied its change (CI-4, SB-8)."""

    CUSTOMER_INFORMATION = "CI-4"
    SUB_ID = "SB-8"


class Form(enum.Enum):
    """The screens with a 確認 step."""

    CUSTOMER_INFORMATION = "CI-4"  # お客様情報変更
    SUB_ID = "SB-8"  # 副ID 新規登録 / 副ID 情報変更


@attrs.frozen
class Session:
    """Who is logged in. Services read whether it is a main ID from the store, never from
    here (D-12); ``is_main_id`` is what the portal shows."""

    login_id: str
    account_id: UUID
    customer_id: UUID
    is_main_id: bool


@attrs.frozen
class TopPage:
    """トップページ: the login is complete (LG-2, LG-3) and the header shows LG-7."""

    session: Session
    name: str
    customer_number: str
    previous_login: datetime | None
    # The portal session the login opened with it (D-12), when asked to: its bearer token,
    # for the browser's cookie only (never shown, never in a repr, a log line or evidence:
    # nothing may attrs.asdict a TopPage), and no part of what the page is.
    token: str | None = attrs.field(default=None, repr=False, eq=False)


@attrs.frozen
class KeyEntry:
    """通知キー照合 (LG-3): the attempt waits for its key; ``error`` after an entry that
    asks again (a wrong key, D-4; an earlier mail's key, D-2; one that lost every race to
    other writes of its attempt or account, BUSY, nothing recorded); after a wrong key, the wrong
    keys it takes before the lock (D-4's lock reads as a failed login, D-9: said before)."""

    attempt_id: UUID
    error: Refusal | None = None
    tries_left: int | None = None


@attrs.frozen
class ErrorPage:
    """A login that ended without the top page, and why; for D-10, when to come back."""

    refusal: Refusal
    retry_at: datetime | None = None


LoginScreen = TopPage | KeyEntry | ErrorPage


@attrs.frozen
class Throttled:
    """D-14: too many failed logins from this client address; nothing was checked."""

    address: str


@attrs.frozen
class Confirmation:
    """A 確認 screen: checked values, and the version of what the screen showed they were
    checked against (the account's ``edited_version``: a login since changes nothing of
    it), so that OK applies exactly them or refuses with CONFLICT (never a silent
    overwrite)."""

    form: Form
    values: dict[str, str]
    labels: dict[str, str]
    target_id: UUID
    version: int

    def still_shows(self, account: Account) -> bool:
        """Whether ``account`` is still what this screen was checked against."""
        return account.id == self.target_id and account.edited_version == self.version


@attrs.frozen
class InformationScreen:
    """An information screen as it opens (お客様情報変更, a sub ID's 情報変更): what it shows
    and does not edit, by label (CI-2: BSお客様番号…); the fields it edits, by key, in the
    screen's order, and each one's value as shown (a secret masked)."""

    shown: Mapping[str, str]
    fields: Mapping[str, Field]
    values: Mapping[str, str]

    def by_label(self) -> dict[str, str]:
        """Every value by the label a person reads it under (the specs' vocabulary)."""
        return dict(self.shown) | {field.label: self.values.get(key, "")
                                   for key, field in self.fields.items()}


@attrs.frozen
class SubIDRow:
    """A registered sub ID as 権限設定's list shows it (SB-4)."""

    login_id: str
    person_in_charge: str
    email: str
    notify_key: str


class ContactRoute(enum.Enum):
    """LG-8: whom to ask when the key mail does not arrive."""

    OPERATOR = "main"  # a main ID asks the operator in charge
    MAIN_ID_PERSON = "sub"  # a sub ID asks its main ID's person in charge


@attrs.frozen
class Contact:
    route: ContactRoute


class Outcome(enum.Enum):
    """How a login attempt ended, as history, verify and the simulation report count it."""

    COMPLETED = "completed"
    PASSWORD_REJECTED = "password_rejected"
    EXPIRED = "expired"
    LOCKED = "locked"
    SUPERSEDED = "superseded"
    KEY_WITHHELD = "key_withheld"
    MAIL_FAILED = "mail_failed"
    ABANDONED = "abandoned"  # nothing ended it: the person went away
    PENDING = "pending"  # the store ends while its key is still valid: it may yet be entered
