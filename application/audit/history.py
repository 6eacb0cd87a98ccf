"""history: every login attempt requested in a period, in request order, with its outcome:
one row each, for people, spreadsheets and tools."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import attrs

from application.audit.account_book import AccountBook
from application.audit.attempt_book import Attempt, AttemptBook
from application.audit.evidence import printable, within
from application.audit.policies import address_policy_numbers, key_policy_numbers
from application.japan_time import JST
from domain.crypto import Hasher
from domain.forms import login_id_typed
from domain.login_attempt import LoginAttempt


@attrs.frozen
class LoginRecord:
    """One login attempt, one row: what each column means is in COLUMNS."""

    attempt_id: str
    requested_at: str  # ISO 8601 in JST with its offset (D-8)
    login_id: str
    kind: str
    outcome: str
    with_key: bool
    key_required: bool
    first_login: bool
    keys_issued: int
    wrong_entries: int
    seconds_to_end: int
    client_address: str  # "" where none was recorded
    key_policy: str  # "" where no key was issued
    address_policy: str  # "" where none was recorded

    @classmethod
    def of(cls, attempt: Attempt) -> LoginRecord:
        return cls(
            str(attempt.id), attempt.requested_at.astimezone(JST).isoformat(),
            printable(attempt.login_id),
            attempt.kind, attempt.outcome.value, attempt.verified is not None,
            attempt.key_required, attempt.first_login, int(attempt.issued is not None),
            attempt.wrong_entries, int((attempt.ended_at - attempt.requested_at).total_seconds()),
            printable(attempt.client.client_address) if attempt.client is not None else "",
            key_policy_numbers(attempt.issued) if attempt.issued is not None else "",
            address_policy_numbers(attempt.client) if attempt.client is not None else "",
        )


COLUMNS = {
    "attempt_id": "the login attempt (one press of 「ログイン」); its login ID's timeline shows its events",
    "requested_at": "when 「ログイン」 was pressed, in JST: ISO 8601 with its offset (+09:00) in "
                    "csv and jsonl, 2026/04/07 09:00:13 in the table",
    "login_id": "the login ID typed; one of no account only as a tag, ?COST$ and 16 hex "
                "digits (it may be a password typed in the wrong field; the same text, the "
                "same tag: --login-id finds it)",
    "kind": "main, sub, or unknown (no such login ID)",
    "outcome": "completed, password_rejected, expired, locked, superseded, key_withheld, "
               "mail_failed, abandoned (left unfinished: its key expired with no right key, "
               "lock or late entry, an entry within the hour after its expiry being "
               "recorded as expired; or, with no key mailed, nothing within the hour), or "
               "pending (unfinished when the store ends, and it may go on: its key still "
               "valid, or, with no key mailed, requested within the hour)",
    "with_key": "true if a notify key was verified",
    "key_required": "true if the login required a key (notify key on, not a first login)",
    "first_login": "true if it was the login ID's first successful login (D-1)",
    "keys_issued": "keys mailed for this attempt (0 or 1)",
    "wrong_entries": "wrong keys entered (D-4 locks at 5)",
    "seconds_to_end": "seconds from 「ログイン」 to the event that settled the outcome "
                      "(completion, refusal, lock, supersession, expiry entry), or to the last "
                      "event of an abandoned attempt",
    "client_address": "the client's IP address, for a login at the portal or in a "
                      "simulation whose people have addresses (D-14 counts by it); empty for "
                      "the services' other callers (other simulations, the demo) and for "
                      "attempts stored before it was recorded",
    "key_policy": "the policy in force for its key, as the key's event records it: valid "
                  "seconds/wrong entries that lock/keys within D-10's window/its seconds "
                  "(600/5/5/3600; 0/0 at the end: D-10's unrecorded); empty if no key was "
                  "mailed. verify counts the keys under each policy: this names their attempts",
    "address_policy": "D-14's policy in force for its password check, as the attempt "
                      "records it: failed logins/window seconds (20/600); empty where no client "
                      "address was recorded",
}
FIELDS = [f.name for f in attrs.fields(LoginRecord)]


def history(events: Iterable[Any], since: datetime | None = None,
            until: datetime | None = None) -> Iterator[LoginRecord]:
    """Every login attempt requested in the period, in request order, with its outcome."""
    accounts, attempts = AccountBook(), AttemptBook()

    def records(final: bool = False) -> Iterator[LoginRecord]:
        for attempt in attempts.pop_over(final):
            if within(attempt.requested_at, since, until):
                yield LoginRecord.of(attempt)

    for event in events:
        accounts.fold(event)
        if isinstance(event, LoginAttempt.Event):
            attempts.fold(event, accounts)
            yield from records()
    yield from records(final=True)


def at_login_id(records: Iterable[LoginRecord], login_id: str) -> Iterator[LoginRecord]:
    """The attempts at ``login_id`` (as a person types it; see ``LoginIdAsTyped``)."""
    matches = LoginIdAsTyped(login_id)
    return (record for record in records if matches(record.login_id))


class LoginIdAsTyped:
    """Whether a recorded login ID is ``login_id`` as a person types it: an account's as
    recorded, one of no account by its tag (Hasher.unknown, worked out again at each cost
    the tags name: one derivation a cost, not a row)."""

    def __init__(self, login_id: str) -> None:
        self.typed, self.tags = login_id_typed(login_id), dict[int, str]()

    def __call__(self, recorded: str) -> bool:
        if recorded == self.typed:
            return True
        cost = Hasher.tag_cost(recorded)
        if cost is None:
            return False
        if cost not in self.tags:
            self.tags[cost] = Hasher(cost).unknown(self.typed)
        return recorded == self.tags[cost]
