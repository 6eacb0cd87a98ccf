"""as-of: an account as it stood at any instant, rebuilt from its events up to then."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import takewhile
from typing import Any
from uuid import UUID

from eventsourcing.application import project_aggregate

from application.adapters.eventstore import EventStore
from application.audit.reading import OutOfSequence
from application.japan_time import jst
from application.screens import MASK
from domain.accounts import Customer, SubID, login_index_id
from domain.forms import CUSTOMER_INFORMATION, PERMISSIONS, SECRET_FIELDS, SUB_ID_INFORMATION


def _as_of(app: EventStore, aggregate_id: UUID, instant: datetime) -> Any:
    """The aggregate rebuilt from its events up to ``instant`` (None if it did not exist),
    read once."""
    events = takewhile(lambda e: e.timestamp <= instant,
                       _in_sequence(aggregate_id, app.events.get(aggregate_id)))
    return project_aggregate(None, events)


def _in_sequence(aggregate_id: UUID, events: Iterable[Any]) -> Iterator[Any]:
    """``events``, numbered 1, 2, 3 and on, or OutOfSequence (the first deleted, a middle
    one, or one renumbered: the aggregate cannot be rebuilt, nor be shown as it was)."""
    for expected, event in enumerate(events, 1):
        if event.originator_version != expected:
            raise OutOfSequence(
                f"aggregate {aggregate_id} cannot be rebuilt: its events are not numbered 1, "
                f"2, 3 and on (event {expected} is numbered {event.originator_version!r}), so "
                "one was changed or deleted, or the store is damaged")
        yield event


def as_of(app: EventStore, login_id: str, instant: datetime) -> list[tuple[str, str]] | None:
    """The account of ``login_id`` as it stood at ``instant``, as labelled pairs: notify
    key, registered address, permissions, plan; None if it did not exist yet."""
    index = _as_of(app, login_index_id(login_id), instant)
    account = _as_of(app, index.account_id, instant) if index else None
    if account is None:
        return None
    is_sub = isinstance(account, SubID)
    customer: Customer = _as_of(app, account.customer_id, instant) if is_sub else account
    fields = {**SUB_ID_INFORMATION, **PERMISSIONS} if is_sub else CUSTOMER_INFORMATION
    shown = [(f.label, MASK if k in SECRET_FIELDS else account.information[k])
             for k, f in fields.items() if account.information.get(k)]
    if is_sub and "organization" in account.information:
        shown.append(("所属組織", account.information["organization"]))
    recorded = max(account.modified_on, customer.modified_on)  # (an instant past the store's
    return [  # end shows its last state: said, so that it is not read as that instant's news)
        ("時点", jst(instant, seconds=True) + " JST"),
        ("時点までの最後の記録", jst(recorded, seconds=True) + " JST"),
        ("ログインID", login_id),
        ("種別", "副ID" if is_sub else "主ID"),
        ("BSお客様番号", customer.customer_number),
        ("会社名", customer.company),
        ("BS基本サービス", customer.plan),
        *shown,
        ("ログイン回数", str(account.logins)),
        ("最終ログイン", jst(account.last_login_at) + " JST" if account.last_login_at else "なし"),
    ]
