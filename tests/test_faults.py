"""Faults: a process killed in the middle of a login, corrupt or foreign rows in the store.
Whatever happens, the store stays consistent, verify passes, and nothing committed is lost."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from click.testing import CliRunner
from eventsourcing.persistence import StoredEvent

from application.adapters.eventstore import StoredEventError
from application.adapters.mailbox import MailboxFolder
from application.audit import replay, verify
from application.outcomes import KeyEntry, TopPage
from billing_station.cli import main
from billing_station.exits import DATA_ERROR as EXIT_DATA_ERROR
from domain.login_attempt import LoginAttempt, Status
from tests.processes import FAULTS, KILLED, SPAWN, killed_login, station
from tests.story import EMAIL, PASSWORD, keyed_main, latest_key


@pytest.mark.parametrize("fault", FAULTS)
def test_a_login_killed_midway_leaves_a_consistent_store_and_loses_nothing(
    shared_env: dict[str, str], tmp_path: Path, fault: str
) -> None:
    mailbox = tmp_path / "mailbox"
    app = station(shared_env, mailbox)
    keyed_main(app)
    before = app.recorder.max_notification_id()
    child = SPAWN.Process(target=killed_login,
                          args=(shared_env, mailbox, fault, "main01", PASSWORD))
    child.start()
    child.join(60)
    assert child.exitcode == KILLED  # the fault fired: no clean-up ran in the child
    events = list(replay(app))
    written = events[before:]
    if fault == "in-transaction":
        assert written == []  # all or nothing: the uncommitted login left no trace
    else:  # committed whole: the attempt with its key, and the account's KeyMailed
        kinds = [type(e).__name__ for e in written]
        assert kinds == ["LoginRequested", "PasswordAccepted", "KeyIssued", "KeyMailed"]
        attempt = app.get(written[0].originator_id, LoginAttempt)
        assert isinstance(attempt, LoginAttempt) and attempt.status is Status.AWAITING_KEY
    for aggregate_id in {e.originator_id for e in events}:
        app.repository.get(aggregate_id)  # every aggregate rebuilds from what was committed
    assert list(verify(app)) == []
    again = app.log_in("main01", PASSWORD)  # the user simply logs in again
    assert isinstance(again, KeyEntry)
    assert isinstance(app.enter_key(again.attempt_id, latest_key(MailboxFolder(mailbox), EMAIL)),
                      TopPage)
    assert list(verify(app)) == []
    app.close()


def test_corrupt_and_foreign_rows_give_an_error_naming_the_event(
    shared_env: dict[str, str], tmp_path: Path
) -> None:
    app = station(shared_env, tmp_path / "mailbox")
    keyed_main(app)
    foreign, corrupt = uuid4(), uuid4()
    app.recorder.insert_events([
        StoredEvent(foreign, 1, "someone.elses.module:Thing", b"{}"),
        StoredEvent(corrupt, 1, "domain.login_attempt:LoginAttempt.LoginRequested", b"\x00garbage"),
    ])
    with pytest.raises(StoredEventError, match=rf"notification \d+: stored event {foreign} version 1 "
                                               r"\(topic 'someone.elses.module:Thing'\)"):
        list(replay(app))
    with pytest.raises(StoredEventError, match=rf"stored event {corrupt} version 1 .* cannot be read"):
        app.repository.get(corrupt)
    env = {"BS_SQLITE_PATH": shared_env.get("SQLITE_DBNAME", ""), "BS_STORE": "sqlite"}
    if "postgres" in shared_env["PERSISTENCE_MODULE"]:
        env = {"BS_STORE": "postgres", "POSTGRES_SCHEMA": shared_env["POSTGRES_SCHEMA"]}
    result = CliRunner().invoke(main, ["verify"], env=env)
    assert result.exit_code == EXIT_DATA_ERROR
    assert "cannot be read" in result.output and str(foreign) in result.output
    assert "Traceback" not in result.output
    for fmt in ("csv", "jsonl", "table"):  # streamed: the rows before the row are not all
        result = CliRunner().invoke(main, ["history", "--format", fmt], env=env)
        assert result.exit_code == EXIT_DATA_ERROR
        rows = len(result.stdout.splitlines()) - (fmt != "jsonl")  # (less a header)
        error, = result.stderr.splitlines()
        assert rows >= 1 and error.startswith("error: ") and str(foreign) in error
        assert error.endswith(f"; what was written before it ({rows} row{'s' * (rows > 1)}) "
                              "is only part of the period")
    app.close()
