"""D-16: the audit only reads, and refuses with one line and exit 65 whatever is not this
system's event store; its other refusals have their own exit codes (README's table)."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, PersistenceError, StoredEvent

from application import audit as audit_of
from application import bootstrap
from application.adapters.event_shapes import misshapen
from application.adapters.postgres_login import refused_login
from application.audit import sequence
from application.audit.reading import StoreChanged
from application.bootstrap import store_settings
from application.japan_time import jst
from application.login import Opening
from application.outcomes import KeyEntry, TopPage
from application.setting_values import RESERVED, checked_store
from billing_station.exits import (
    DATA_ERROR,
    IO_ERROR,
    NOT_FOUND,
    UNAVAILABLE,
    USAGE,
    VIOLATIONS,
)
from domain.accounts import Account
from domain.crypto import Hasher
from domain.login_attempt import LoginAttempt
from domain.policy import LoginPolicy
from domain.portal_sessions import PortalSession
from tests.audit_cli import a_store_with_one_login, audit, files, refused_in_one_line
from tests.conftest import build, store_env
from tests.story import (
    EMAIL,
    PASSWORD,
    KeyRecorder,
    first_login,
    keyed_main,
    moved_to_the_end,
    onboard,
    set_notify_key,
)

ROOT = Path(__file__).parent.parent


def test_D_16_a_file_that_is_no_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_text("not a database")
    before = files(tmp_path)
    output = refused_in_one_line(audit({"BS_SQLITE_PATH": str(path)}), DATA_ERROR)
    assert "is not a Billing Station event store" in output
    assert files(tmp_path) == before


@pytest.mark.parametrize("schema", ["CREATE TABLE t (x)", "CREATE TABLE stored_events ("
                                    "originator_id TEXT, originator_version INTEGER, topic TEXT,"
                                    " state BLOB, PRIMARY KEY (originator_id, originator_version))"],
                         ids=["foreign", "empty"])
def test_D_16_a_foreign_or_empty_database_is_refused_and_no_table_is_created(
    tmp_path: Path, schema: str
) -> None:
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(schema)
    before = files(tmp_path)
    for command in (["verify"], ["history"], ["timeline", "main01"]):
        refused_in_one_line(audit({"BS_SQLITE_PATH": str(path)}, *command), DATA_ERROR)
    assert files(tmp_path) == before  # no stored_snapshots, no WAL: nothing written


def test_D_16_a_store_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other-app.sqlite3"
    other = Application[UUID](store_settings("sqlite", path))
    other.save(Aggregate())
    other.close()
    output = refused_in_one_line(audit({"BS_SQLITE_PATH": str(path)}), DATA_ERROR)
    assert "is not a Billing Station event store" in output


def test_D_16_an_in_memory_store_is_refused() -> None:
    output = refused_in_one_line(audit({"BS_STORE": "memory"}), DATA_ERROR)
    assert "in-memory" in output


def test_D_16_auditing_a_real_store_writes_nothing(tmp_path: Path) -> None:
    path = a_store_with_one_login(tmp_path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    env = {"BS_SQLITE_PATH": str(path)}
    assert audit(env).exit_code == 0
    assert audit(env, "history", "--format", "csv").exit_code == 0
    assert audit(env, "as-of", "2030-01-01", "main01").exit_code == 0
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    # Reading a WAL-mode file, SQLite may make its index files; the log stays empty.
    wal = tmp_path / "store.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0


def test_D_16_the_audit_s_store_refuses_a_write_were_it_to_try_one(
        shared_env: dict[str, str]) -> None:
    """Not only does the audit write nothing: its connection cannot (SQLite opened read-only,
    PostgreSQL's transactions read-only), so a change to it that tried would fail."""
    app = build(shared_env, KeyRecorder())
    onboard(app)
    first_login(app)
    app.close()
    reader = bootstrap.audit_reader(store=shared_env)
    try:
        last = reader.recorder.max_notification_id()
        first = reader.recorder.select_notifications(start=None, limit=1)[0]
        with pytest.raises(PersistenceError, match=r"read-only|readonly"):
            reader.recorder.insert_events([StoredEvent(uuid4(), 1, first.topic, first.state)])
        assert reader.recorder.max_notification_id() == last
    finally:
        reader.close()


def test_D_16_a_store_cut_short_is_called_damaged_and_one_not_readable_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store cut short, and one the auditor may not read, were both called "not a Billing
    Station event store": the first is a damaged database, the second may well be a store."""
    path = a_store_with_one_login(tmp_path)
    cut = tmp_path / "cut.sqlite3"
    cut.write_bytes(path.read_bytes()[:10_000])
    output = refused_in_one_line(audit({"BS_SQLITE_PATH": str(cut)}), DATA_ERROR)
    assert f"{cut} is a damaged SQLite database (database disk image is malformed)" in output
    monkeypatch.setattr("application.bootstrap.os.access", lambda *_: False)  # (as root
    output = refused_in_one_line(audit({"BS_SQLITE_PATH": str(path)}), IO_ERROR)  # reads all)
    assert output.strip() == f"error: Permission denied ({path})"


@pytest.fixture
def postgres_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    if not os.environ.get("POSTGRES_HOST"):  # CI always has it (conftest insists)
        pytest.skip("PostgreSQL is not configured (POSTGRES_HOST)")
    yield from store_env("postgres", tmp_path)


def test_D_16_an_empty_postgres_schema_is_refused_and_no_table_is_created(
    postgres_env: dict[str, str]
) -> None:
    env = {"BS_STORE": "postgres", **{k: v for k, v in postgres_env.items()
                                      if k.startswith("POSTGRES_")}}
    refused_in_one_line(audit(env), DATA_ERROR)
    with psycopg.connect(_dsn(env)) as conn:
        tables = conn.execute("SELECT count(*) FROM information_schema.tables "
                              "WHERE table_schema = %s", (env["POSTGRES_SCHEMA"],)).fetchone()
    assert tables == (0,)


def test_the_schema_names_refused_as_reserved_are_those_the_server_will_not_take(
    postgres_env: dict[str, str]
) -> None:
    """Each keyword the server lists, tried as the library writes a schema's name: the
    words that fail are the list that refuses them at start, and it holds no more than
    those and the words a later PostgreSQL reserves."""
    failing = set()
    with psycopg.connect(_dsn(postgres_env), autocommit=True) as conn:
        words = [w for (w,) in conn.execute(
            "SELECT word FROM pg_get_keywords() WHERE catcode <> 'U'").fetchall()]
        for word in words:
            try:
                with conn.transaction(force_rollback=True):
                    conn.execute(f"CREATE SCHEMA {word}")
                    conn.execute(f"CREATE TABLE {word}.t (a int)")
                    conn.execute(f"SELECT a FROM {word}.t")
            except psycopg.errors.SyntaxError:
                failing.add(word)
    assert failing <= RESERVED and RESERVED - failing <= {"system_user"}  # (16's)


def test_a_store_whose_path_is_not_utf_8_is_audited(tmp_path: Path) -> None:
    """A folder named in another encoding (bytes that are no UTF-8): the store was read,
    then "No such file or directory" of a file that is there (its name decoded with
    replacement characters for the check that it does not change)."""
    folder = tmp_path / os.fsdecode(b"bad\xffname")
    folder.mkdir()
    result = audit({"BS_SQLITE_PATH": str(a_store_with_one_login(folder))})
    assert result.exit_code == 0 and "verified: no violations" in result.output, result.output


def test_an_unknown_login_id_is_not_found_and_one_as_typed_at_login_is_found(
        tmp_path: Path) -> None:
    env = {"BS_SQLITE_PATH": str(a_store_with_one_login(tmp_path))}
    output = refused_in_one_line(audit(env, "timeline", "nobody01"), NOT_FOUND)
    assert "no such login ID" in output
    assert audit(env, "timeline", "main01").exit_code == 0
    for command in (["timeline", " "], ["as-of", "2030-01-01", ""]):  # no question: usage
        output = refused_in_one_line(audit(env, *command), USAGE)
        assert "Invalid value for 'LOGIN_ID': empty: give a login ID, e.g. main01" in output
    assert "'--login-id': empty" in refused_in_one_line(
        audit(env, "history", "--login-id", "\u3000"), USAGE)
    typed = " ｍａｉｎ０１\u3000"  # (as ログイン takes it, and history --login-id: main01)
    for command in (["timeline", typed], ["as-of", "2030-01-01", typed],
                    ["history", "--login-id", typed, "--format", "csv"]):
        found = audit(env, *command)
        assert found.exit_code == 0 and "main01" in found.output, (command, found.output)
    output = refused_in_one_line(audit(env, "as-of", "2030-01-01", "x" * 1000 + "\u200b"),
                                 NOT_FOUND)
    assert output.startswith("'" + "x" * 64 + "…': no such login ID at")
    output = refused_in_one_line(audit(env, "as-of", "2030-01-01", "y" * 64), NOT_FOUND)
    assert output.startswith("'" + "y" * 64 + "': no such login ID at")  # (not cut: whole)


def test_a_login_id_of_no_account_is_found_by_timeline_as_by_history(tmp_path: Path) -> None:
    """Its attempts record it only as a tag: history --login-id found them by the typed
    ID, and timeline said "no such login ID" (exit 1)."""
    path = tmp_path / "store.sqlite3"
    app = build(store_settings("sqlite", path), KeyRecorder())
    onboard(app)
    app.log_in("ghost01", "wrong-password")
    app.close()
    env = {"BS_SQLITE_PATH": str(path)}
    listed = audit(env, "history", "--login-id", "ghost01", "--format", "csv")
    [tag] = {row.split(",")[2] for row in listed.output.splitlines()[1:]}
    assert tag.startswith("?") and listed.exit_code == 0
    shown = audit(env, "timeline", "ghost01")
    assert shown.exit_code == 0 and "LoginAttempt.PasswordRejected" in shown.output
    assert f"login_id={tag}" in shown.output and "ghost01" not in shown.output
    assert audit(env, "history", "--login-id", tag).output.count(tag) == 1  # (as recorded)


def test_D_12_timeline_shows_a_login_id_s_portal_sessions(tmp_path: Path) -> None:
    """A session's start is D-12's evidence: timeline showed the login and not the session
    it opened, nor its end (the auditor's finding)."""
    path = tmp_path / "store.sqlite3"
    app = build(store_settings("sqlite", path), KeyRecorder())
    onboard(app)
    top = app.log_in_from("203.0.113.9", "main01", PASSWORD, Opening())
    assert isinstance(top, TopPage) and top.token is not None
    app.end_session(top.token)
    app.close()
    shown = audit({"BS_SQLITE_PATH": str(path)}, "timeline", "main01").output
    assert "PortalSession.Started" in shown and "PortalSession.Ended" in shown
    assert shown.index("LoginAttempt.LoginCompleted") < shown.index("PortalSession.Ended")
    assert top.token not in shown


def test_history_csv_gives_no_spreadsheet_a_formula(tmp_path: Path) -> None:
    """A login ID that may begin with - (-main01), or a tampered row's (=HYPERLINK…): a
    spreadsheet opening the CSV ran it as a formula. jsonl, for tools, keeps it as recorded,
    and --login-id finds it as typed."""
    path = tmp_path / "store.sqlite3"
    app = build(store_settings("sqlite", path), KeyRecorder())
    onboard(app, "-main01")
    for _ in range(3):
        app.log_in("-main01", "wrong-password")
    app.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE stored_events SET state = CAST(json_set(state, '$.login_id', "
                   "'=HYPERLINK(\"http://x\")') AS BLOB) WHERE rowid = (SELECT min(rowid) "
                   "FROM stored_events WHERE topic LIKE '%.LoginRequested')")
        db.execute("UPDATE stored_events SET state = CAST(json_set(state, '$.login_id', "
                   "'@SUM(1)') AS BLOB) WHERE rowid = (SELECT max(rowid) "
                   "FROM stored_events WHERE topic LIKE '%.LoginRequested')")
    env = {"BS_SQLITE_PATH": str(path)}
    rows = list(csv.DictReader(io.StringIO(audit(env, "history", "--format", "csv").output)))
    assert [row["login_id"] for row in rows] == [
        "'=HYPERLINK(\"http://x\")", "'-main01", "'@SUM(1)"]
    assert '"login_id": "=HYPERLINK' in audit(env, "history", "--format", "jsonl").output
    found = audit(env, "history", "--format", "csv", "--login-id", "-main01").output
    assert found.splitlines()[1:] == [found.splitlines()[1]] and "'-main01" in found


def test_D_7_a_key_or_password_stored_in_clear_is_found_and_not_shown(tmp_path: Path) -> None:
    """A key, a password, or 分析データダウンロードファイル用パスワード written into the store
    in clear passed verify (it neither checked D-7 nor said it did not)."""
    path = tmp_path / "store.sqlite3"
    app = build(store_settings("sqlite", path), KeyRecorder())
    keyed_main(app)
    app.log_in("main01", PASSWORD)  # a key issued
    app.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        for field, topic, secret in [("key_digest", "KeyIssued", "589645749287"),
                                     ("password_digest", "Onboarded", "Passw0rd-clear"),
                                     ("information.download_file_password", "Onboarded",
                                      "DlPass12345")]:
            assert db.execute(f"UPDATE stored_events SET state = CAST(json_set(state, "
                              f"'$.{field}', '{secret}') AS BLOB) WHERE topic LIKE "
                              f"'%.{topic}'").rowcount == 1
    env = {"BS_SQLITE_PATH": str(path)}
    page = tmp_path / "audit.html"
    result = audit(env, "verify", "--html", str(page))
    assert result.exit_code == VIOLATIONS, result.output
    assert "D-7: Customer.Onboarded keeps password_digest, information.download_file_password " \
           "as something other than its digest" in result.output
    assert "D-7: LoginAttempt.KeyIssued keeps key_digest as something other" in result.output
    shown = result.output + page.read_text(encoding="utf-8")
    assert not any(secret in shown for secret in ("589645749287", "Passw0rd-clear", "DlPass12345"))
    assert "ダイジェストでない形で記録した" in shown
    assert "information.download_file_password=<not a digest: 11 characters, not shown>" in \
        result.output  # (the field found, in its evidence)
    assert "password_digest=<not a digest: 14 characters, not shown>" in result.output
    assert not any(Hasher.short(secret) in shown for secret in (  # (32 bits of an unsalted
        "589645749287", "Passw0rd-clear", "DlPass12345"))  # hash: a key in a few hundred tries)


def test_verify_says_the_policy_its_events_record_and_history_which_attempts(
        tmp_path: Path) -> None:
    """The rules judge each key by the policy its own event records: one loosened there (a
    key valid a day) passed unseen, the summary naming no policy at all; and history's
    key_policy names the attempts that verify's summary only counts."""
    path = tmp_path / "store.sqlite3"
    app = build(store_settings("sqlite", path), KeyRecorder())
    keyed_main(app)
    for _ in range(3):
        app.log_in("main01", PASSWORD)
    app.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE stored_events SET state = CAST(json_set(state, "
                   "'$.valid_for_seconds', 86400) AS BLOB) WHERE rowid = (SELECT min(rowid) "
                   "FROM stored_events WHERE topic LIKE '%.KeyIssued')")
        db.execute("UPDATE stored_events SET state = CAST(json_set(state, "  # (not a whole
                   "'$.valid_for_seconds', 5) AS BLOB) WHERE rowid = (SELECT max(rowid) "  # min)
                   "FROM stored_events WHERE topic LIKE '%.KeyIssued')")
    page = tmp_path / "v.html"
    said = audit({"BS_SQLITE_PATH": str(path)}, "verify", "--html", str(page)).output
    assert ("policy in force, as the events record it: keys: valid 5 s, locked at 5 "
            "wrong entries, at most 5 within 60 min (1 key); keys: valid 10 min, locked at 5 "
            "wrong entries, at most 5 within 60 min (1 key); keys: valid 1,440 min, locked at 5 "
            "wrong entries, at most 5 within 60 min (1 key)\n") in said  # (by their numbers)
    shown = page.read_text(encoding="utf-8")
    assert "<tr><th>通知キー: 有効1,440分、誤入力5回でロック、60分間に5通まで</th><td>1通</td>" in shown
    assert "<tr><th>通知キー: 有効5秒、誤入力5回でロック、60分間に5通まで</th><td>1通</td>" in shown
    rows = list(csv.DictReader(io.StringIO(audit(
        {"BS_SQLITE_PATH": str(path)}, "history", "--format", "csv").output)))
    keyed = [row for row in rows if row["keys_issued"] == "1"]  # history names their attempts
    assert [row["key_policy"] for row in keyed] == ["86400/5/5/3600", "600/5/5/3600",
                                                    "5/5/5/3600"]
    assert {row["key_policy"] for row in rows if row["keys_issued"] == "0"} == {""}
    listed = audit({"BS_SQLITE_PATH": str(path)}, "history", "--format", "html").output
    assert '<td class="key-policy">有効1,440分、誤入力5回でロック、60分間に5通まで</td>' in listed


@pytest.mark.parametrize("tampering", [
    "UPDATE stored_events SET originator_version = 9 WHERE topic LIKE '%.LoggedIn'",
    "DELETE FROM stored_events WHERE topic LIKE '%Customer.Onboarded'",
    "UPDATE stored_events SET originator_version = originator_version + 10 "
    "WHERE topic LIKE 'domain.accounts:Customer.%'"], ids=["renumbered", "first gone", "shifted"])
def test_an_account_whose_events_are_out_of_sequence_is_one_line_not_a_traceback(
        tmp_path: Path, tampering: str) -> None:
    """A row's version changed, the first row deleted, every version shifted: the account
    cannot be rebuilt; as-of said so with a traceback (and exit 1, "did not exist"), or
    showed a state rebuilt from what was left."""
    path = a_store_with_one_login(tmp_path)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(tampering)
    env = {"BS_SQLITE_PATH": str(path)}
    output = refused_in_one_line(audit(env, "as-of", "2030-01-01", "main01"), DATA_ERROR)
    assert output.startswith("error: the event store holds an aggregate whose events are out "
                             "of sequence: aggregate ")
    assert "cannot be rebuilt: its events are not numbered 1, 2, 3 and on (event " in output


@pytest.mark.parametrize("checkpointed", [False, True], ids=["whole", "checkpointed"])
@pytest.mark.parametrize(("tampering", "said"), [
    ("UPDATE stored_events SET originator_version = 99 WHERE rowid = (SELECT max(rowid) FROM "
     "stored_events WHERE topic LIKE '%Customer.LoggedIn')",
     "events numbered 1 to 99: each aggregate numbers its events 1, 2, 3 and on"),
    ("DELETE FROM stored_events WHERE rowid = 2", "notification 2 (before 3) is absent")],
    ids=["renumbered", "a row gone"])
def test_an_event_renumbered_in_place_on_sqlite_is_refused_by_verify_too(
        tmp_path: Path, tampering: str, said: str, checkpointed: bool) -> None:
    """An account's last event's version changed in place (read in its place, after the
    others, it moved nothing back): verify said "no violations" of a store whose account
    the services cannot rebuild, which as-of refuses (a newcomer's probe). Its versions are
    counted beside the replay, on a thread; on a checkpointed verify, each event read is
    found preceded by its aggregate's previous one. (A row gone: the replay says so.)"""
    path = a_store_with_one_login(tmp_path)
    env = {"BS_SQLITE_PATH": str(path)}
    checkpoint = ["--checkpoint", str(tmp_path / "a.ckpt")] if checkpointed else []
    if checkpointed:
        assert audit(env, "verify", *checkpoint).exit_code == 0
        app = build(store_settings("sqlite", path), KeyRecorder())
        first_login(app)  # (the account's LoggedIn, read after the checkpoint)
        app.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        assert db.execute(tampering).rowcount == 1
    output = refused_in_one_line(audit(env, "verify", *checkpoint), DATA_ERROR, last_only=True)
    assert said in output, output


@pytest.mark.parametrize("checkpointed", [False, True], ids=["whole", "checkpointed"])
@pytest.mark.parametrize("tampering", ["moved", "a row gone"])
def test_verify_stopped_by_what_it_read_stops_the_store_s_count_beside_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tampering: str,
        checkpointed: bool) -> None:
    """The versions' count runs on a thread beside the replay; a verify that stops first (an
    account's event out of place, found by the books; a row gone, found by the replay)
    interrupts it, never leaving it to run on a connection of a store closed under it (a
    crashed worker process, once). Here the count is one that lasts a minute or more unless
    stopped."""
    def slow(connection: sqlite3.Connection, table: str, after: int) -> None:
        connection.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                           "WHERE x < 2000000000) SELECT count(*) FROM c").fetchone()
    monkeypatch.setattr(sequence, "_in_sequence_sqlite", slow)
    path = tmp_path / "store.sqlite3"
    app = build(store_settings("sqlite", path), KeyRecorder())
    set_notify_key(app, onboard(app))
    first_login(app)
    app.close()
    checkpoint = ["--checkpoint", str(tmp_path / "a.ckpt")] if checkpointed else []
    if tampering == "moved":  # (the books find it: an account's setting read too late)
        moved_to_the_end(path, "NotifyKeyEnabled")
    else:
        with contextlib.closing(sqlite3.connect(path)) as db, db:
            db.execute("DELETE FROM stored_events WHERE rowid = 2")
    refused_in_one_line(audit({"BS_SQLITE_PATH": str(path)}, "verify", *checkpoint),
                        DATA_ERROR, last_only=True)
    assert "verify-count" not in [thread.name for thread in threading.enumerate()]


def test_a_field_holds_exactly_what_its_class_declares() -> None:
    """True passed for an int (and crashed verify's count of policies), any text for a
    Literal's (previous_login "yesterday"), any value inside a dict of text."""
    issued = {"originator_id": uuid4(), "originator_version": 3, "timestamp": datetime.now(UTC),
              "key_digest": "d", "mailed_to": "a@example.co.jp", "valid_for_seconds": 600,
              "max_wrong_entries": 5}
    assert misshapen(LoginAttempt.KeyIssued, issued) is None  # (D-10's two: absent, as before)
    assert misshapen(LoginAttempt.KeyIssued, {**issued, "max_wrong_entries": True}) == (
        "its max_wrong_entries is True, not an int")
    # (a key valid 10**30 seconds ended verify in a traceback; one valid -5 was "-0.08 min";
    # one valid 0 seconds, or locked at 0 wrong entries, no policy can set: verify blamed
    # D-4 on a lawful login under the second)
    assert [misshapen(LoginAttempt.KeyIssued, {**issued, "valid_for_seconds": seconds})
            for seconds in (10**30, -5, 0, 1, 100 * 365 * 24 * 3600)] == [
        "its valid_for_seconds is 1000000000000000000000000000000, not a duration of 1 to "
        "3,153,600,000 seconds (a hundred years)",
        "its valid_for_seconds is -5, not a duration of 1 to 3,153,600,000 seconds (a "
        "hundred years)", "its valid_for_seconds is 0, not a duration of 1 to 3,153,600,000 "
        "seconds (a hundred years)", None, None]
    assert misshapen(LoginAttempt.KeyIssued, {**issued, "max_wrong_entries": 0}) == (
        "its max_wrong_entries is 0, not a limit of 1 or more")
    assert misshapen(LoginAttempt.KeyIssued, {**issued, "max_keys_per_window": 0,
                                              "key_window_seconds": 0}) is None  # (unrecorded)
    with pytest.raises(ValueError):  # (nor can a policy be made so)
        LoginPolicy(max_wrong_entries=0)
    requested = {"originator_id": uuid4(), "originator_version": 1, "originator_topic": "t",
                 "timestamp": datetime.now(UTC), "login_id": "main01", "account_id": None,
                 "client_address": "203.0.113.9", "failure_limit": 20,
                 "failure_window_seconds": 600, "count_version": 0}
    assert misshapen(LoginAttempt.LoginRequestedFrom, requested) is None
    assert [misshapen(LoginAttempt.LoginRequestedFrom, {**requested, field: 0}) for field in (
        "failure_limit", "failure_window_seconds", "count_version")] == [
        "its failure_limit is 0, not a limit of 1 or more", "its failure_window_seconds is 0, "
        "not a duration of 1 to 3,153,600,000 seconds (a hundred years)", None]
    started = {"originator_id": uuid4(), "originator_version": 1, "originator_topic": "t",
               "timestamp": datetime.now(UTC), "token_digest": "d", "account_id": uuid4(),
               "login_id": "main01"}
    for fine in (None, "unrecorded", datetime.now(UTC)):
        assert misshapen(PortalSession.Started, {**started, "previous_login": fine}) is None
    assert misshapen(PortalSession.Started, {**started, "previous_login": "yesterday"}) == (
        "its previous_login is 'yesterday', not one of 'unrecorded'")

    # (what a secret's field, or a list or a dict, holds is not shown: a key may be in it)
    assert misshapen(LoginAttempt.KeyIssued, {**issued, "key_digest": ["123456789012"]}) == (
        "its key_digest is a list of 1 item, not a str")
    assert misshapen(LoginAttempt.KeyIssued, {**issued, "key_digest": 123456789012}) == (
        "its key_digest is an int, not a str")
    changed = {"originator_id": uuid4(), "originator_version": 2, "timestamp": datetime.now(UTC),
               "changes": {"download_file_password": 20260401}, "by": "main01"}
    assert misshapen(Account.InformationChanged, changed) == (
        "its changes holds an int, not a str")

    class Timed:  # (no event has a float yet: one given 5 is stored as 5)
        seconds: float
    assert [misshapen(Timed, {"seconds": value}) for value in (5, 5.5, True)] == [
        None, None, "its seconds is True, not a float or int"]


@pytest.mark.parametrize(("tampering", "said"), [
    ("SET state = CAST(json_set(state, '$.login_id', 7) AS BLOB) WHERE topic LIKE "
     "'%.LoginRequested'",
     "its login_id is 7, not a str"),
    ("SET state = CAST(json_set(state, '$.timestamp', 'yesterday') AS BLOB) WHERE topic LIKE "
     "'%.LoggedIn'",
     "its timestamp is 'yesterday', not a datetime"),
    ("SET state = CAST(json_set(state, '$.timestamp._data_', '2030-01-01T00:00:00') AS BLOB) "
     "WHERE topic LIKE '%.LoginCompleted'", "its timestamp is 2030-01-01T00:00:00, with no "
     "time zone"),  # (as stored, not Python's repr of it)
    ("SET state = CAST(json_set(state, '$.timestamp._data_', '9999-12-31T23:59:59+00:00') AS "
     "BLOB) WHERE topic LIKE '%.LoginCompleted'", "its timestamp is 9999-12-31T23:59:59+00:00, "
     "not within the years 1000 to 8999"),  # (past JST's year 9999)
    ("SET state = CAST('{}' AS BLOB) WHERE topic LIKE '%.PasswordAccepted'",
     "it has no timestamp"),
    ("SET topic = 'domain.accounts:Customer.NotifyKeyEnabled' WHERE topic LIKE "
     "'%.LoginCompleted'", "it has no by"),  # (an attempt's row, an account's topic)
    ("SET topic = 'this:s' WHERE topic LIKE '%.LoginCompleted'",
     "its topic names no event of this system"),
    ("SET topic = 'eventsourcing.domain:Aggregate.Event' WHERE topic LIKE '%.LoginCompleted'",
     "its topic names no event of this system"),
    ("SET topic = 'domain.accounts:Customer' WHERE topic LIKE '%.LoginCompleted'",
     "its topic names no event of this system"),  # (an aggregate's class: the library's words)
    ("SET state = replace(state, '\"key_required\":false', '\"key_required\":\"no\"') "
     "WHERE topic LIKE '%.PasswordAccepted'", "its key_required is 'no', not a bool"),  # TEXT
    ("SET originator_id = 'not-a-uuid' WHERE topic LIKE '%.LoginCompleted'",
     "its id is no UUID"),
    ("SET state = CAST(json_set(state, '$.information.email', 7) AS BLOB) WHERE topic LIKE "
     "'%.Onboarded'", "its information holds 7, not a str"),
    ("SET state = CAST(json_set(state, '$.key_required', 1) AS BLOB) WHERE topic LIKE "
     "'%.PasswordAccepted'", "its key_required is 1, not a bool"),
    ("SET state = CAST('not json' AS BLOB) WHERE topic LIKE '%.PasswordAccepted'",
     "its state cannot be decoded (Expecting value: line 1 column 1 (char 0))\n"),
], ids=["a number for text", "a word for a time", "a time in no zone", "a time past 9999",
        "no fields",
        "another aggregate's topic", "a module's topic", "the library's event",
        "an aggregate's class", "text for bytes", "no uuid",
        "a number in the information", "a number for yes or no", "no JSON"])


@pytest.mark.parametrize("command", [["verify"], ["timeline", "main01"], ["history"]])
def test_an_event_that_is_not_what_its_class_declares_is_one_line_not_a_traceback(
        tmp_path: Path, tampering: str, said: str, command: list[str]) -> None:
    """Rows of well-formed JSON whose fields are not what their class declares crashed the
    checks reading them (a traceback, exit 1: verify's code for violations); a topic was
    imported whatever it named (``this`` printed its poem into the audit's output), and an
    event of the library's own was read as one of this system's, and left out."""
    path = a_store_with_one_login(tmp_path)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        assert db.execute(f"UPDATE stored_events {tampering}").rowcount == 1
    result = audit({"BS_SQLITE_PATH": str(path)}, *command)
    refused_in_one_line(result, DATA_ERROR, last_only=True)  # (after the lines before it)
    assert result.stderr.startswith(("error: the event store holds an event that cannot be read: ",
                                     f"error: {path} holds Billing Station events that"))  # (1st)
    assert f"cannot be read: {said}" in result.stderr, result.output  # (history: and what
    assert "Beautiful is better" not in result.output  # it wrote is part of the period)


def test_a_checkpointed_postgres_verify_finds_an_event_gone_from_an_aggregate_it_reads(
        postgres_env: dict[str, str], tmp_path: Path) -> None:
    """The aggregates with an event after the checkpoint are checked whole: one whose
    middle event was deleted since is found; what a checkpoint read before is trusted."""
    env = {"BS_STORE": "postgres", **{k: v for k, v in postgres_env.items()
                                      if k.startswith("POSTGRES_")}}
    checkpoint = str(tmp_path / "audit.ckpt")
    app = build(postgres_env, KeyRecorder())
    onboard(app)
    for _ in range(2):
        first_login(app)  # (the customer's LoggedIn: versions 2 and 3)
    app.close()
    assert audit(env, "verify", "--checkpoint", checkpoint).exit_code == 0
    app = build(postgres_env, KeyRecorder())
    first_login(app)  # (version 4, after the checkpoint)
    app.close()
    with psycopg.connect(_dsn(env)) as conn:  # (before the checkpoint)
        conn.execute(f"DELETE FROM {env['POSTGRES_SCHEMA']}.billingstation_events "
                     "WHERE topic LIKE '%%.LoggedIn' AND originator_version = 2")
    output = refused_in_one_line(audit(env, "verify", "--checkpoint", checkpoint), DATA_ERROR)
    assert "3 events numbered 1 to 4: each aggregate numbers its events 1, 2, 3" in output


def _dsn(env: dict[str, str]) -> str:
    return " ".join(f"{k.removeprefix('POSTGRES_').lower()}={v}" for k, v in env.items()
                    if k in ("POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER",
                             "POSTGRES_PASSWORD", "POSTGRES_DBNAME"))


def test_the_history_table_says_true_and_false_as_csv_and_jsonl_do(tmp_path: Path) -> None:
    path = a_store_with_one_login(tmp_path)
    table = audit({"BS_SQLITE_PATH": str(path)}, "history").output
    assert " true " in table and " false " in table
    assert "True" not in table and "False" not in table


def test_a_store_server_that_cannot_be_reached_is_a_service_down(tmp_path: Path) -> None:
    env = {"BS_STORE": "postgres", "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "1",
           "POSTGRES_USER": "auditor", "POSTGRES_PASSWORD": "x", "POSTGRES_DBNAME": "bs",
           "POSTGRES_CONNECT_TIMEOUT": "1"}
    output = refused_in_one_line(audit(env), UNAVAILABLE)
    assert "cannot reach PostgreSQL database bs at 127.0.0.1:1" in output
    del env["POSTGRES_CONNECT_TIMEOUT"]  # the audit's own default: 5 s, not the library's 30
    output = refused_in_one_line(audit(env), UNAVAILABLE)
    assert "after 5.00 sec" in output


@pytest.mark.parametrize(("setting", "value", "said"), [
    ("POSTGRES_DBNAME", "no_such_database", 'database "no_such_database" does not exist'),
    ("POSTGRES_USER", "no_such_user", "no_such_user"),  # (the role unknown, or its password:
])  # the server's authentication says which)
def test_a_login_the_postgres_server_refuses_names_the_setting(
        postgres_env: dict[str, str], setting: str, value: str, said: str) -> None:
    """A wrong database or user was "cannot reach PostgreSQL" (69) after the pool's 5 s of
    tries: the server had answered, and a setting was to be corrected. (A wrong password
    is said the same way; CI's server trusts every login, so it is not tried here.)"""
    env = {"BS_STORE": "postgres", **{k: v for k, v in postgres_env.items()
                                      if k.startswith("POSTGRES_")}, setting: value}
    for command in (["verify"], ["history"], ["serve", "--port", "0"]):
        output = refused_in_one_line(audit(env, *command), USAGE)
        assert "refused the login (" in output and said in output, output
        assert output.rstrip().endswith(f"): check {setting}"), output  # (that one alone)


A_LOGIN = {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_DBNAME": "d", "POSTGRES_USER": "u",
           "POSTGRES_PASSWORD": "p"}  # (no server asked: psycopg.connect stands in)


@pytest.mark.parametrize(("given", "waited"), [({"POSTGRES_CONNECT_TIMEOUT": "10"}, 2),
                                                ({"POSTGRES_CONNECT_TIMEOUT": "0"}, 2), ({}, 2)])
def test_a_postgres_login_is_asked_of_the_server_for_2_s_at_most(
        monkeypatch: pytest.MonkeyPatch, given: dict[str, str], waited: int) -> None:
    """Before the pool's own tries: a server that takes the connection and never answers
    held every command for the whole POSTGRES_CONNECT_TIMEOUT first (0, psycopg's "no
    limit", for 130 s)."""
    asked: list[Any] = []

    def unanswered(**kwargs: Any) -> None:
        asked.append(kwargs)
        raise psycopg.OperationalError("connection timeout expired")

    monkeypatch.setattr(psycopg, "connect", unanswered)
    assert refused_login(A_LOGIN | given) is None  # (not answered: the pool's own tries say so)
    assert [kwargs["connect_timeout"] for kwargs in asked] == [waited]


def test_a_password_the_library_asks_for_is_not_tried_from_POSTGRES_PASSWORD(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With POSTGRES_GET_PASSWORD_TOPIC, POSTGRES_PASSWORD is a placeholder: tried, the
    server's refusal of it read as "check POSTGRES_PASSWORD", a login that would work."""
    def refused(**kwargs: Any) -> None:
        raise psycopg.OperationalError('FATAL:  password authentication failed for user "u"')

    monkeypatch.setattr(psycopg, "connect", refused)
    store = A_LOGIN | {"POSTGRES_PASSWORD": "placeholder"}
    assert refused_login(store) == ('PostgreSQL at 127.0.0.1:5432 refused the login (password '
                                    'authentication failed for user "u"): check POSTGRES_USER '
                                    "and POSTGRES_PASSWORD")
    assert refused_login(store | {"POSTGRES_GET_PASSWORD_TOPIC": "vault:password"}) is None


def a_store_of_many_pages(tmp_path: Path) -> Path:
    """A closed SQLite store whose events span many pages of the file: 300 failed logins."""
    path = tmp_path / "store.sqlite3"
    app = build(store_settings("sqlite", path), KeyRecorder())
    onboard(app)
    for _ in range(300):
        app.log_in("main01", "wrong-password")
    app.close()
    return path


def break_past_the_first_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle:middle + 8192] = b"\xff" * 8192  # two pages of garbage in the middle
    path.write_bytes(bytes(data))


def test_D_16_a_store_broken_past_its_first_page_is_refused_in_one_line(tmp_path: Path) -> None:
    path = a_store_of_many_pages(tmp_path)
    break_past_the_first_page(path)
    output = refused_in_one_line(audit({"BS_SQLITE_PATH": str(path)}), DATA_ERROR)
    assert f"{path} is a damaged SQLite database (database disk image is malformed)" in output
    streamed = audit({"BS_SQLITE_PATH": str(path)}, "history")  # rows read so far, then the line
    assert streamed.exit_code == DATA_ERROR and "Traceback" not in streamed.output
    assert streamed.output.splitlines()[-1].startswith("error: ")


def hide_rows_as_damage_may(path: Path) -> None:
    """The events table's root page made to list one child fewer: SQLite reads on without
    an error, past the rows under that child (only an integrity check sees it)."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        (root,), = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'stored_events'")
        (size,), = db.execute("PRAGMA page_size")
    data = bytearray(path.read_bytes())
    page = (root - 1) * size
    assert data[page] == 0x05, "the root is an interior page of a table's tree"
    cells = int.from_bytes(data[page + 3:page + 5], "big")
    data[page + 3:page + 5] = (cells - 1).to_bytes(2, "big")
    path.write_bytes(bytes(data))


def test_D_16_rows_a_damaged_file_hides_without_an_error_are_named_missing(
        tmp_path: Path) -> None:
    """A page lost from the events' tree hid its rows: every audit read on as if the store
    were whole (verify said "no violations" of a store with a hole)."""
    path = a_store_of_many_pages(tmp_path)
    hide_rows_as_damage_may(path)
    with contextlib.closing(sqlite3.connect(path)) as db:
        ids = [rowid for rowid, in db.execute("SELECT rowid FROM stored_events ORDER BY rowid")]
    (first, after), = [(a + 1, b) for a, b in itertools.pairwise(ids) if b != a + 1]
    env = {"BS_SQLITE_PATH": str(path)}
    output = refused_in_one_line(audit(env), DATA_ERROR)
    assert output.strip() == (
        f"error: the event store is missing events: notifications {first} to {after - 1} "
        f"(before {after}) are absent: a SQLite store numbers its events one after another, "
        "so rows were deleted or the file is damaged")
    streamed = audit(env, "history", "--format", "csv")
    assert streamed.exit_code == DATA_ERROR and "Traceback" not in streamed.output
    assert streamed.stderr.strip().startswith("error: the event store is missing events: ")
    assert streamed.stderr.strip().endswith("is only part of the period")
    page = audit(env, "history", "--format", "html")  # (a page is written whole, or not at all)
    assert page.exit_code == DATA_ERROR and page.stdout == "" and "part of the period" not in (
        page.stderr)


def test_D_16_a_store_another_program_writes_while_it_is_read_is_no_verdict(
        tmp_path: Path) -> None:
    """A store with no write-ahead log beside it is read as unchanging (no lock taken, no
    file made beside it): a writer that came meanwhile moved its pages under the reader,
    which then named rows "deleted" (a range running backwards) of a healthy store."""
    path = a_store_of_many_pages(tmp_path)
    reader = bootstrap.audit_reader(store=store_settings("sqlite", path))
    replayed = audit_of.replay(reader, page=100)
    assert next(replayed) is not None  # (its first page read)
    writer = build(store_settings("sqlite", path), KeyRecorder())
    writer.log_in("main01", "wrong-password")
    writer.close()  # (its log checkpointed into the file)
    with pytest.raises(StoreChanged) as changed:
        list(replayed)
    reader.close()
    assert changed.value.what == "was written while it was read"
    assert "nothing is concluded; audit it again when nothing writes to it" in str(changed.value)
    assert audit({"BS_SQLITE_PATH": str(path)}).exit_code == 0  # (the store itself is whole)


def test_a_snapshot_stored_among_the_events_is_refused_by_name(tmp_path: Path) -> None:
    """A snapshot row put among the events rewrote an account's state as the services read
    it (another password: the owner's refused, the forger's accepted), and verify read past
    it: "no violations" (the auditor's probe). The store keeps snapshots apart."""
    path = a_store_with_one_login(tmp_path)
    app = build(store_settings("sqlite", path), KeyRecorder())
    account = app.account("main01")
    assert account is not None
    app.take_snapshot(account.id)
    app.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT INTO stored_events (originator_id, originator_version, topic, state) "
                   "SELECT originator_id, originator_version + 1, topic, state "
                   "FROM stored_snapshots")
    line = refused_in_one_line(audit({"BS_SQLITE_PATH": str(path)}), 65)
    assert f"version {account.version + 1} is a snapshot, which the store keeps apart" in line


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_snapshot_its_events_disagree_with_is_refused_by_verify_snapshots(
        tmp_path: Path, kind: str, request: pytest.FixtureRequest) -> None:
    """main01's snapshot rewritten in the snapshots' own table with another password's
    digest: the services believed it (the forger's password logged in, the owner's was
    refused) and verify, which reads only events, found nothing. ``--snapshots`` holds each
    aggregate's latest snapshot against its events, and names the field, not its value."""
    settings = (store_settings("sqlite", tmp_path / "store.sqlite3") if kind == "sqlite"
                else request.getfixturevalue("postgres_env"))
    env = ({"BS_SQLITE_PATH": settings["SQLITE_DBNAME"]} if kind == "sqlite" else
           {"BS_STORE": "postgres", **{k: v for k, v in settings.items()
                                       if k.startswith("POSTGRES_")}})
    app = build(settings, KeyRecorder())
    onboard(app)
    first_login(app)
    assert "snapshots: none in the store, nothing to check" in audit(
        env, "verify", "--snapshots").output  # (it said "the latest of 0 aggregates")
    account = app.account("main01")
    assert account is not None
    app.take_snapshot(account.id)
    forged = app.hasher.digest("forger's password")
    app.close()
    lawful = audit(env, "verify", "--snapshots")
    assert lawful.exit_code == 0 and "verified: no violations" in lawful.output
    assert "snapshots: the latest of 1 aggregate, as their events make them" in lawful.output
    owners = _snapshot_rewritten(env, "password_digest", forged)
    app = build(settings, KeyRecorder())
    assert isinstance(app.log_in("main01", "forger's password"), KeyEntry | TopPage)
    assert not isinstance(app.log_in("main01", PASSWORD), KeyEntry | TopPage)
    app.close()
    assert audit(env).exit_code == 0  # (the events alone: every login lawful)
    result = audit(env, "verify", "--snapshots")
    refused_in_one_line(result, 65, last_only=True)
    assert (f"error: the event store holds a snapshot its events disagree with: Customer "
            f"{account.id} at version {account.version}: its password_digest is not what "
            "its events make it (in ") in result.stderr
    assert "the services read a snapshot as its aggregate's state" in result.stderr
    assert forged not in result.output and owners not in result.output


def test_verify_snapshots_of_several_stores_names_the_store_whose_snapshot_is_not_its_events(
        tmp_path: Path) -> None:
    """Of two stores, the second's snapshot renumbered past its account's events (the
    services would read it as the account's latest state): that store named, and why."""
    stores = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        stores.append(a_store_with_one_login(tmp_path / name))
        app = build(store_settings("sqlite", stores[-1]), KeyRecorder())
        account = app.account("main01")
        assert account is not None
        app.take_snapshot(account.id)
        app.close()
    assert audit({}, "verify", "--snapshots", *map(str, stores)).exit_code == 0
    with contextlib.closing(sqlite3.connect(stores[1])) as db, db:
        db.execute("UPDATE stored_snapshots SET originator_version = originator_version + 5")
    result = audit({}, "verify", "--snapshots", *map(str, stores))
    refused_in_one_line(result, 65, last_only=True)
    assert account is not None  # (the second store's)
    assert (f"Customer {account.id} at version {account.version + 5}: its aggregate's events "
            f"end at version {account.version} (in {stores[1]})") in result.stderr


@pytest.mark.parametrize(("tampering", "said"), [
    ("UPDATE stored_snapshots SET originator_id = 'not an id'",
     "its table of snapshots holds a row of no aggregate's id or version"),
    ("UPDATE stored_events SET originator_version = originator_version + 100 WHERE "
     "originator_version = 2 AND topic LIKE 'domain.accounts:Customer.%'",
     "it or its events cannot be replayed (OriginatorVersionError)"),
    ("UPDATE stored_snapshots SET state = CAST('not json' AS BLOB)",
     "holds a snapshot that cannot be read: the snapshot of ")],
    ids=["a snapshot of no id", "an event renumbered in place beneath it", "no JSON"])
def test_verify_snapshots_refuses_what_cannot_be_rebuilt_in_one_line(
        tmp_path: Path, tampering: str, said: str) -> None:
    """Both were a traceback, and exit 1 (read as violations) (the reviewer's probe)."""
    path = a_store_with_one_login(tmp_path)
    app = build(store_settings("sqlite", path), KeyRecorder())
    first_login(app)  # (a second login: main01's event 2 is beneath the snapshot's last)
    account = app.account("main01")
    assert account is not None
    app.take_snapshot(account.id)
    app.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        assert db.execute(tampering).rowcount == 1
    result = audit({"BS_SQLITE_PATH": str(path)}, "verify", "--snapshots")
    refused_in_one_line(result, 65)
    assert said in result.stderr


def _snapshot_rewritten(env: dict[str, str], field: str, value: str) -> str:
    """The one snapshot in the store, its ``field`` rewritten; what it held."""
    if "BS_SQLITE_PATH" in env:
        db: Any = contextlib.closing(sqlite3.connect(env["BS_SQLITE_PATH"]))
        table, mark = "stored_snapshots", "?"
    else:
        db = psycopg.connect(_dsn(env))
        table, mark = f"{env['POSTGRES_SCHEMA']}.billingstation_snapshots", "%s"
    with db as conn:
        [(state,)] = conn.execute(f"SELECT state FROM {table}").fetchall()
        snapshot = json.loads(bytes(state))
        held, snapshot["state"][field] = snapshot["state"][field], value
        conn.execute(f"UPDATE {table} SET state = {mark}", (json.dumps(snapshot).encode(),))
        if "BS_SQLITE_PATH" in env:
            conn.commit()
    return str(held)


@pytest.mark.parametrize("how", ["whole", "checkpoint", "with another store"])
def test_an_accounts_events_stored_out_of_their_order_are_refused_by_name(
        tmp_path: Path, how: str) -> None:
    """The store rewritten with main01's 通知キー 利用する moved after its next login: verify
    read the setting too late, took the login for one that needed no key, and found nothing
    (the auditor's probe). An aggregate's events are stored in the order it numbered them:
    the one found out of place is named, and the row it is in, however verify reads."""
    path = tmp_path / "store.sqlite3"
    app = build(store_settings("sqlite", path), KeyRecorder())
    set_notify_key(app, onboard(app))
    first_login(app)
    app.close()
    version, notification = moved_to_the_end(path, "NotifyKeyEnabled")
    if how == "with another store":  # (verified in parallel: the other's findings stand)
        other = build(store_settings("sqlite", tmp_path / "other.sqlite3"), KeyRecorder())
        onboard(other)
        first_login(other)
        other.close()
        result = audit({}, "verify", str(path), str(tmp_path / "other.sqlite3"))
        assert result.exit_code == 65, result.output
        said = result.output
    else:
        checkpoint = ["--checkpoint", str(tmp_path / "a.ckpt")] if how == "checkpoint" else []
        said = refused_in_one_line(audit({"BS_SQLITE_PATH": str(path)}, "verify", *checkpoint),
                                   65)
    assert f"notification {notification}: aggregate " in said, said
    assert f"its event {version} is stored after its event {version + 1}" in said, said


def test_a_login_attempts_events_stored_out_of_their_order_are_refused_by_name(
        tmp_path: Path) -> None:
    """A wrong key's KeyRejected moved after the attempt's KeyVerified: the key read as
    accepted before any wrong entry (D-4 counts them then). An attempt's events are folded
    only in the order it numbered them."""
    path = tmp_path / "store.sqlite3"
    keys = KeyRecorder()
    app = build(store_settings("sqlite", path), keys)
    keyed_main(app)
    entry = app.log_in("main01", PASSWORD)
    assert isinstance(entry, KeyEntry)
    app.enter_key(entry.attempt_id, "000000000000")
    assert isinstance(app.enter_key(entry.attempt_id, keys.keys[EMAIL][-1]), TopPage)
    app.close()
    version, notification = moved_to_the_end(path, "KeyRejected")
    line = refused_in_one_line(audit({"BS_SQLITE_PATH": str(path)}), 65)
    assert f"its event {version + 1} is stored where its event {version} is due" in line
    with contextlib.closing(sqlite3.connect(path)) as db:  # (named: the row read instead)
        [(at,)] = db.execute("SELECT rowid FROM stored_events WHERE topic LIKE '%KeyVerified'")
    assert f"notification {at}: login attempt " in line, line
    assert at != notification
    history = audit({"BS_SQLITE_PATH": str(path)}, "history", "--format", "csv")
    assert f"notification {at}: login attempt " in refused_in_one_line(
        history, 65, last_only=True)  # (the attempts before it written)


def _a_login_stamped_a_day_ahead(folder: Path) -> tuple[Path, int, datetime]:
    """A store of three logins, the first login's completion (both its halves, one save's
    clock) stamped a day ahead: the store, that row, and its stamp."""
    path = a_store_with_one_login(folder)
    app = build(store_settings("sqlite", path), KeyRecorder())
    for _ in range(2):
        first_login(app)
    app.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        (rowid,) = db.execute("SELECT rowid FROM stored_events WHERE topic LIKE "
                              "'%.LoginCompleted' ORDER BY rowid").fetchone()
        for row in (rowid, rowid + 1):  # the login, and its account's half
            topic, state = db.execute("SELECT topic, state FROM stored_events WHERE rowid = ?",
                                      (row,)).fetchone()
            assert topic.endswith(("LoginCompleted", "LoggedIn"))
            data = json.loads(state)
            ahead = datetime.fromisoformat(data["timestamp"]["_data_"]) + timedelta(days=1)
            data["timestamp"]["_data_"] = ahead.isoformat()
            db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                       (json.dumps(data).encode(), row))
    return path, rowid, ahead


def test_verify_of_several_stores_names_the_store_of_the_first_event_out_of_order(
        tmp_path: Path) -> None:
    """Of several stores, the note said only the count: which store, and which events, was
    left to find."""
    (tmp_path / "clean").mkdir()
    (tmp_path / "ahead").mkdir()
    clean = a_store_with_one_login(tmp_path / "clean")
    ahead, _, _ = _a_login_stamped_a_day_ahead(tmp_path / "ahead")
    result = audit({}, "verify", str(clean), str(ahead), "--html", str(tmp_path / "a.html"))
    note = next(line for line in result.output.splitlines() if line.startswith("note: "))
    assert note.startswith(f"note: the first, in {ahead}, of attempt "), note
    assert f"最初は{ahead} の試行 " in (tmp_path / "a.html").read_text(encoding="utf-8")


def test_verify_says_when_attempt_events_are_stamped_out_of_order(tmp_path: Path) -> None:
    """One event stamped a day ahead (a writer's clock, or a changed row) made every attempt
    open then look abandoned, and nothing said why: the summary counts such events and a
    note names the first, and what it puts in doubt."""
    path, rowid, ahead = _a_login_stamped_a_day_ahead(tmp_path)
    result = audit({"BS_SQLITE_PATH": str(path)}, "verify", "--html", str(tmp_path / "a.html"))
    summary, note = result.output.splitlines()[:2]
    assert ("6 login attempt events stamped over a minute before one stored ahead of them "
            "(time-based outcomes unsure)") in summary
    assert note.startswith("note: the first, of attempt ") and note.endswith(
        "may be misjudged")
    changed = sqlite3.connect(path).execute(
        "SELECT originator_id FROM stored_events WHERE rowid = ?", (rowid,)).fetchone()[0]
    assert f"stored after an event of attempt {UUID(changed)} stamped " \
        f"{jst(ahead, seconds=True)} JST" in note
    page = (tmp_path / "a.html").read_text(encoding="utf-8")  # (its page said only the count)
    assert f"先に記録された試行 {UUID(changed)} のイベントは {jst(ahead, seconds=True)} の時刻" \
           in page.split("<h2>検査したもの</h2>")[0]  # (beside the verdict)
    with contextlib.closing(sqlite3.connect(path)) as db, db:  # an attempt's request a day
        (row, state) = db.execute("SELECT rowid, state FROM stored_events WHERE topic LIKE "
                                  "'%.LoginRequested' ORDER BY rowid").fetchone()  # ahead: its
        data = json.loads(state)  # next event is the first stamped before one stored ahead
        data["timestamp"]["_data_"] = (datetime.fromisoformat(data["timestamp"]["_data_"])
                                       + timedelta(days=1)).isoformat()
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                   (json.dumps(data).encode(), row))
    note = audit({"BS_SQLITE_PATH": str(path)}, "verify", "--html",
                 str(tmp_path / "b.html")).output.splitlines()[1]
    assert "is stamped" in note and "stored after an earlier event of its own stamped" in note
    assert "先に記録された同じ試行のイベントは" in (tmp_path / "b.html").read_text(encoding="utf-8")


def test_a_checkpoint_an_earlier_verify_made_is_refused_by_name(tmp_path: Path) -> None:
    """One made before verify counted events out of order would under-count them."""
    checkpoint = tmp_path / "audit.ckpt"
    checkpoint.write_bytes(b"billing-station verify checkpoint 12\n" + b"\0" * 40)
    said = refused_in_one_line(audit({"BS_SQLITE_PATH": str(a_store_with_one_login(tmp_path))},
                                     "verify", "--checkpoint", str(checkpoint)), USAGE)
    assert "was made by an earlier version of verify: remove it" in said


def test_verify_of_several_stores_names_one_that_is_no_store_and_gives_the_others_findings(
        tmp_path: Path) -> None:
    """An empty or foreign file among several stores, or one damaged past its first page,
    stopped verify at it: the others' findings were never shown."""
    for folder in ("good", "broken"):
        (tmp_path / folder).mkdir()
    good = a_store_with_one_login(tmp_path / "good")
    broken = a_store_of_many_pages(tmp_path / "broken")
    break_past_the_first_page(broken)
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    result = audit({}, "verify", str(good), str(empty), str(broken))
    assert result.exit_code == DATA_ERROR, result.output
    assert result.output.startswith("summary of what was read: ")  # (the good store's and
    assert "1 completed" in result.output.splitlines()[0]  # the broken one's up to its damage)
    assert f"error: {empty} is not a Billing Station event store" in result.stderr, result.stderr
    assert f"error: {broken} is a damaged SQLite database" in result.stderr, result.stderr
    assert "not verified whole: 2 of 3 stores could not be read whole" in result.output


def test_a_postgres_store_numbers_its_events_with_gaps_and_verifies_whole(
        postgres_env: dict[str, str]) -> None:
    """PostgreSQL's sequence gives no number back when a write is rolled back (a lost race
    does it): a gap there is no sign of a missing event, and verify reads on."""
    app = build(postgres_env, KeyRecorder())
    onboard(app)
    first = app.recorder.select_notifications(start=None, limit=1)[0]
    with pytest.raises(IntegrityError):  # (its number is spent)
        app.recorder.insert_events([StoredEvent(first.originator_id, first.originator_version,
                                                first.topic, first.state)])
    first_login(app)
    ids = [n.id for n in app.recorder.select_notifications(start=None, limit=1000)]
    app.close()
    assert ids != list(range(1, len(ids) + 1))  # a gap
    env = {"BS_STORE": "postgres", **{k: v for k, v in postgres_env.items()
                                      if k.startswith("POSTGRES_")}}
    result = audit(env)
    assert result.exit_code == 0, result.output
    assert "verified: no violations" in result.output
    table = f"{env['POSTGRES_SCHEMA']}.billingstation_events"
    with psycopg.connect(_dsn(env)) as conn:  # an event gone from an aggregate's middle: by
        [(attempt,)] = conn.execute(  # its versions, where the notification numbers cannot
            f"DELETE FROM {table} WHERE originator_version = 2 "  # tell it
            "AND topic LIKE '%%.PasswordAccepted' RETURNING originator_id").fetchall()
        [(third,)] = conn.execute(f"SELECT notification_id FROM {table} WHERE originator_id "
                                  "= %s AND originator_version = 3", (attempt,)).fetchall()
    refused = audit(env)
    output = refused_in_one_line(refused, DATA_ERROR, last_only=True)
    assert f"notification {third}: login attempt {attempt}: its event 3 is stored where its " \
        "event 2 is due" in output  # (found as its
    assert "VIOLATION" not in refused.output  # attempt is read: not judged on what is left)


def test_serve_on_a_file_that_is_no_store_or_a_server_that_is_down_says_so(
    tmp_path: Path
) -> None:
    text = tmp_path / "notes.sqlite3"
    text.write_text("not a database")
    output = refused_in_one_line(audit({"BS_SQLITE_PATH": str(text)}, "serve", "--port", "0"),
                                 DATA_ERROR)
    assert "is not a Billing Station event store" in output
    down = {"BS_STORE": "postgres", "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "1",
            "POSTGRES_USER": "x", "POSTGRES_PASSWORD": "x", "POSTGRES_DBNAME": "bs",
            "POSTGRES_CONNECT_TIMEOUT": "1"}
    output = refused_in_one_line(audit(down, "serve", "--port", "0"), UNAVAILABLE)
    assert "cannot reach PostgreSQL database bs at 127.0.0.1:1" in output


@pytest.mark.parametrize(("schema", "reason"), [
    (None, "(it holds no tables)"),
    ("CREATE TABLE t (x)", "(it holds another program's tables: t)"),
], ids=["no tables", "foreign"])
def test_D_16_the_refusal_gives_the_files_reason_not_a_write_the_audit_never_tried(
    tmp_path: Path, schema: str | None, reason: str
) -> None:
    path = tmp_path / "other.sqlite3"
    path.touch()
    if schema:
        with sqlite3.connect(path) as db:
            db.execute(schema)
    for command in (["verify"], ["history"], ["verify", str(path)]):
        output = refused_in_one_line(audit({"BS_SQLITE_PATH": str(path)}, *command), DATA_ERROR)
        assert output.strip().endswith(reason) and "readonly" not in output, output


@pytest.mark.parametrize(("setting", "value"), [
    ("POSTGRES_PORT", "abc"), ("POSTGRES_PORT", "-5"), ("POSTGRES_CONNECT_TIMEOUT", "abc"),
    ("POSTGRES_POOL_SIZE", "x"), ("POSTGRES_MAX_OVERFLOW", "-1"), ("POSTGRES_CONN_MAX_AGE", "x"),
    ("POSTGRES_LOCK_TIMEOUT", "x"), ("POSTGRES_PRE_PING", "maybe"),
    ("POSTGRES_POOL_SIZE", "0\0POSTGRES_MAX_OVERFLOW=0"),  # no connection at all
    ("POSTGRES_SCHEMA", "a b"),  # (the library's SQL failed: "not a store")
    ("POSTGRES_SCHEMA", "MySchema"),  # (its types looked up folded to lower case: not found)
    ("POSTGRES_SCHEMA", "x; DROP TABLE stored_events"),
    ("POSTGRES_SCHEMA", "user"),  # (a word PostgreSQL reserves: "syntax error", "not a store")
])
def test_a_postgres_setting_the_library_cannot_parse_is_named_at_once(
    setting: str, value: str
) -> None:
    """Not a traceback, and not a wait for a server that is not down (a port of 'abc')."""
    env = {"BS_STORE": "postgres", "POSTGRES_HOST": "127.0.0.1", "POSTGRES_USER": "x",
           "POSTGRES_PASSWORD": "x", "POSTGRES_DBNAME": "bs"}
    first, *more = value.split("\0")
    env |= {setting: first} | dict(pair.split("=") for pair in more)
    output = refused_in_one_line(audit(env), USAGE)
    assert output.startswith(f"error: {setting} "), output


def test_a_lazy_postgres_pool_is_a_setting_the_library_takes() -> None:
    env = {"POSTGRES_HOST": "h", "POSTGRES_USER": "u", "POSTGRES_PASSWORD": "p",
           "POSTGRES_DBNAME": "d", "POSTGRES_POOL_SIZE": "0", "POSTGRES_PORT": ""}
    assert store_settings("postgres", environ=env)["POSTGRES_POOL_SIZE"] == "0"


AES = "eventsourcing.cryptography:AESCipher"
KEYS = ("7EKThhwuq8YGyazVVp32k3LTTwXi5/ele5Z3V960SE4=",  # test keys only
        "Q2IEkYmtbK3Lpk9QvC8o1x1RvPfe3WJGLjvwDJyFsDo=")


@pytest.mark.parametrize(("cipher", "reason"), [
    ({"CIPHER_TOPIC": "nope:AESCipher"}, "CIPHER_TOPIC cannot be used: Failed to resolve "
     "topic 'nope:AESCipher': No module named 'nope' (e.g. eventsourcing.cryptography:AESCipher)"),
    ({"CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher"}, "CIPHER_TOPIC needs CIPHER_KEY: a "
     "base64 key of 16, 24 or 32 bytes, e.g. AESCipher.create_key(32)"),
    ({"CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher", "CIPHER_KEY": "c2hvcnQ="},
     "CIPHER_KEY cannot be used: Invalid key size: 5 not in (16, 24, 32) (it must be a base64 "
     "key of 16, 24 or 32 bytes"),
    ({"CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher", "CIPHER_KEY": "abc"},
     "CIPHER_KEY cannot be used: Incorrect padding (it must be a base64 key"),
    ({"CIPHER_KEY": "7EKThhwuq8YGyazVVp32k3LTTwXi5/ele5Z3V960SE4="},  # (the library's default
     "CIPHER_KEY needs CIPHER_TOPIC=eventsourcing.cryptography:AESCipher"),  # needs Crypto)
    ({"CIPHER_TOPIC": "eventsourcing.compressor:ZlibCompressor", "CIPHER_KEY": "abc"},
     "CIPHER_TOPIC cannot be used: it names no Cipher of the eventsourcing library's (e.g. "
     "eventsourcing.cryptography:AESCipher)"),  # (not the key's fault)
    ({"CIPHER_TOPIC": "builtins:print", "CIPHER_KEY": KEYS[0]},  # (it would print the key)
     "CIPHER_TOPIC cannot be used: it names no Cipher"),
    ({"COMPRESSOR_TOPIC": "nope"}, "COMPRESSOR_TOPIC cannot be used"),
    ({"COMPRESSOR_TOPIC": "os:system"}, "COMPRESSOR_TOPIC cannot be used: it names no "
     "Compressor of the eventsourcing library's (e.g. eventsourcing.compressor:ZlibCompressor)"),
], ids=["unknown topic", "no key", "short key", "not base64", "no topic", "no cipher",
        "a function", "unknown compressor", "no compressor"])
def test_a_cipher_or_compressor_that_cannot_be_used_is_named(
    tmp_path: Path, cipher: dict[str, str], reason: str
) -> None:
    store = {"BS_SQLITE_PATH": str(tmp_path / "s.sqlite3")}
    for env, command in ((store, ["verify"]), (store, ["serve", "--port", "0"]),
                         ({}, ["simulate", "office", "--days", "1", "--out", str(tmp_path / "o")]),
                         ({}, ["demo", "--out", str(tmp_path / "demo")])):
        output = refused_in_one_line(audit(env | cipher, *command), USAGE)
        assert reason in output, output
    assert list(tmp_path.iterdir()) == []  # nothing written, no folder made


def test_a_compressor_module_the_library_takes_is_taken() -> None:
    """The library takes a module with compress and decompress (its own tests use zlib)."""
    store = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "COMPRESSOR_TOPIC": "zlib"}
    assert checked_store(dict(store)) == store


@pytest.mark.parametrize(("settings", "given"), [
    ({}, "no CIPHER_KEY, no COMPRESSOR_TOPIC"),
    ({"CIPHER_TOPIC": AES, "CIPHER_KEY": KEYS[1]}, "a CIPHER_KEY, no COMPRESSOR_TOPIC"),
    ({"CIPHER_TOPIC": AES, "CIPHER_KEY": KEYS[0],
      "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"},
     "a CIPHER_KEY, a COMPRESSOR_TOPIC"),
], ids=["no key", "another key", "a compressor it was not written with"])
def test_an_encrypted_store_read_without_its_settings_is_not_called_a_foreign_one(
    tmp_path: Path, settings: dict[str, str], given: str
) -> None:
    """The events are this system's; the settings to read them are not the ones given:
    said so, naming what was given (never the key), exit 65, the store left as it was."""
    path = tmp_path / "store.sqlite3"
    app = build(store_settings("sqlite", path) | {"CIPHER_TOPIC": AES, "CIPHER_KEY": KEYS[0]},
                KeyRecorder())
    onboard(app)
    app.close()
    before = files(tmp_path)
    for command in (["verify"], ["serve", "--port", "0"]):  # (serve: before any worker)
        output = refused_in_one_line(audit({"BS_SQLITE_PATH": str(path)} | settings, *command),
                                     DATA_ERROR)
        assert f"{path} holds Billing Station events that cannot be read with the settings " \
               f"given ({given})" in output, output
        assert "not a Billing Station event store" not in output and KEYS[0] not in output
        assert files(tmp_path) == before
    readable = {"BS_SQLITE_PATH": str(path), "CIPHER_TOPIC": AES, "CIPHER_KEY": KEYS[0]}
    assert audit(readable).exit_code == 0  # with its own settings


@pytest.mark.parametrize(("given", "options"), [
    (True, ["--html", "{store}"]), (False, ["--html", "{store}"]),
    (True, ["--checkpoint", "{store}"]), (True, ["--html", "{store}-wal"]),
    (True, ["--html", "{folder}/../{folder_name}/store.sqlite3"]),  # another name, one file
    (True, ["--html", "{folder}/hard-link.html"]),  # another name, one file (a hard link)
    (True, ["--html", "{folder}/same", "--checkpoint", "{folder}/same"]),
], ids=["html given", "html configured", "checkpoint", "wal", "other name", "hard link",
        "html=checkpoint"])
def test_D_16_verify_writes_nothing_over_the_store_it_reads(
    tmp_path: Path, given: bool, options: list[str]
) -> None:
    path = a_store_with_one_login(tmp_path)
    os.link(path, tmp_path / "hard-link.html")
    before = files(tmp_path)
    options = [o.format(store=path, folder=tmp_path, folder_name=tmp_path.name)
               for o in options]
    output = refused_in_one_line(
        audit({"BS_SQLITE_PATH": str(path)}, "verify", *options, *([str(path)] if given else [])),
        USAGE)
    assert output.startswith(f"error: Invalid value for '{options[-2]}': "), output
    assert files(tmp_path) == before


@pytest.mark.parametrize(("given", "said"), [("/dev/null", "/dev/null is not a regular file"),
                                             ("/no/such.sqlite3", "no such file: /no/such")])
def test_a_store_that_is_no_file_is_called_what_it_is(given: str, said: str) -> None:
    assert said in refused_in_one_line(audit({}, "verify", given), USAGE)


def test_verify_counts_one_in_the_singular(tmp_path: Path) -> None:
    """(It printed "1 login attempts" and "1 violation(s)".)"""
    result = audit({}, "verify", str(a_store_with_one_login(tmp_path)))
    summary = result.output.splitlines()[0]
    assert ", 1 login attempt, 1 completed" in summary and "attempts" not in summary


