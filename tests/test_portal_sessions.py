"""The portal's sessions and the login throttle at the application (D-12, D-14): with the
clock moved by freezegun, and across two application instances on one store, as two worker
processes would share it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun.api import FrozenDateTimeFactory

from application.adapters.mailbox import MailboxFolder
from application.billing_station import BillingStation
from application.bootstrap import store_settings
from application.outcomes import ErrorPage, TopPage
from application.portal_sessions import Throttled
from tests.conftest import build, stored_bytes
from tests.story import PASSWORD, onboard


def _top(app: BillingStation, login_id: str = "main01") -> TopPage:
    shown = app.log_in(login_id, PASSWORD)
    assert isinstance(shown, TopPage)
    return shown


@pytest.fixture
def two(tmp_path: Path, mailbox: MailboxFolder) -> Iterator[tuple[BillingStation, BillingStation]]:
    """Two application instances on one SQLite file: two workers' view of one store."""
    store = store_settings("sqlite", tmp_path / "shared.sqlite3")
    first = build(store, mailbox)
    second = build(store | {"CREATE_TABLE": "false"}, mailbox)
    yield first, second
    first.close()
    second.close()


def test_D_12_a_session_ends_after_30_minutes_without_a_request(
        app: BillingStation, start: FrozenDateTimeFactory) -> None:
    onboard(app)
    token = app.start_session(_top(app))
    for _ in range(3):  # each request starts the 30 minutes again
        start.tick(timedelta(minutes=29, seconds=59))
        session = app.current_session(token)
        assert session is not None and session.login_id == "main01" and session.is_main_id
    start.tick(timedelta(minutes=30))
    assert app.current_session(token) is None
    start.tick(timedelta(seconds=1))
    assert app.current_session(token) is None  # ended, not revived by a request


def test_D_12_each_login_a_new_session_id_and_the_store_keeps_only_its_digest(
        two: tuple[BillingStation, BillingStation], tmp_path: Path) -> None:
    first, _ = two
    onboard(first)
    tokens = {first.start_session(_top(first)) for _ in range(3)}
    assert len(tokens) == 3
    data = stored_bytes(store_settings("sqlite", tmp_path / "shared.sqlite3"))
    assert not any(token.encode() in data for token in tokens)


def test_D_12_SC_4_a_logout_in_one_process_ends_the_session_in_every_process(
        two: tuple[BillingStation, BillingStation]) -> None:
    first, second = two
    onboard(first)
    token = first.start_session(_top(first))
    assert second.current_session(token) is not None
    second.end_session(token)
    assert first.current_session(token) is None
    assert first.current_session("a-token-never-issued") is None


def test_D_14_twenty_failures_in_ten_minutes_then_the_window_passes(
        app: BillingStation, start: FrozenDateTimeFactory) -> None:
    onboard(app)
    for n in range(20):
        start.tick(timedelta(seconds=20))
        shown = app.log_in_from("203.0.113.9", f"nobody{n}", "wrong")
        assert isinstance(shown, ErrorPage)
    assert isinstance(app.log_in_from("203.0.113.9", "main01", PASSWORD), Throttled)
    assert isinstance(app.log_in_from("203.0.113.10", "main01", PASSWORD), TopPage)
    start.tick(timedelta(minutes=10) - timedelta(seconds=20 * 19))  # the first failure leaves
    assert isinstance(app.log_in_from("203.0.113.9", "main01", PASSWORD), TopPage)


def test_D_14_failures_count_across_processes(
        two: tuple[BillingStation, BillingStation]) -> None:
    first, second = two
    onboard(first)
    for n in range(10):
        first.log_in_from("203.0.113.9", f"nobody{n}", "wrong")
        second.log_in_from("203.0.113.9", f"nobody{n}", "wrong")
    assert isinstance(first.log_in_from("203.0.113.9", "main01", PASSWORD), Throttled)
    assert isinstance(second.log_in_from("203.0.113.9", "main01", PASSWORD), Throttled)
