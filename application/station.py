"""The application's base: its collaborators, typed reads of aggregates, and saves that
turn a lost race into the refusal a screen shows. The use cases build on it, one module per
section of the manual (onboarding, customer_information, permission_settings, login)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.adapters.eventstore import EventStore, is_a
from application.outcomes import Refusal, Refused
from application.ports import Mailer
from domain.accounts import Account, Customer, LoginIndex, SubID, login_index_id
from domain.crypto import Entropy, Hasher
from domain.fields import FieldError, InvalidInput
from domain.policy import LoginPolicy

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")
RACES = 3  # lost races before a command gives up (LostEveryRace: a clear conflict)
BACKOFF = 0.1  # seconds: the longest wait after a lost race (1 ms, 2, 4… up to it)
_JITTER = random.Random()  # (not a simulation's seeded one: a race's wait decides nothing)


class AttemptNotFound(LookupError):
    """No login attempt has this id (a stale or forged 通知キー照合 form); nothing recorded."""


class Station(EventStore):
    """Billing Station's store and collaborators. Built by ``application.bootstrap``."""

    name = "BillingStation"
    snapshotting_intervals: ClassVar = {Customer: 50, SubID: 50}  # accounts grow a login each

    def __init__(
        self, env: Mapping[str, str], *, mailer: Mailer, hasher: Hasher, policy: LoginPolicy,
        entropy: Entropy, login_url: str = "http://127.0.0.1:8000/",
    ):
        super().__init__(env)
        self.mailer, self.hasher, self.policy, self.entropy = mailer, hasher, policy, entropy
        self.login_url = login_url  # the portal's login page, named in every mail

    def get(self, aggregate_id: UUID, kind: type[A]) -> A:
        """An aggregate, checked to be a ``kind`` (a typed read for services, audits, tests)."""
        aggregate: Aggregate = self.repository.get(aggregate_id)
        if not is_a(aggregate, kind):
            raise TypeError(f"aggregate {aggregate_id} is a {type(aggregate).__name__}, "
                            f"not a {kind.__name__}")
        return aggregate

    def find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The ``kind`` with this id, or None if there is none (or it is something else)."""
        try:
            return self.get(aggregate_id, kind)
        except (AggregateNotFoundError, TypeError):
            return None

    def index(self, login_id: str) -> LoginIndex | None:
        return self.find(login_index_id(login_id), LoginIndex)

    def account(self, login_id: str) -> Account | None:
        index = self.index(login_id)
        return self.get(index.account_id, Account) if index else None

    def main_id(self, account_id: UUID, refusal: Refusal) -> Customer:
        """The customer, if ``account_id`` is its main ID: read from the store at every
        command, never from the caller (CI-1, SB-2, D-12)."""
        account = self.get(account_id, Account)
        if not isinstance(account, Customer):
            raise Refused(refusal, refusal.value)
        return account

    def save_new(self, *aggregates: Any, taken: Callable[[], list[FieldError]]) -> None:
        """Saves what a registration creates. If another process committed first, ``taken``
        says (from what was committed) which login ID or number it claimed; if none, the
        rival change was to the customer: a conflict."""
        try:
            self.save(*aggregates)
        except IntegrityError as e:
            errors = taken()
            if not errors:
                raise Refused(Refusal.CONFLICT, "SB-8") from e
            raise InvalidInput(errors) from e


def login_id_taken() -> FieldError:
    return FieldError("ログインID", "SB-7", "このログインIDは既に使用されています。")


class LostEveryRace(Refused):
    """A command that lost every race it may lose (``committed``): nothing of it was
    recorded. An OK's page says its screen changed; a login's, to try again (BUSY)."""


def committed(command: Callable[[], T], rule: str, tries: int = RACES) -> T:
    """Runs ``command`` (it reads, decides and saves); each time another process committed
    first (the store refused the save), runs it again on what was committed, after a random
    wait that grows with each loss: rivals that keep coming (one login ID shared, pressed
    again and again) do not win every race in turn. After ``tries`` lost races,
    LostEveryRace (``rule``: the rule the screen names). One that a command run within
    ``command`` gave up with is a plain conflict here: ``command`` may have committed before
    it, and only what lost every race itself recorded nothing."""
    for lost in range(tries):
        try:
            return command()
        except IntegrityError:
            if lost < tries - 1:  # (after the last: the conflict, without a wait)
                time.sleep(_JITTER.uniform(0, min(BACKOFF, 0.001 * 2**lost)))
        except LostEveryRace as e:
            raise Refused(e.refusal, e.rule) from e
    raise LostEveryRace(Refusal.CONFLICT, rule)
