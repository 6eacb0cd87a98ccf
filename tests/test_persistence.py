"""The same story on every store: in memory, a SQLite file and PostgreSQL (when configured)."""

from __future__ import annotations

import itertools
import json
import re
import secrets
import shutil
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent
from freezegun.api import FrozenDateTimeFactory

from application import bootstrap
from application.adapters.cache import OrderedLRU
from application.adapters.eventstore import EventStore, StoredEventError
from application.adapters.mailbox import MailboxFolder
from application.audit.snapshots import check_snapshots
from application.billing_station import BillingStation
from application.bootstrap import StoreSettings, store_settings
from application.outcomes import KeyEntry, Refusal, TopPage
from domain.accounts import Customer
from domain.crypto import Hasher
from domain.fields import InvalidInput
from domain.policy import LoginPolicy
from tests.conftest import build, stored_bytes
from tests.story import (
    EMAIL,
    PASSWORD,
    SUB_PASSWORD,
    add_sub_id,
    first_login,
    keyed_main,
    latest_key,
    log_in_with_key,
    onboard,
    set_notify_key,
)


def station(env: dict[str, str], mailbox: MailboxFolder) -> BillingStation:
    return build(env, mailbox)


def test_a_whole_story_survives_reopening_the_store(
    any_env: dict[str, str], mailbox: MailboxFolder, start: FrozenDateTimeFactory
) -> None:
    app = station(any_env, mailbox)
    main = onboard(app)
    add_sub_id(app, main)
    first_login(app)
    set_notify_key(app, main)
    assert isinstance(log_in_with_key(app, mailbox, "main01", PASSWORD, EMAIL), TopPage)
    before = app.get(main.customer_id, Customer)
    if any_env["PERSISTENCE_MODULE"] != "eventsourcing.popo":  # popo lives in the process
        app.close()
        app = station(any_env, mailbox)
    after = app.get(main.customer_id, Customer)
    assert isinstance(after, Customer)
    assert (after.version, after.notify_key, after.logins, after.sub_ids) == (
        before.version, True, 2, {"sub01": after.sub_ids["sub01"]})
    assert isinstance(app.log_in("sub01", SUB_PASSWORD), TopPage)
    app.close()


def test_login_ids_are_unique_across_main_and_sub_ids(
    any_env: dict[str, str], mailbox: MailboxFolder
) -> None:
    app = station(any_env, mailbox)
    main = onboard(app)
    for claim in (lambda: add_sub_id(app, main, "main01"),
                  lambda: onboard(app, "main01", number="BS0000002")):
        try:
            claim()
            raise AssertionError("a taken login ID was accepted")
        except InvalidInput as invalid:
            assert invalid.errors[0].message == "このログインIDは既に使用されています。"
    app.close()


def test_two_entries_of_one_key_at_once_exactly_one_completes(
    any_env: dict[str, str], mailbox: MailboxFolder, start: FrozenDateTimeFactory
) -> None:
    setup = station(any_env, mailbox)
    main = onboard(setup)
    first_login(setup)
    set_notify_key(setup, main)
    entry = setup.log_in("main01", PASSWORD)
    assert isinstance(entry, KeyEntry)
    key = latest_key(mailbox, EMAIL)
    # Two applications on one store, as two servers would be (popo: one shared app).
    shared = any_env["PERSISTENCE_MODULE"] == "eventsourcing.popo"
    apps = [setup if shared else station(any_env, mailbox) for _ in range(2)]
    results: list[object] = []
    barrier = threading.Barrier(2)

    def enter(app: BillingStation) -> None:
        barrier.wait()
        results.append(app.enter_key(entry.attempt_id, key))

    threads = [threading.Thread(target=enter, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, TopPage) for r in results) == 1, results
    customer = setup.get(main.customer_id, Customer)
    assert customer.logins == 2
    for app in {id(a): a for a in [setup, *apps]}.values():
        app.close()


def test_no_key_or_password_in_the_sqlite_file(
    tmp_path: Path, mailbox: MailboxFolder, start: FrozenDateTimeFactory
) -> None:
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
           "SQLITE_DBNAME": str(tmp_path / "bs.sqlite3")}
    app = station(env, mailbox)
    main = onboard(app, download_file_password="dlpass123")
    add_sub_id(app, main)
    first_login(app)
    set_notify_key(app, main)
    log_in_with_key(app, mailbox, "main01", PASSWORD, EMAIL)
    keys = [latest_key(mailbox, EMAIL)]
    app.log_in("main01", PASSWORD)
    keys.append(latest_key(mailbox, EMAIL))
    app.close()
    data = stored_bytes(env)
    assert b"yamada@example.co.jp" in data  # the file holds the events,
    for secret in [*keys, PASSWORD, SUB_PASSWORD, "dlpass123"]:  # but none of the secrets
        assert secret.encode() not in data, secret


def _synchronous(app: BillingStation) -> int:
    """SQLite's synchronous setting on the connection the application writes with."""
    with app.factory.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
        cursor.execute("PRAGMA synchronous")
        setting: int = cursor.fetchone()[0]
        return setting


def test_a_simulation_s_store_waits_for_no_disk_flush_and_the_portal_s_does(
        tmp_path: Path, mailbox: MailboxFolder) -> None:
    """A simulation's SQLite commits wait for no flush while it runs (synchronous=OFF, 0: a
    run stopped short is made anew from its seed); the portal's keep the library's FULL (2).
    (Simulated stores read back and verify clean: tests/test_simulations.py.)"""
    simulated = _simulated(store_settings("sqlite", tmp_path / "simulated.sqlite3"), mailbox)
    portal = build(store_settings("sqlite", tmp_path / "portal.sqlite3"), mailbox)
    try:
        assert _synchronous(simulated) == 0 and _synchronous(portal) == 2
    finally:
        simulated.close()
        portal.close()


def _simulated(store: StoreSettings, mailbox: MailboxFolder) -> BillingStation:
    """The application as a simulation drives it, on ``store``."""
    return bootstrap.simulation(store, mailer=mailbox, hasher=Hasher(4), policy=LoginPolicy(),
                                entropy=secrets)


def _traced(app: EventStore) -> list[str]:
    """The statements ``app``'s store connection runs from now on."""
    said: list[str] = []
    pool = app.factory.datastore.pool  # type: ignore[attr-defined]
    connection = pool.get_connection()
    connection._sqlite_conn.set_trace_callback(said.append)
    pool.put_connection(connection)
    return said


def test_a_simulation_s_store_is_flushed_whole_when_it_closes(
        tmp_path: Path, mailbox: MailboxFolder) -> None:
    """At the run's end the store's log is checkpointed into the file with FULL flushing, so
    a finished run is on the disk whole: every connection says so as it closes, and the
    file alone (no log beside it) holds every event."""
    path = tmp_path / "simulated.sqlite3"
    simulated = _simulated(store_settings("sqlite", path), mailbox)
    onboard(simulated)
    stored = simulated.recorder.max_notification_id()
    said = _traced(simulated)
    simulated.close()
    assert said[-2:] == ["PRAGMA synchronous=FULL", "PRAGMA wal_checkpoint(TRUNCATE)"]
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    with sqlite3.connect(path) as reread:
        assert reread.execute("SELECT max(rowid) FROM stored_events"
                              ).fetchone()[0] == stored


def test_a_simulation_asks_its_store_once_of_a_login_id_it_found_absent_until_it_saves_it(
        tmp_path: Path, mailbox: MailboxFolder) -> None:
    """A simulation is the one writer of its aggregates: what it found absent stays so until
    it saves it (a registration asks of a login ID several times), and it is found once
    saved; a save another writer refused (it had a rival after all) forgets what it found
    absent."""
    simulated = _simulated(store_settings("sqlite", tmp_path / "simulated.sqlite3"), mailbox)
    main = onboard(simulated)
    said = _traced(simulated)
    try:
        assert simulated.index("sub01") is None and said
        asked = len(said)
        assert simulated.index("sub01") is None and len(said) == asked
        add_sub_id(simulated, main, "sub01")
        assert simulated.index("sub01") is not None
    finally:
        simulated.close()


@pytest.mark.parametrize("alone", [False, True])
def test_a_simulation_whose_save_another_writer_refused_asks_again_what_it_found_absent(
        tmp_path: Path, mailbox: MailboxFolder, alone: bool) -> None:
    """Two runs on one store (they should not), each perhaps believing itself alone on it:
    the second's save of a login ID the first took is refused, and it says so by the
    login ID (SB-7), as read from the store, not as a conflict from what it had found (or
    believed) absent before; from then on it reads."""
    store = store_settings("sqlite", tmp_path / "simulated.sqlite3")
    first, second = _simulated(store, mailbox), _simulated(store, mailbox)
    if alone:
        first.write_alone()
        second.write_alone()
    try:
        assert second.index("main01") is None
        onboard(first)
        if alone:
            assert second.index("main01") is None  # (what it believes, alone)
        with pytest.raises(InvalidInput) as refused:
            onboard(second, number="BS0000002")
        assert [e.message for e in refused.value.errors] == ["このログインIDは既に使用されています。"]
        assert second.index("main01") is not None
    finally:
        first.close()
        second.close()


def test_a_simulation_alone_on_a_store_it_began_empty_asks_nothing_of_an_id_it_never_saved(
        tmp_path: Path, mailbox: MailboxFolder) -> None:
    """Its store held nothing when it began and nobody else writes it: any id it has not
    saved is absent, known without a read (onboarding asks of every login ID); one it
    saved is found. On a store that held events when it began, it reads."""
    store = store_settings("sqlite", tmp_path / "simulated.sqlite3")
    simulated = _simulated(store, mailbox)
    simulated.write_alone()
    main = onboard(simulated)
    said = _traced(simulated)
    try:
        assert simulated.index("sub01") is None and said == []
        add_sub_id(simulated, main, "sub01")
        assert simulated.index("sub01") is not None
    finally:
        simulated.close()
    later = _simulated(store, mailbox)
    later.write_alone()
    said = _traced(later)
    try:
        assert later.index("sub02") is None and said
        assert later.index("sub01") is not None
    finally:
        later.close()


def test_the_aggregate_cache_lets_the_least_recently_used_go_first() -> None:
    """The repository's cache keeps the library's LRU contract: a read or a write makes an
    entry the most recent; when full, the least recent goes (and is returned, as the
    library's LRUCache returns it)."""
    cache: OrderedLRU[str, int] = OrderedLRU(maxsize=2)
    assert cache.put("a", 1) == (None, None) and cache.put("b", 2) == (None, None)
    assert cache.get("a") == 1  # now "b" is the least recent
    assert cache.put("c", 3) == ("b", 2)
    with pytest.raises(KeyError):
        cache.get("b")
    assert cache.get("a", evict=True) == 1 and list(cache.cache) == ["c"]
    cache.put("d", 4)
    cache.put("c", 30)  # written again: now "d" is the least recent
    assert cache.put("e", 5) == ("d", 4) and cache.get("c") == 30


def test_D_2_an_account_read_from_its_snapshot_tells_an_earlier_key_old_snapshots_keep_none(
    tmp_path: Path, mailbox: MailboxFolder, start: FrozenDateTimeFactory
) -> None:
    """An account keeps the attempts of its latest key mails (D-2's earlier keys). The
    earlier mail before its snapshot, the newest after: read from the snapshot, the account
    still knows the earlier one. From a snapshot taken before accounts kept them (the
    class's empty default) it knows none, as then: the entry counts as a wrong one, and
    nothing fails."""
    path = tmp_path / "bs.sqlite3"
    app = station(store_settings("sqlite", path), mailbox)
    main = keyed_main(app)

    def version() -> int:
        account = app.account("main01")
        assert account is not None
        return account.version

    while version() < 45:
        start.tick(timedelta(minutes=13))  # (D-10: five key mails an hour)
        assert isinstance(log_in_with_key(app, mailbox, "main01", PASSWORD, EMAIL), TopPage)
    start.tick(timedelta(minutes=13))
    assert isinstance(app.log_in("main01", PASSWORD), KeyEntry)  # the earlier mail
    earlier = latest_key(mailbox, EMAIL)
    for department in itertools.cycle(("経理部", "営業部")):  # to the snapshot's version
        if version() % 50 == 0:
            break
        app.submit_customer_information(main, app.confirm_customer_information(
            main, {"department": department}))
    account_id = main.account_id
    app.close()
    with sqlite3.connect(path) as db:
        (state,) = db.execute("SELECT state FROM stored_snapshots WHERE originator_id = ?",
                              (account_id.hex,)).fetchone()
    assert b"recent_key_attempts" in state
    old = tmp_path / "old.sqlite3"
    shutil.copy(path, old)
    with sqlite3.connect(old) as db:  # as a snapshot taken before the attribute was
        db.execute("UPDATE stored_snapshots SET state = ? WHERE originator_id = ?",
                   (re.sub(rb',?"recent_key_attempts":\[[^]]*\]', b"", state), account_id.hex))
    start.tick(timedelta(minutes=61))  # (D-10's hour)

    def entered_after_a_new_login(store: Path) -> Refusal | None:
        reopened = station(store_settings("sqlite", store), mailbox)  # nothing cached
        newest = reopened.log_in("main01", PASSWORD)
        assert isinstance(newest, KeyEntry)
        shown = reopened.enter_key(newest.attempt_id, earlier)
        reopened.close()
        assert isinstance(shown, KeyEntry)
        return shown.error

    assert entered_after_a_new_login(path) is Refusal.KEY_SUPERSEDED
    assert entered_after_a_new_login(old) is Refusal.KEY_WRONG
    for store in (path, old):  # verify --snapshots: lawful both (the old one as taken then)
        reader = bootstrap.audit_reader(store=store_settings("sqlite", store))
        assert check_snapshots(reader) == 1  # (main01's: none raised)
        reader.close()


def test_a_snapshot_naming_a_class_of_no_event_of_this_system_is_refused_unimported(
        app: BillingStation, capsys: pytest.CaptureFixture[str]) -> None:
    """A snapshot's own topic names the class it rebuilds, which the library imports as it
    rebuilds: one changed to 'this:s' printed a poem, then failed with a raw TypeError."""
    main = onboard(app)
    account: Customer = app.repository.get(main.account_id)
    stored = app.mapper.to_stored_event(Customer.Snapshot.take(account))
    assert json.loads(stored.state)["topic"].startswith("domain.")  # (as stored)
    app.mapper.to_domain_event(stored)
    state = json.loads(stored.state)
    state["topic"] = "this:s"
    tampered = StoredEvent(stored.originator_id, stored.originator_version, stored.topic,
                           json.dumps(state).encode())
    with pytest.raises(StoredEventError, match=r"cannot be read: its topic names no event of "
                                               r"this system$"):
        app.mapper.to_domain_event(tampered)
    assert "Beautiful is better" not in capsys.readouterr().out
