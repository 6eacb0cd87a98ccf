"""simulate at the command line: its outputs in their folder, the earlier run set aside and
put back, full disks, closed outputs, Ctrl-C and kills, settings it does not read."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic, sleep, time
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteConnection, SQLiteFactory
from tqdm import tqdm

import simulations.experiments
from application.adapters.unflushed_sqlite import UnflushedPool, unflushed
from application.bootstrap import store_settings
from billing_station import exits
from billing_station.cli import main
from billing_station.run_output import discarded
from simulations.experiments import simulate
from simulations.run_folder import (
    DROPPED,
    PARTIAL,
    RUN_FOLDERS,
    SET_ASIDE,
    STORE,
    clear_earlier_run,
    drop_earlier_run,
    earlier_stores,
    mark_compared,
    put_back_earlier_run,
    set_aside_earlier_run,
    shard_folder,
    written_since,
)
from simulations.runner import Simulation
from simulations.scenario import Scenario
from simulations.varied import VALIDITY, VARIED
from tests.small_runs import TINY, TINY_TOML, run


def rows(store: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(store) as db:
        return db.execute("SELECT originator_id, originator_version, topic, state "
                          "FROM stored_events ORDER BY rowid").fetchall()


def test_cli_simulate_writes_the_report_and_plots_and_audits_the_store(tmp_path: Path) -> None:
    scenario = tmp_path / "small.toml"
    scenario.write_text("days = 3\nhash_cost = 4\n[population]\ncustomers = 5\n")
    result = CliRunner().invoke(main, ["simulate", str(scenario), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Hashing: scrypt N=2^4" in result.output  # the lowered cost is stated
    assert "no violations" in result.output
    out = tmp_path / "out"
    assert json.loads((out / "report.json").read_text())["scenario"] == "small"
    for plot in ("time-to-login.png", "expiries-by-hour.png"):
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_simulate_on_a_full_disk_says_so_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store that cannot be written (SQLite's own 'database or disk is full', here from a
    page limit) is one line naming the store's folder, exit 74, no traceback; the store
    stopped short is removed, as at Ctrl-C (it verified clean, and kept the disk full)."""
    create = UnflushedPool._create_connection

    def small_disk(pool: UnflushedPool) -> SQLiteConnection:
        connection = create(pool)
        connection._sqlite_conn.execute("PRAGMA max_page_count=40")
        return connection

    monkeypatch.setattr(UnflushedPool, "_create_connection", small_disk)
    scenario = tmp_path / "small.toml"
    scenario.write_text("days = 3\nhash_cost = 4\n[population]\ncustomers = 30\n")
    result = CliRunner().invoke(main, ["simulate", str(scenario), "--out", str(tmp_path / "out")])
    assert result.exit_code == exits.IO_ERROR, result.output
    assert "Traceback" not in result.output
    assert result.output.splitlines()[-1] == (
        f"error: the simulation's store in {tmp_path / 'out'} could not be written: "
        f"database or disk is full; nothing of the run is kept in {tmp_path / 'out'}")
    assert not (tmp_path / "out").exists()  # (the run made it: gone too)


def test_a_simulations_store_whose_close_cannot_reach_the_disk_says_so(tmp_path: Path) -> None:
    """Nothing is flushed while a run plays: the checkpoint as its store closes puts it on
    the disk whole, and a failure there (a full disk) is raised, not a run said kept."""
    app = Application[Any](unflushed(store_settings("sqlite", tmp_path / "s.sqlite3")))
    app.save(Aggregate())
    factory = app.factory
    assert isinstance(factory, SQLiteFactory)
    pool = factory.datastore.pool
    connection = pool.get_connection()

    def no_checkpoint(action: int, what: str | None, *_: object) -> int:
        return sqlite3.SQLITE_DENY if (action, what) == (sqlite3.SQLITE_PRAGMA,
                                                        "wal_checkpoint") else sqlite3.SQLITE_OK

    connection._sqlite_conn.set_authorizer(no_checkpoint)
    pool.put_connection(connection)
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        app.close()


def test_a_run_whose_reader_stops_reading_is_kept_whole_and_one_without_output_never_runs(
        tmp_path: Path) -> None:
    """`simulate | true` stopped at its first line of report, leaving its store and none of
    its reports; `simulate >&-` ran whole, then said "nothing could be written" beside the
    store it had written."""
    (tmp_path / "s.toml").write_text(TINY_TOML)
    command = [sys.executable, "-m", "billing_station.cli", "simulate", str(tmp_path / "s.toml")]
    read, write = os.pipe()
    os.close(read)  # (the reader gone before the first line)
    gone = subprocess.run([*command, "--out", str(tmp_path / "gone")], stdout=write,
                          stderr=subprocess.PIPE, text=True, timeout=300)
    os.close(write)
    assert gone.returncode == exits.BROKEN_PIPE, gone.stderr
    assert gone.stderr.splitlines()[-1] == (
        f"note: the output's reader stopped reading: the run is kept in {tmp_path / 'gone'}, "
        f"unaudited (to audit it: python -m billing_station.cli verify {tmp_path / 'gone' / STORE})")
    assert {"report.txt", "report.html", STORE} <= {p.name for p in
                                                    (tmp_path / "gone").iterdir()}
    closed = subprocess.run([*command, "--out", str(tmp_path / "closed")],
                            preexec_fn=lambda: os.close(1), stderr=subprocess.PIPE, text=True,
                            timeout=300)
    assert closed.returncode == exits.IO_ERROR and "Traceback" not in closed.stderr
    assert closed.stderr.strip() == "error: the output is closed (>&-): nothing could be written"
    assert not (tmp_path / "closed").exists()


def test_an_out_that_links_to_nothing_is_said_to(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(TINY_TOML)
    (tmp_path / "out").symlink_to(tmp_path / "nowhere")
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out",
                                       str(tmp_path / "out")])
    assert result.exit_code == 2 and (
        f"Invalid value for '--out': {tmp_path / 'out'}: a link to {tmp_path / 'nowhere'}, "
        "which does not exist") in result.output


def test_a_folder_another_run_is_using_is_refused_and_left_to_it(tmp_path: Path) -> None:
    """A second run into the folder removed the first's store while it ran; the first then
    audited the second's store and vouched for it as its own."""
    (tmp_path / "s.toml").write_text(TINY_TOML)
    out = tmp_path / "out"
    out.mkdir()
    running = os.open(out, os.O_RDONLY | os.O_DIRECTORY)  # (as a run in another process
    fcntl.flock(running, fcntl.LOCK_EX)                    # holds it)
    refused = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out", str(out)])
    os.close(running)
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert (f"Invalid value for '--out': another simulate is running in {out}: wait for it "
            "to end, or choose another folder") in refused.output
    assert list(out.iterdir()) == []
    ran = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out", str(out)])
    again = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out", str(out)])
    assert ran.exit_code == again.exit_code == 0, again.output  # (a run's lock ends with it)


def test_a_run_s_compared_run_folder_and_the_run_are_not_run_in_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--compare` at OUT writes its runs in OUT/validity-5... (in shards, in their shard
    folders): a run with --out OUT/validity-5 meanwhile was its own folder's only, and
    removed the compared run's store (and a compare at OUT, while such a run ran, wrote
    over it). Named as '.', through a link or from a shard folder below, it still was."""
    (tmp_path / "s.toml").write_text(TINY_TOML)
    out = tmp_path / "out"
    inner = out / VALIDITY.folder_of(5)
    inner.mkdir(parents=True)
    (tmp_path / "alias").symlink_to(inner)
    for held, argv_out, busy in [
            (fcntl.LOCK_EX, str(inner), out), (fcntl.LOCK_SH, str(out), out),
            (fcntl.LOCK_EX, ".", out), (fcntl.LOCK_EX, str(tmp_path / "alias"), out),
            (fcntl.LOCK_EX, str(inner / shard_folder(0, 2)), out)]:
        monkeypatch.chdir(inner if argv_out == "." else tmp_path)
        running = os.open(out, os.O_RDONLY | os.O_DIRECTORY)  # (a compare at out; a run in
        fcntl.flock(running, held)                             # out/validity-5)
        refused = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out",
                                            argv_out])
        os.close(running)
        assert refused.exit_code == 2 and "Traceback" not in refused.output, refused.output
        assert f"another simulate is running in {busy}" in refused.output, argv_out
        assert list(inner.iterdir()) == []
    beside = os.open(out, os.O_RDONLY | os.O_DIRECTORY)  # a run in out/validity-10 holds
    fcntl.flock(beside, fcntl.LOCK_SH)                  # out as this one does: shared
    ran = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out", str(inner)])
    os.close(beside)
    assert ran.exit_code == 0, ran.output  # (no run above: its own folder's, beside another)


def test_cli_simulate_whose_report_meets_a_full_disk_keeps_nothing_either(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store written, then a plot on a disk that filled: the store and the reports
    written so far were kept, the disk still full."""
    def full_disk(_: object, folder: Path) -> list[Path]:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "time-to-login.png"))

    monkeypatch.setattr("simulations.plots.single", full_disk)
    (tmp_path / "s.toml").write_text(TINY_TOML)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out", str(out)])
    assert result.exit_code == exits.IO_ERROR, result.output
    assert result.output.splitlines()[-1] == (
        f"error: No space left on device ({out / 'time-to-login.png'}); nothing of the run is "
        f"kept in {out}")
    assert not out.exists()


def test_a_simulations_store_closes_whole_with_a_save_cut_short_by_ctrl_c(
        tmp_path: Path) -> None:
    """A Ctrl-C between a save's BEGIN and the library's handling of the interrupt leaves
    the transaction open: closing the store rolls it back (the save was not made) and
    flushes the rest, instead of failing on SQLite's "Safety level may not be changed
    inside a transaction" (an interrupted run then said its store could not be written)."""
    run(TINY, tmp_path).close()
    stored = len(rows(tmp_path / STORE))
    simulation = Simulation(TINY, tmp_path / "cut")
    simulation.run()
    expected = len(rows(simulation.store))
    recorder = simulation.app.recorder
    assert isinstance(recorder, SQLiteAggregateRecorder)
    with recorder.datastore.get_connection(commit=True) as connection:
        connection._sqlite_conn.execute("BEGIN")
        connection._sqlite_conn.execute("DELETE FROM stored_events")  # never committed
    simulation.close()
    assert len(rows(simulation.store)) == expected == stored


def test_cli_simulate_compare_prints_policies_side_by_side(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["simulate", "slow-mail", "--days", "2", "--compare", "5,15",
                                       "--out", str(tmp_path)], env={})
    assert result.exit_code == 0, result.output
    table = (tmp_path / "compare.txt").read_text()
    assert "policy 1" not in table and "expired" in table
    common, heading, *_ = table.splitlines()
    assert common.startswith("Scenario slow-mail: 2 days (2026-04-06 to 2026-04-07), seed ")
    assert heading.split()[-4:] == ["5", "min", "15", "min"]  # what differs
    assert "validity 5 min, 5 wrong entries, 5 keys/h: ran in " in result.output
    said = result.output.splitlines()  # what is run, then each run, then the table (the
    #                                    scenario's line came after the runs' lines)
    assert said[0] == "2 runs of scenario slow-mail, one for each value of key_validity_minutes: 5, 15"
    assert said.index(common) > max(i for i, line in enumerate(said) if ": ran in " in line)
    assert (tmp_path / "compare-outcomes.png").exists()
    assert (tmp_path / "validity-5" / "simulation.sqlite3").exists()


def test_cli_simulate_policy_sets_a_number_of_the_scenario_s_policy_for_one_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's probe: trying one changed policy needed a scenario file written. The
    run is the scenario file's with those numbers, named and described as changed (the
    reviewer's: a stricter scenario's description stood over a looser run), in a folder of
    its own beside the scenario's, whatever the options' order."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(TINY_TOML)
    run_folder = tmp_path / "simulation-output" / "tiny-validity-15-wrong-entries-3"
    for changed in (["--policy", "key_validity_minutes=15", "--policy", "max_wrong_entries=3"],
                    ["--policy", "max_wrong_entries=3", "--policy", "key_validity_minutes=15"]):
        result = CliRunner().invoke(main, ["simulate", "tiny.toml", *changed])
        assert result.exit_code == 0, result.output
        assert "Policy: validity 15 min, 3 wrong entries, 5 keys/h" in result.output
        assert [p.name for p in (tmp_path / "simulation-output").iterdir()] == [run_folder.name]
    said = json.loads((run_folder / "report.json").read_text())
    assert (said["scenario"], said["description"]) == (
        run_folder.name, "(--policy key_validity_minutes=15, max_wrong_entries=3)")
    (tmp_path / "same.toml").write_text(TINY_TOML.replace("[population]", (  # (so described)
        f'name = "{run_folder.name}"\n'
        'description = "(--policy key_validity_minutes=15, max_wrong_entries=3)"\n'
        "[policy]\nkey_validity_minutes = 15\nmax_wrong_entries = 3\n[population]")))
    assert CliRunner().invoke(main, ["simulate", "same.toml", "--out", "same"]).exit_code == 0
    assert (run_folder / "report.txt").read_text() == (tmp_path / "same" / "report.txt"
                                                       ).read_text()
    (tmp_path / "long.toml").write_text(f'name = "{"ア" * 80}"\n' + TINY_TOML)
    too_long = CliRunner().invoke(main, ["simulate", "long.toml", "--policy",
                                         "max_wrong_entries=3"])
    assert too_long.exit_code == 2 and "'--policy': name (the output folder's" in \
        too_long.output  # (it ran, then could not make its folder: exit 74)
    assert "the scenario's name with --policy's changes; set them in a scenario file's " \
        "[policy] instead" in too_long.output
    own = CliRunner().invoke(main, ["simulate", "tiny.toml", "--policy", "max_keys_per_hour=5"])
    assert own.exit_code == 0 and "note: max_keys_per_hour=5: tiny's own, nothing changed" in \
        own.stderr  # (it made tiny-keys-per-hour-5, described as changed)
    assert (tmp_path / "simulation-output" / "tiny" / "report.txt").exists()


@pytest.mark.parametrize(("args", "named"), [
    (["--days", "0"], "--days"), (["--days", "-1"], "--days"), (["--compare", "0"], "--compare"),
    (["--days", "abc"], "'--days': 'abc' is not a whole number"),  # (click: "integer range")
    (["--shards", "1.5"], "'--shards': '1.5' is not a whole number"),
    (["--compare", "5,x"], "--compare"), (["offce"], "office, slow-mail"),
    (["--compare", "5,10,5.0", "--days", "1"],  # one folder validity-5/ for two columns
     "'--compare': each value once: 5, 5.0 are the same value, 5 min"),
    (["--compare", "5,1.2345671", "--days", "1"],  # (KeyIssued records whole seconds)
     "policy.key_validity_minutes must be whole seconds (not 1.2345671 minutes: "
     "74.074026 seconds)"),
    (["--compare", "max_wrong_entries=3,4.5"],
     "policy.max_wrong_entries must be a whole number from 1 to 1,000 (not 4.5)"),
    (["--compare", "wrong_entries=3,4"], "'wrong_entries' is not a number of the policy that "
     "--compare varies: one of key_validity_minutes, max_wrong_entries"),
    (["--compare", "max_keys_per_hour=7"], "'--compare': one value compares nothing: give "
     "two or more, e.g. max_keys_per_hour=5,10"),
    (["--compare", "address_window_minutes=10,20", "--days", "1"],  # office: no addresses
     "'--compare': address_window_minutes is D-14's, which counts the failed logins of client "
     "addresses: office has none (population.customers_per_address = 0)"),
    (["--compare", "=5,10"], "'' is not a number of the policy"),
    (["--compare", "max_wrong_entries=3,max_wrong_entries=4"],  # (it quoted the whole left
     "'--compare': KEY= once, before the values, e.g. max_wrong_entries=5,10,15"),  # side)
    (["--compare", "max_wrong_entries=３"], "'３' is not a list of numbers"),
    (["--compare", "5,10,5", "--days", "1"], "each value once: 5 is given more than once"),
    (["--compare", "5,10", "--compare", "1,2"],  # (the second was taken, the first dropped)
     "'--compare': once: it varies one number of the policy (given '5,10' and '1,2')"),
    (["--policy", "validity=15"], "'--policy': 'validity' is not a number of the policy: "
     "one of key_validity_minutes"),
    (["--policy", "max_wrong_entries"], "'--policy': KEY=VALUE, e.g. key_validity_minutes=15"),
    (["--policy", "max_wrong_entries=0"],
     "policy.max_wrong_entries must be a whole number from 1 to 1,000 (not 0)"),
    (["--policy", "max_wrong_entries=3", "--policy", "max_wrong_entries=4"],
     "'--policy': max_wrong_entries is given more than once"),
    (["--policy", "key_validity_minutes=15", "--compare", "5,10"],
     "--compare varies key_validity_minutes: --policy cannot set it too"),
    (["--policy", "address_failure_limit=5", "--days", "1"],  # office: no addresses
     "'--policy': address_failure_limit is D-14's, which counts the failed logins of client "
     "addresses: office has none"),
    (["--days", "3660", "--seed", "1", "__far__"], "start must be from"),
    (["--shards", "2", "--scheduler", ""], "'--scheduler': empty"),  # (ran a local cluster)
    ([""], "SCENARIO: the scenario is empty"),  # (it said '.' is a folder)
])
def test_simulate_options_are_checked_before_anything_runs(
    tmp_path: Path, args: list[str], named: str
) -> None:
    if "__far__" in args:  # a scenario that starts late enough for --days to run past 9999
        (tmp_path / "far.toml").write_text("start = 9990-01-01\ndays = 5\nhash_cost = 4\n"
                                           "[behaviour]\npublic_holidays = false\n")
        args = [str(tmp_path / "far.toml") if a == "__far__" else a for a in args]
    result = CliRunner().invoke(main, ["simulate", *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and named in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("env", [
    {"BS_STORE": "xyz", "BS_SQLITE_PATH": "__tmp__/bad.sqlite3"}, {"BS_STORE": "postgres"},
    {"BS_STORE": "memory"}, {"BS_MAIL": "smtp"}, {"BS_MAILBOX": "__tmp__/mail"},
    {"BS_HASH_COST": "4"}, {"BS_ADDRESS_FAILURE_LIMIT": "5"}, {"BS_ADDRESS_WINDOW": "60"},
    {"CREATE_TABLE": "false"},  # (its own store needs its tables)
])
def test_simulate_refuses_by_name_the_settings_it_does_not_read(
        tmp_path: Path, env: dict[str, str]) -> None:
    """It writes its own SQLite store in its output folder, its mail never leaves the run,
    its hash cost and policy are the scenario's: such a setting is refused, not silently
    ignored."""
    env = {k: v.replace("__tmp__", str(tmp_path)) for k, v in env.items()}
    (tmp_path / "s.toml").write_text(TINY_TOML)
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out",
                                       str(tmp_path / "out")], env=env)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1] == (
        "error: simulate writes its own SQLite store in its output folder, its mail never "
        "leaves the run and its hash cost and policy are the scenario's hash_cost and "
        "[policy]; unset "
        + ", ".join(f"{k}={v}" for k, v in env.items()) + " (see 'main simulate --help')")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_simulate_takes_bs_store_sqlite_and_the_postgresql_settings(tmp_path: Path) -> None:
    """BS_STORE=sqlite is what it does; POSTGRES_* (exported where the tests run) are for
    other commands and name nothing simulate could mistake."""
    (tmp_path / "s.toml").write_text(TINY_TOML)
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out",
                                       str(tmp_path / "out")],
                                env={"BS_STORE": "sqlite", "POSTGRES_HOST": "127.0.0.1"})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "simulation.sqlite3").is_file()


def test_cli_simulate_leaves_only_this_runs_files_in_its_folder(tmp_path: Path) -> None:
    """A run after a comparison in the same folder left its reports and validity-* folders
    beside its own (after a sharded run, README's `verify .../shard-*/...` audited the
    earlier run's shards); files no run writes are left as they are, and a run refused
    before it starts removes nothing."""
    scenario = tmp_path / "small.toml"
    scenario.write_text("days = 2\nhash_cost = 4\n[population]\ncustomers = 6\n")
    out = tmp_path / "out"

    def run(*options: str) -> set[str]:
        result = CliRunner().invoke(main, ["simulate", str(scenario), "--out", str(out),
                                           "--no-verify", *options])
        assert result.exit_code == 0, result.output
        return {p.name for p in out.iterdir()}

    run("--compare", "5,10")
    mine = {"notes.md", "holiday.png", "simulation.sqlite3.bak", "validity-notes",
            "validity-7"}
    for name in mine - {"validity-notes", "validity-7"}:
        (out / name).write_text("mine")
    (out / "validity-notes").mkdir()
    (out / "validity-notes" / "simulation.sqlite3").write_text("mine")
    own = CliRunner().invoke(main, ["simulate", str(scenario), "--out", str(out / "validity-7"),
                                    "--no-verify"])  # named as a compared run is, not one
    assert own.exit_code == 0, own.output
    last = run()
    assert last == {"simulation.sqlite3", "report.txt", "report.json", "report.html",
                    "time-to-login.png", "expiries-by-hour.png"} | mine
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    for refused in (["--shards", "2", "--scheduler", "nonsense"], ["--days", "0"],
                    ["--compare", "5,10", "--shards", "2", "--scheduler", "nonsense"]):
        result = CliRunner().invoke(main, ["simulate", str(scenario), "--out", str(out),
                                           *refused])
        assert result.exit_code == exits.USAGE, result.output
        assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before  # all still there


def test_cli_simulate_does_not_write_over_files_of_its_names_beside_no_store(
        tmp_path: Path) -> None:
    """--out a folder of one's own holding a report.txt: the run wrote over it. With no
    store of a run beside them, such files are someone else's: refused, left as they are."""
    mine = tmp_path / "mydocs"
    mine.mkdir()
    (mine / "report.txt").write_text("mine")
    (mine / "report.html").write_text("mine too")
    (tmp_path / "s.toml").write_text(TINY_TOML)
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out", str(mine)])
    assert result.exit_code == exits.USAGE, result.output
    assert (f"Invalid value for '--out': {mine} holds report.txt, report.html but no "
            "simulation's store: it is no earlier run's folder, and a run there would write "
            "over them (choose another folder, or remove them)") in result.output
    assert sorted(p.name for p in mine.iterdir()) == ["report.html", "report.txt"]
    assert (mine / "report.txt").read_text() == "mine"


def test_cli_simulate_interrupted_says_so_when_its_files_cannot_all_be_removed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shard on a cluster that has not stopped may still write in its folder: the line
    does not say "nothing of the run is kept" then (nor end in a traceback)."""
    out = tmp_path / "out"

    def started_then_interrupted(*_: object) -> None:
        (out / STORE).parent.mkdir(parents=True, exist_ok=True)  # (the run holds it)
        (out / STORE).write_text("a store stopped short")
        raise KeyboardInterrupt

    def still_written(_: Path) -> None:
        raise OSError(39, "Directory not empty")

    monkeypatch.setattr("billing_station.simulate_command._run", started_then_interrupted)
    monkeypatch.setattr("billing_station.run_output.clear_earlier_run", still_written)
    (tmp_path / "s.toml").write_text(TINY_TOML)
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out", str(out)])
    assert result.exit_code == exits.INTERRUPTED
    assert result.output.strip() == (f"interrupted: the run's files in {out} could not all be "
                                     "removed: Directory not empty")


def test_cli_simulate_interrupted_while_it_audits_keeps_the_whole_run_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C after the run was written, while its store is audited: the run is whole and
    kept, and the line said only "interrupted" (README: an interrupted run keeps nothing)."""
    def interrupted(_: list[Path]) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("billing_station.simulate_command._audit", interrupted)
    (tmp_path / "s.toml").write_text(TINY_TOML)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out", str(out)])
    assert result.exit_code == exits.INTERRUPTED
    assert result.output.splitlines()[-1] == (
        f"interrupted: the run is kept in {out}, its audit unfinished (to audit it: main verify "
        f"{out / STORE})")
    assert (out / STORE).is_file() and (out / "report.html").is_file()


def test_a_store_written_just_after_a_run_began_is_the_runs(tmp_path: Path) -> None:
    """The kernel stamps a file's time by its coarse clock, a tick behind time.time(): a
    store written a moment after an interrupted run began looked older, and was kept while
    the line said "nothing of the run is kept" (once in about 15 runs of the test above)."""
    began = datetime.now(UTC).timestamp()
    store = tmp_path / STORE
    store.write_text("a store stopped short")
    os.utime(store, (began - 0.004, began - 0.004))  # (as a coarse clock may stamp it)
    assert written_since(tmp_path, began)
    os.utime(store, (began - 60, began - 60))  # an earlier run's
    assert not written_since(tmp_path, began)


def test_a_run_stopped_short_puts_back_the_earlier_run_it_set_aside(tmp_path: Path) -> None:
    """A run cleared the earlier run in its folder as it began: Ctrl-C then left neither
    (the newcomer's probe). It sets it aside, and a run stopped short puts it back."""
    began = datetime.now(UTC).timestamp()
    store, report = tmp_path / STORE, tmp_path / "report.txt"
    store.write_text("an earlier run's store")
    report.write_text("an earlier run's report")
    os.utime(store, (began - 60, began - 60))
    assert discarded(tmp_path, began, replaced=True) == (  # stopped before it set it aside
        f"nothing of the run is kept in {tmp_path}, and the earlier run there is as it was")
    assert store.read_text() == "an earlier run's store"
    set_aside_earlier_run(tmp_path)  # as the run begins
    assert sorted(p.name for p in tmp_path.iterdir()) == [SET_ASIDE]
    store.write_text("this run's store, stopped short")
    assert discarded(tmp_path, began, replaced=True) == (
        f"nothing of the run is kept in {tmp_path}, and the earlier run there is as it was")
    assert store.read_text() == "an earlier run's store"
    assert report.read_text() == "an earlier run's report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt", STORE]


def test_a_run_killed_outright_leaves_the_earlier_run_set_aside_for_the_next(
        tmp_path: Path) -> None:
    """SIGKILL lets nothing put the earlier run back: the next run there takes the run set
    aside for the last whole one, removes the killed run's files beside it, and keeps it
    aside until it is whole itself."""
    (tmp_path / STORE).write_text("the last whole run's store")
    set_aside_earlier_run(tmp_path)
    (tmp_path / STORE).write_text("a run killed outright")
    set_aside_earlier_run(tmp_path)  # the next run begins
    assert sorted(p.name for p in tmp_path.iterdir()) == [SET_ASIDE]
    (tmp_path / STORE).write_text("the next run, stopped short")
    assert discarded(tmp_path, 0, replaced=True).endswith("the earlier run there is as it was")
    assert (tmp_path / STORE).read_text() == "the last whole run's store"
    set_aside_earlier_run(tmp_path)
    (tmp_path / STORE).write_text("a whole run")
    drop_earlier_run(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [STORE]


def test_a_run_stopped_before_it_began_clears_a_killed_runs_files_from_the_run_set_aside(
        tmp_path: Path) -> None:
    """The killed run's store and its -wal beside the run set aside, older than the next
    run, which is stopped before it writes: they go, or SQLite would read that -wal as the
    put-back store's."""
    (tmp_path / STORE).write_text("the last whole run's store")
    (tmp_path / "report.txt").write_text("its report")
    set_aside_earlier_run(tmp_path)
    for name in (STORE, f"{STORE}-wal"):  # the run killed outright, an hour ago
        (tmp_path / name).write_text("a run killed outright")
        os.utime(tmp_path / name, (time() - 3600, time() - 3600))
    assert discarded(tmp_path, time(), replaced=True).endswith(
        "the earlier run there is as it was")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt", STORE]
    assert (tmp_path / STORE).read_text() == "the last whole run's store"


def test_a_command_killed_while_it_sets_aside_or_drops_a_run_loses_neither_run(
        tmp_path: Path) -> None:
    """The review's windows: killed halfway through setting the earlier run aside (the next
    run took the half set aside for the last whole run and removed the rest), or while
    dropping it once its run was whole (the next run removed that whole run)."""
    (tmp_path / STORE).write_text("run A")
    (tmp_path / "report.txt").write_text("A's report")
    (tmp_path / PARTIAL).mkdir()  # killed after moving the store, before the report
    (tmp_path / STORE).rename(tmp_path / PARTIAL / STORE)
    set_aside_earlier_run(tmp_path)  # the next run begins
    put_back_earlier_run(tmp_path)  # (and stops short)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        STORE: "run A", "report.txt": "A's report"}
    set_aside_earlier_run(tmp_path)
    (tmp_path / STORE).write_text("run B, whole")
    (tmp_path / SET_ASIDE).rename(tmp_path / DROPPED)  # killed as it dropped A
    set_aside_earlier_run(tmp_path)  # the next run begins
    assert not (tmp_path / DROPPED).exists()
    assert (tmp_path / SET_ASIDE / STORE).read_text() == "run B, whole"


@pytest.mark.parametrize("through_a_link", [False, True], ids=["named", "through a link"])
@pytest.mark.parametrize("inside", [False, True], ids=["it", "a folder in it"])
def test_cli_simulate_refuses_to_write_where_a_run_sets_aside_the_one_before(
        tmp_path: Path, through_a_link: bool, inside: bool) -> None:
    (tmp_path / "s.toml").write_text(TINY_TOML)
    aside = tmp_path / "out" / SET_ASIDE
    made = [tmp_path / "s.toml"]
    if through_a_link:  # (the run in "out" would move it, and the run in it, aside)
        aside.mkdir(parents=True)
        (tmp_path / "elsewhere").symlink_to(aside)
        made += [tmp_path / "out", aside, tmp_path / "elsewhere"]
    out = (tmp_path / "elsewhere" if through_a_link else aside) / ("shard" if inside else "")
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out", str(out)])
    assert result.exit_code == 2 and "sets aside the run before it" in result.output
    assert sorted(tmp_path.rglob("*")) == sorted(made)


def test_a_compared_run_in_shards_is_cleared_whole_and_its_stores_found(tmp_path: Path) -> None:
    """--compare with --shards: each compared run's folder holds its shards' folders, each
    with a store (none of its own): the next run clears it, and its stores are checked."""
    shard = tmp_path / VARIED["address_failure_limit"].folder_of(5) / shard_folder(0, 2)
    shard.mkdir(parents=True)
    mark_compared(shard.parent)
    (shard / STORE).write_text("a shard's store")
    (tmp_path / "notes").mkdir()  # (not a run's: left be)
    deeper = tmp_path / VALIDITY.folder_of(5) / shard_folder(0, 2) / VALIDITY.folder_of(5)
    deeper.mkdir(parents=True)  # a store deeper than a compared run's shards: not one
    (deeper / STORE).write_text("someone else's")
    assert earlier_stores(tmp_path) == [shard / STORE]
    clear_earlier_run(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes", VALIDITY.folder_of(5)]


def test_a_compare_stopped_as_a_run_began_leaves_not_even_its_mark(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (or a shard failing) as a compared run began: the run before it was removed,
    but this one's folder, which held only its mark (.compared-run), was no run's and stayed,
    and so did it after the next run there."""
    played = simulations.experiments._played

    def stopped_at_the_second(variant: Scenario, where: Path) -> object:
        if where.name == VALIDITY.folder_of(10):
            raise KeyboardInterrupt
        return played(variant, where)

    monkeypatch.setattr(simulations.experiments, "_played", stopped_at_the_second)
    (tmp_path / "s.toml").write_text(TINY_TOML)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out", str(out),
                                       "--compare", "5,10"])
    assert result.exit_code == exits.INTERRUPTED, result.output
    assert result.output.splitlines()[-1] == f"interrupted: nothing of the run is kept in {out}"
    assert not out.exists()


def test_what_clears_an_earlier_run_knows_the_folders_runs_make() -> None:
    """The shard and compared-run folders, by the functions that name them, and no other."""
    made = [shard_folder(i, n) for n in (2, 10, 100, 1024) for i in (0, n - 1)] + [
        VALIDITY.folder_of(m) for m in (0.1, 5, 10, 12.5, 1440)] + [
        varied.folder_of(value) for varied in VARIED.values() for value in (1, 0.5, 100_000)]
    assert all(RUN_FOLDERS.fullmatch(name) for name in made), made
    assert not any(RUN_FOLDERS.fullmatch(name) for name in (
        "validity-notes", "shard-1", "shards-01-of-02", "validity-5 (copy)", "validity-",
        "address-limit-x", "keys-per-hour"))


@pytest.mark.parametrize("shards", [1, 2])
@pytest.mark.parametrize("stop", ["ctrl-c", "kill"])
def test_cli_simulate_interrupted_says_so_in_one_line_exit_130_and_puts_back_the_earlier_run(
        tmp_path: Path, shards: int, stop: str) -> None:
    """Ctrl-C (to every process of the command, as a terminal sends it) mid-run: it said
    "Aborted!", exit 1 (verify's code for violations), with Dask's workers' tracebacks, and
    left the store stopped short beside the earlier run's report. SIGTERM (kill, timeout:
    to the command alone) left the store stopped short, and leaked semaphores in shards."""
    scenario = tmp_path / "long.toml"
    scenario.write_text("days = 400\nhash_cost = 4\n[population]\ncustomers = 40\n")
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["simulate", str(scenario), "--days", "1", "--out",
                                     str(out), "--no-verify"]).exit_code == 0  # an earlier run
    earlier = sorted(p.name for p in out.iterdir())
    report = (out / "report.txt").read_text(encoding="utf-8")
    run = subprocess.Popen(
        [sys.executable, "-m", "billing_station.cli", "simulate", str(scenario), "--out",
         str(out), "--shards", str(shards)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True, env={**os.environ, "TQDM_DISABLE": "1"})
    deadline = monotonic() + 120
    def started() -> bool:
        """The earlier run's report gone, a store there again. (By exact names: the
        command's check that it can write in the folder makes and removes a .bs-* folder
        there, which a ** glob can trip on.)"""
        return not (out / "report.txt").exists() and (
            (out / STORE).exists() or any(out.glob(f"shard-*/{STORE}")))

    while not started():
        assert run.poll() is None and monotonic() < deadline, run.communicate()
        sleep(0.2)
    sleep(1)  # well into the run
    if stop == "ctrl-c":
        os.killpg(run.pid, signal.SIGINT)
    else:
        run.terminate()
    _, stderr = run.communicate(timeout=60)
    said = "interrupted" if stop == "ctrl-c" else "terminated"
    assert run.returncode == (exits.INTERRUPTED if stop == "ctrl-c" else exits.TERMINATED), stderr
    assert stderr.strip().splitlines() == [f"{said}: nothing of the run is kept in {out}, and "
                                           "the earlier run there is as it was"]
    assert sorted(p.name for p in out.iterdir()) == earlier  # (it left neither, before)
    assert (out / "report.txt").read_text(encoding="utf-8") == report


@pytest.mark.parametrize("where", [".", "shard-01-of-02"])
@pytest.mark.parametrize("foreign", ["a table", "text"])
def test_cli_simulate_refuses_to_replace_a_store_that_is_no_event_store(
        tmp_path: Path, where: str, foreign: str) -> None:
    """A run replaces an earlier run's store found by its name; a simulation.sqlite3 of
    another program (or no database at all) was replaced as well."""
    out = tmp_path / "out"
    (out / where).mkdir(parents=True)
    theirs = out / where / STORE
    if foreign == "text":
        theirs.write_text("notes, not a database")
    else:
        with closing(sqlite3.connect(theirs)) as db, db:
            db.execute("CREATE TABLE notes (text TEXT)")
    before = theirs.read_bytes()
    (tmp_path / "s.toml").write_text(TINY_TOML)
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out", str(out)])
    assert result.exit_code == exits.USAGE, result.output
    reason = ("it holds another program's tables: notes" if foreign == "a table"
              else "file is not a database")
    assert result.output.splitlines()[-1] == (
        f"error: Invalid value for '--out': {theirs} is not a Billing Station event store "
        f"({reason}): a run in {out} would replace it (see 'main simulate --help')")
    assert theirs.read_bytes() == before
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == sorted(
        [*([where] if where != "." else []), str(theirs.relative_to(out))])  # nothing else


def test_a_simulate_run_in_this_process_leaves_sigterm_as_it_found_it(tmp_path: Path) -> None:
    """SIGTERM stops a run as Ctrl-C does while it runs, and no longer: it stayed raising
    KeyboardInterrupt in whatever the process did next."""
    before = signal.getsignal(signal.SIGTERM)
    (tmp_path / "s.toml").write_text(TINY_TOML)
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--out",
                                       str(tmp_path / "out"), "--no-verify"])
    assert result.exit_code == 0 and signal.getsignal(signal.SIGTERM) == before


def test_a_runs_bars_count_its_customers_onboarded_then_its_days(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The days' bar sat at 0% while the customers were onboarded (seconds at full size):
    they have a bar of their own, done before the days' starts."""
    counted: list[tuple[str, int]] = []

    class Counting(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.counts = kwargs["unit"]  # (kept also when the bar is off, as off a terminal)
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            counted.append((self.counts, int(n or 0)))
            return super().update(n)

    monkeypatch.setattr("simulations.experiments.tqdm", Counting)
    scenario = attrs.evolve(TINY, days=3, population=attrs.evolve(TINY.population, customers=4))
    simulate(scenario, tmp_path)
    assert counted == [("customer", 1)] * 4 + [("day", 1)] * 3


def test_seed_0_is_a_seed(tmp_path: Path) -> None:
    """--seed 0 ran the scenario's own seed (0 read as no seed given), and said it was 0."""
    (tmp_path / "tiny.toml").write_text(TINY_TOML)
    seeds: list[int] = []
    for given in (["--seed", "0"], []):
        out = tmp_path / f"run{len(seeds)}"
        result = CliRunner().invoke(main, ["simulate", str(tmp_path / "tiny.toml"), *given,
                                           "--out", str(out), "--no-verify"])
        assert result.exit_code == 0, result.output
        seeds.append(json.loads((out / "report.json").read_text())["seed"])
    assert seeds == [0, Scenario("tiny").seed] and seeds[1] != 0
