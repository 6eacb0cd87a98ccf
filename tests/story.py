"""A small vocabulary for tests and specs: a customer, its sub IDs, a login with its key.

It drives the application services only and reads keys from the mailbox, as a person would.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import freezegun
import pytest
from eventsourcing.persistence import IntegrityError

from application import station as station_module
from application.adapters.mailbox import MailboxFolder
from application.billing_station import BillingStation
from application.messages import Mail, is_key_mail, key_in
from application.outcomes import KeyEntry, LoginScreen, Session, TopPage
from application.ports import Mailer
from application.samples import INFORMATION
from domain.accounts import Account
from domain.crypto import Hasher
from domain.forms import Plan
from domain.login_attempt import LoginAttempt

# The tests' shared constants: the main ID's and sub IDs' passwords, the main ID's address
# (the sample customer's), and a hasher at scrypt N=2^8, fast enough for thousands of logins
# (production's cost is BS_HASH_COST, default 14).
PASSWORD = "Passw0rd-main"
SUB_PASSWORD = "Passw0rd-sub"
EMAIL = INFORMATION["email"]
FAST_HASHER = Hasher(cost=8)


def information(**changes: str) -> dict[str, str]:
    """A valid お客様情報変更 form (CI-2): the demo's, with ``changes`` on top."""
    return INFORMATION | changes


def sub_id_form(login_id: str = "sub01", **changes: str) -> dict[str, str]:
    """A valid 副ID 新規登録 form (SB-7), with ``changes`` on top."""
    return {
        "login_id": login_id,
        "temporary_password": SUB_PASSWORD,
        "person_in_charge": "佐藤　花子",
        "phone": "0398765432",
        "email": f"{login_id}@example.co.jp",
    } | changes


def onboard(
    app: BillingStation, login_id: str = "main01", plan: Plan = Plan.STANDARD,
    number: str = "BS5928544", **info: str,
) -> Session:
    return app.onboard_customer(
        number, "デモ用ユーザ01", "デモヨウユーザ", plan, login_id, PASSWORD, information(**info)
    )


def set_notify_key(app: BillingStation, session: Session, on: bool = True) -> None:
    form = {"notify_key": "利用する" if on else "利用しない"}
    app.submit_customer_information(session, app.confirm_customer_information(session, form))


def add_sub_id(app: BillingStation, main: Session, login_id: str = "sub01", **form: str) -> None:
    confirmation = app.confirm_new_sub_id(main, sub_id_form(login_id, **form))
    app.submit_new_sub_id(main, confirmation)


def new_sub_id_labels(app: BillingStation, main: Session) -> list[str]:
    """What 副ID 新規登録 asks for, by label, in the screen's order (SB-5..SB-7)."""
    return [field.label for field in app.sub_id_fields(main, new=True).values()]


def keyed_main(app: BillingStation) -> Session:
    """A main ID "main01" with the notify key on, past its first login (LG-4)."""
    main = onboard(app)
    set_notify_key(app, main)
    first_login(app)
    return main


class KeyRecorder:
    """A Mailer that remembers every key sent, by address, and forwards each mail to
    ``inner`` if given (so a test can read any key ever mailed, or look for it)."""

    def __init__(self, inner: Mailer | None = None) -> None:
        self.inner, self.keys = inner, dict[str, list[str]]()

    def send(self, mail: Mail) -> None:
        if is_key_mail(mail):
            self.keys.setdefault(mail.to, []).append(key_in(mail))
        if self.inner is not None:
            self.inner.send(mail)


def latest_key(mailbox: MailboxFolder, to: str) -> str:
    return key_in(mailbox.messages(to)[-1])


def log_in_with_key(
    app: BillingStation, mailbox: MailboxFolder, login_id: str, password: str, email: str,
    clock: freezegun.api.FrozenDateTimeFactory | None = None, after: timedelta = timedelta(0),
) -> LoginScreen:
    """Password, then the mailed key ``after`` a while: the whole LG-3 flow."""
    entry = app.log_in(login_id, password)
    assert isinstance(entry, KeyEntry), entry
    if clock is not None:
        clock.tick(after)
    return app.enter_key(entry.attempt_id, latest_key(mailbox, email))


def pending(app: BillingStation) -> LoginAttempt:
    """main01's login, its password accepted, waiting for its key."""
    entry = app.log_in("main01", PASSWORD)
    assert isinstance(entry, KeyEntry)
    attempt = app.get(entry.attempt_id, LoginAttempt)
    assert isinstance(attempt, LoginAttempt)
    return attempt


def first_login(app: BillingStation, login_id: str = "main01", password: str = PASSWORD) -> Session:
    top = app.log_in(login_id, password)
    assert isinstance(top, TopPage), top
    return top.session


def complete_planted(app: BillingStation, attempt: LoginAttempt, at: datetime) -> None:
    """Planted (past the services): ``attempt`` completed ``at`` with its account's login, in
    one save, as the services record a login (a forger who knows the store writes both)."""
    assert attempt.account_id is not None
    account = app.get(attempt.account_id, Account)
    attempt.complete(at)
    account.logged_in(attempt.id, at)
    app.save(attempt, account)


def moved_to_the_end(path: Path, topic: str) -> tuple[int, int]:
    """The SQLite store rewritten with its (first) event of ``topic`` stored last, its
    rows numbered anew (no gap: the rewrite is whole); that event's version, and its
    notification id now."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        rows = db.execute("SELECT originator_id, originator_version, topic, state FROM "
                          "stored_events ORDER BY rowid").fetchall()
        moved = next(r for r in rows if r[2].endswith(topic))
        rows.remove(moved)
        db.execute("DELETE FROM stored_events")
        db.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)", [*rows, moved])
    return int(moved[1]), len(rows) + 1


@contextlib.contextmanager
def losing_every_race(app: BillingStation) -> Iterator[list[int]]:
    """Every save of ``app`` refused as the store refuses one when another process committed
    first (a login ID shared by many, pressed again and again), with no wait between tries;
    what is yielded counts the saves tried."""
    tried: list[int] = []

    def lost(*aggregates: Any, **_: Any) -> None:
        tried.append(len(aggregates))
        raise IntegrityError("another process committed first")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app, "save", lost)
        patch.setattr(station_module, "BACKOFF", 0.0)
        yield tried


def duration(text: str) -> timedelta:
    """A story's span of time as written: 「29分59秒」, 「1日」, 「10分」."""
    match = re.fullmatch(r"(?:(\d+)日)?(?:(\d+)分)?(?:(\d+)秒)?", text)
    assert match and text, f"not a duration: {text}"
    days, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, minutes=minutes, seconds=seconds)


def says(shown: object, expected: object, what: str = "文言", within: bool = False) -> None:
    """A spec's check whose failure says, in the report's words, what the scenario expected
    and what was shown (an analyst reads it on features.html; pytest's diff follows it)."""
    assert (str(expected) in str(shown)) if within else (shown == expected), (
        f"期待した{what}: {expected}\n実際の{what}: {shown}")
