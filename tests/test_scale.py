"""Beyond one process: sharded simulations on Dask (merged counts equal the unsharded run's,
the same seed and shard count give the same stores and report, a failed shard is named).
verify at scale: test_verify_scale.py."""

from __future__ import annotations

import functools
import gc
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from time import monotonic, sleep
from typing import Any

import attrs
import dask
import pytest
from click.testing import CliRunner
from distributed import Client, Event, LocalCluster

from application import audit, bootstrap
from application.audit.parallel import verify_stores
from application.audit.verify import JUDGED_D14
from billing_station import exits
from billing_station.cli import main
from simulations.dask_cluster import LOOPBACK_ONLY, SchedulerUnreachable, dask_client, local_workers
from simulations.dask_runs import ShardsFailed, run_sharded, shard_task
from simulations.population import customer_plans, part_addresses
from simulations.report import Report, counted, report, store_counts
from simulations.run_folder import STORE
from simulations.runner import Simulation
from simulations.scenario import Attack, Behaviour, Delay, Population, Scenario
from simulations.shards import folder_of, own_events, own_store, parts
from tests.audit_cli import reader
from tests.conftest import STORES, store_env
from tests.processes import files_of_at_most
from tests.small_runs import SMALL, stored_rows


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """Two single-threaded worker processes on the loopback interface, for this module."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, host="127.0.0.1",
                      scheduler_kwargs=LOOPBACK_ONLY) as cluster:
        yield cluster.scheduler_address


# SMALL behind 5 addresses of 3 customers (D-14), a credential stuffer behind 2 of them
STUFFED = attrs.evolve(SMALL, population=attrs.evolve(SMALL.population, customers_per_address=3),
                       attack=Attack(addresses=2, tries_per_hour=200))


def unordered(r: Report) -> Report:
    """A report with its histograms sorted (shards list their visits shard by shard)."""
    return attrs.evolve(r, histogram=sorted(r.histogram),
                        exposed_histogram=sorted(r.exposed_histogram))


def test_shards_keep_customers_whole_and_share_login_ids_out_evenly() -> None:
    plans = list(customer_plans(SMALL))
    for count in (1, 2, 3, 5):
        found = parts(SMALL, count)
        assert found[0].customers[0] == 0 and found[-1].customers[1] == 14
        assert all(a.customers[1] == b.customers[0] for a, b in itertools.pairwise(found))
        people = [sum(plans[i].people for i in range(*p.customers)) for p in found]
        assert all(n > 0 for n in people)
        assert max(people) - min(people) <= max(p.people for p in plans) + 1
    assert len(parts(SMALL, 50)) == 14  # never more shards than customers


def unsharded_report(folder: Path, scenario: Scenario = SMALL) -> Report:
    """``scenario``'s report, run whole in this process: what the shards must add up to."""
    whole = Simulation(scenario, folder)
    whole.run()
    try:
        return report(whole)
    finally:
        whole.close()


def test_sharded_counts_equal_the_unsharded_run_and_the_stores_verify_clean(
        tmp_path: Path, scheduler: str) -> None:
    expected = unsharded_report(tmp_path / "whole")
    run = run_sharded(SMALL, 3, tmp_path / "sharded", scheduler=scheduler, progress=False)
    assert unordered(run.report) == unordered(expected)
    assert run.report.attempts > 50 and run.report.outcomes["password_rejected"] > 0
    found = verify_stores(run.stores)
    assert found.violations == []
    assert found.counts["events"] == expected.events == sum(r.events for r in run.shards)
    assert found.counts["login attempts"] == expected.attempts
    people: set[str] = set()
    for store in run.stores:  # each customer and its sub IDs in exactly one store
        with sqlite3.connect(store) as db:
            people |= {r[0] for r in db.execute(
                "SELECT json_extract(state, '$.login_id') FROM stored_events "
                "WHERE topic LIKE 'domain.accounts:%.Onboarded' "
                "OR topic LIKE 'domain.accounts:%.RegisteredBy'")}
    assert len(people) == expected.people


def test_D_14_sharded_counts_equal_the_unsharded_run_each_address_in_one_shard(
        tmp_path: Path, scheduler: str) -> None:
    expected = unsharded_report(tmp_path / "whole", STUFFED)
    run = run_sharded(STUFFED, 3, tmp_path / "sharded", scheduler=scheduler, progress=False)
    assert unordered(run.report) == unordered(expected)
    assert expected.tries_refused > 0 and expected.throttled > 0 and expected.exposed_visits
    found = verify_stores(run.stores)
    assert found.violations == [] and found.counts[JUDGED_D14] == expected.attempts
    for shard in run.shards:  # a shard's own events there: its addresses' counts too
        assert shard.store is not None
        app = reader(shard.store)
        mine = own_events(audit.replay(app), shard.part.customers,
                          part_addresses(STUFFED, shard.part))
        assert counted(shard.report, store_counts(mine)) == shard.report
        app.close()


@pytest.mark.skipif("postgres" not in STORES, reason="PostgreSQL is not configured")
@pytest.mark.parametrize("scenario", [SMALL, attrs.evolve(STUFFED, days=1)],
                         ids=["small", "stuffed"])
def test_shards_on_one_shared_postgresql_store_report_as_the_unsharded_run(
        tmp_path: Path, scheduler: str, scenario: Scenario) -> None:
    """(STUFFED over one day: each save is a transaction and its round trips to the server;
    three days of its stuffers, 49,000 events, took two minutes of a CI run.)"""
    expected = unsharded_report(tmp_path / "whole", scenario)
    assert scenario.attack.addresses == 0 or expected.throttled > 0  # (D-14 at work there)
    for store in store_env("postgres", tmp_path):  # a fresh schema: no tables yet
        run = run_sharded(scenario, 2, tmp_path / "shared", scheduler=scheduler, store=store,
                          progress=False)
        assert run.stores == [] and unordered(run.report) == unordered(expected)
        reader = bootstrap.audit_reader(store=store)
        assert reader.recorder.max_notification_id() == expected.events
        for shard in run.shards:  # each shard's events, in its own time order, verify clean
            verifier = audit.Verifier()
            mine = own_events(audit.replay(reader), shard.part.customers,
                              part_addresses(scenario, shard.part))
            assert list(verifier.check(mine)) == [] and verifier.counts["events"] == shard.events
        reader.close()


def test_a_shards_own_events_count_as_the_report_counts_a_store(
        tmp_path: Path, scheduler: str) -> None:
    run = run_sharded(SMALL, 2, tmp_path, scheduler=scheduler, progress=False)
    for shard in run.shards:
        assert shard.store is not None
        app = reader(shard.store)
        mine = own_events(audit.replay(app), shard.part.customers)
        assert counted(shard.report, store_counts(mine)) == shard.report
        assert counted(shard.report, store_counts(own_events(audit.replay(app), (0, 0)))) != (
            shard.report)
        app.close()


@pytest.mark.parametrize("scenario", [SMALL, STUFFED], ids=["small", "stuffed"])
def test_the_same_seed_and_shards_give_the_same_stores_and_report(
        tmp_path: Path, scheduler: str, scenario: Scenario) -> None:
    first = run_sharded(scenario, 2, tmp_path / "a", scheduler=scheduler, progress=False)
    second = run_sharded(scenario, 2, tmp_path / "b", scheduler=scheduler, progress=False)
    assert first.report.as_json() == second.report.as_json()
    assert first.report.histogram == second.report.histogram
    for a, b in zip(first.stores, second.stores, strict=True):
        assert stored_rows(a) == stored_rows(b) and len(stored_rows(a)) > 100
    # and shards never mint one attempt id twice (a shared store would refuse it; logins
    # from a client address, STUFFED's, record LoginRequestedFrom)
    ids = [row[1] for store in first.stores for row in stored_rows(store)
           if str(row[3]).endswith(("LoginAttempt.LoginRequested",
                                    "LoginAttempt.LoginRequestedFrom"))]
    assert len(ids) == len(set(ids)) > 20


def test_a_failed_shard_is_retried_then_named(tmp_path: Path, scheduler: str) -> None:
    # a mail delay of 0 s cannot be drawn (log-normal): every key mail fails in the worker
    broken = attrs.evolve(SMALL, behaviour=Behaviour(mail_delay=Delay(0, 0)))
    with pytest.raises(ShardsFailed) as failed:
        run_sharded(broken, 2, tmp_path / "broken", scheduler=scheduler, progress=False)
    assert [part.index for part, _ in failed.value.failures] == [0, 1]
    assert ("shard 1 of 2 (customers c00000..c00006) failed in 2 attempts: ValueError: "
            "math domain error") in str(failed.value)
    plan = parts(SMALL, 2)
    folder = tmp_path / "run"
    folder.mkdir()
    folder_of(folder, plan[1]).write_text("a file where shard 2's folder must go")
    with pytest.raises(ShardsFailed) as unmade:
        run_sharded(SMALL, 2, folder, scheduler=scheduler, progress=False)
    assert [part.index for part, _ in unmade.value.failures] == [1]
    assert "shard 2 of 2 (customers c00007..c00013) failed before it started" in str(
        unmade.value)


def test_a_shard_that_fails_once_is_retried_from_a_clean_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each shard fails on its second day the first time (its store half written): the
    retry plays it again from nothing, and the run is the run that never failed (with no
    retry at all, a test of a shard that always fails still read "failed in 2 attempts")."""
    from simulations import dask_runs

    played: list[int] = []
    real = dask_runs.run_shard

    def failing_once(scenario: Scenario, part: Any, folder: Path, store: Any,
                     on_day: Any = None, **kwargs: Any) -> Any:
        played.append(part.index)

        def day(index: int) -> None:
            if index == 1 and played.count(part.index) == 1:
                raise OSError("a disk hiccup")
            on_day(index)
        return real(scenario, part, folder, store, day, **kwargs)

    with Client(processes=False, n_workers=1, threads_per_worker=1,
                dashboard_address=None) as client:
        clean = run_sharded(SMALL, 2, tmp_path / "clean", progress=False, client=client)
        monkeypatch.setattr(dask_runs, "run_shard", failing_once)
        retried = run_sharded(SMALL, 2, tmp_path / "retried", progress=False, client=client)
    assert sorted(played) == [0, 0, 1, 1]
    assert retried.report.as_json() == clean.report.as_json()
    for a, b in zip(clean.stores, retried.stores, strict=True):
        assert stored_rows(a) == stored_rows(b) and len(stored_rows(a)) > 100


def test_a_local_cluster_s_workers_run_without_their_profiler() -> None:
    """A shard is one long pure-Python task: Dask's statistical profiler, sampling every
    thread's stack every 10 ms, would take about a tenth of its time."""
    with dask_client(2) as client:
        enabled = client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
    assert list(enabled.values()) == [False] * local_workers(2)


def test_a_local_cluster_s_workers_ignore_ctrl_c_also_when_restarted() -> None:
    """A terminal's Ctrl-C goes to every process of the command: each worker printed a
    traceback; one its nanny restarted after a crash (here killed) still did."""
    with dask_client(2) as client:
        pids = client.run(os.getpid)
        os.kill(next(iter(pids.values())), signal.SIGKILL)
        deadline = monotonic() + 60
        while len(workers := set(client.scheduler_info()["workers"])) < len(pids) or \
                workers == set(pids):  # its nanny started another
            assert monotonic() < deadline, "the killed worker was not restarted"
            sleep(0.2)
        assert not set(client.run(os.getpid).values()) >= set(pids.values())
        ignoring = client.run(lambda: signal.getsignal(signal.SIGINT) == signal.SIG_IGN)
    assert list(ignoring.values()) == [True] * local_workers(2)


def test_a_local_cluster_starts_at_most_one_single_threaded_worker_per_core(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """More shards than cores queue: a worker process per shard would only share the cores
    (1,000 shards of office on two cores never finished); one thread each, so a worker
    plays one shard at a time."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    with dask_client(5) as client:
        assert sorted(client.nthreads().values()) == [1, 1]
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: one
    assert local_workers(5) == 1 and local_workers(0) == 1


def test_shards_queued_on_one_worker_give_the_stores_of_shards_on_two(
        tmp_path: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that plays shard after shard leaves each store as a worker of its own would."""
    spread = run_sharded(SMALL, 3, tmp_path / "two", scheduler=scheduler, progress=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    queued = run_sharded(SMALL, 3, tmp_path / "one", progress=False)
    assert queued.report.as_json() == spread.report.as_json()
    for a, b in zip(queued.stores, spread.stores, strict=True):
        assert stored_rows(a) == stored_rows(b) and len(stored_rows(a)) > 100


def test_a_scheduler_that_does_not_answer_leaves_no_client_behind() -> None:
    """The client that failed to connect was left to the garbage collector, whose closing
    it again could come inside the next client's start: both take one lock of Dask's, and
    the suite hung there."""
    def clients() -> set[int]:
        return {id(o) for o in gc.get_objects() if isinstance(o, Client)}

    before = clients()
    with pytest.raises(SchedulerUnreachable), dask_client(2, "tcp://127.0.0.1:9"):
        pass
    assert clients() <= before


def test_a_scheduler_without_workers_is_named_not_waited_on_for_ever(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--scheduler of a cluster with no workers took the shards and hung, saying nothing."""
    monkeypatch.setattr("simulations.dask_cluster.WORKERS_WAIT", 1.0)
    with LocalCluster(n_workers=0, processes=True, dashboard_address=None, host="127.0.0.1",
                      scheduler_kwargs=LOOPBACK_ONLY) as cluster:
        address = cluster.scheduler_address
        (tmp_path / "s.toml").write_text("days = 1\nhash_cost = 4\n[population]\ncustomers = 3\n")
        result = CliRunner().invoke(main, ["simulate", str(tmp_path / "s.toml"), "--shards", "2",
                                           "--scheduler", address, "--out", str(tmp_path / "o")])
    assert result.exit_code == 69, result.output
    assert result.output.strip().splitlines()[-1] == (
        f"error: the Dask scheduler at {address} has no workers (none joined within 1 s): "
        f"start some, e.g. dask worker {address} --nthreads 1")
    assert not (tmp_path / "o").exists()  # (nothing begun, nothing cleared)


def test_cli_simulate_says_when_it_lowers_the_shard_count(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.toml"
    tiny.write_text("days = 1\nhash_cost = 4\n[population]\ncustomers = 3\n")
    result = CliRunner().invoke(main, ["simulate", str(tiny), "--shards", "1000",
                                       "--out", str(tmp_path / "out"), "--no-verify"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "note: tiny has 3 customers and a customer is never split: 3 shards, not 1,000")
    assert sorted(p.name for p in (tmp_path / "out").glob("shard-*")) == [
        "shard-01-of-03", "shard-02-of-03", "shard-03-of-03"]


def test_cli_simulate_in_shards_on_a_full_disk_is_exit_74_and_keeps_nothing(
        tmp_path: Path) -> None:
    """Shards whose stores could not be written: exit 70 as for a bug, Dask's tracebacks
    of each attempt on the terminal, the shards' stores left; unsharded, the same disk was
    one line, exit 74, nothing kept."""
    tiny = tmp_path / "tiny.toml"
    tiny.write_text("days = 2\nhash_cost = 4\n[population]\ncustomers = 60\n")
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "billing_station.cli", "simulate", str(tiny), "--shards", "2",
         "--out", str(out)], capture_output=True, text=True, timeout=300,
        preexec_fn=functools.partial(files_of_at_most, 400 * 1024))
    assert run.returncode == exits.IO_ERROR, run.stderr
    assert "Traceback" not in run.stderr and " ERROR " not in run.stderr, run.stderr
    assert run.stderr.splitlines()[-1] == (
        f"error: a shard's store in {out} could not be written; nothing of the run is kept "
        f"in {out}")
    assert "failed in 2 attempts: OperationalError: " in run.stderr
    assert not out.exists()


def test_cli_simulate_in_shards_reports_once_and_names_a_failed_shard(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.toml"
    tiny.write_text("days = 2\nseed = 5\nhash_cost = 4\n[population]\ncustomers = 6\n")
    result = CliRunner().invoke(main, ["simulate", str(tiny), "--shards", "2",
                                       "--out", str(tmp_path / "ok")])
    assert result.exit_code == 0, result.output
    assert result.output.count("Visits (a person wanting in)") == 1
    assert "shard 1 of 2" in result.output and "shard 2 of 2" in result.output
    assert "audit of 2 shard stores" in result.output and "no violations" in result.output
    assert (tmp_path / "ok" / "report.json").is_file()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "shard-01-of-02").write_text("not a folder")
    failed = CliRunner().invoke(main, ["simulate", str(tiny), "--shards", "2",
                                       "--out", str(tmp_path / "bad")])
    assert failed.exit_code == 70
    assert "error: shard 1 of 2 (customers c00000..c00003) failed before it started" in (
        failed.output)
    (tmp_path / "bad" / "validity-5").mkdir()  # --compare: its run's shard named with it
    (tmp_path / "bad" / "validity-5" / "shard-01-of-02").write_text("not a folder")
    failed = CliRunner().invoke(main, ["simulate", str(tiny), "--shards", "2", "--compare",
                                       "5,10", "--out", str(tmp_path / "bad")])
    assert failed.exit_code == 70
    assert "error: shard 1 of 2 (customers c00000..c00003) failed before it started" in (
        failed.output) and "(of the run in validity-5/)" in failed.output
    unreachable = CliRunner().invoke(main, ["simulate", str(tiny), "--shards", "2",
                                            "--scheduler", "tcp://127.0.0.1:9",
                                            "--out", str(tmp_path / "none")])
    assert unreachable.exit_code == 69 and "no Dask scheduler answered" in unreachable.output
    assert not (tmp_path / "none").exists()  # nothing written without a cluster
    (tmp_path / "mine").mkdir()  # a folder the user made: kept, as empty as it was
    mine = CliRunner().invoke(main, ["simulate", str(tiny), "--shards", "2", "--scheduler",
                                     "tcp://127.0.0.1:9", "--out", str(tmp_path / "mine")])
    assert mine.exit_code == 69 and list((tmp_path / "mine").iterdir()) == []
    malformed = CliRunner().invoke(main, ["simulate", str(tiny), "--shards", "2",
                                          "--scheduler", "notanaddress",
                                          "--out", str(tmp_path / "none")])
    assert malformed.exit_code == 2 and "--scheduler" in malformed.output
    assert not (tmp_path / "none").exists()


def test_cli_simulate_interrupted_stops_the_shards_on_another_cluster(
        tmp_path: Path, scheduler: str) -> None:
    """Ctrl-C cancelled shards not started, but a task running on a cluster's worker cannot
    be cancelled: it played on to its end, holding the worker, after "nothing of the run is
    kept". Now every shard stops at its next simulated day (or customer, while onboarding),
    and the command waits for it."""
    scenario = tmp_path / "long.toml"
    scenario.write_text("days = 3000\nhash_cost = 4\n[population]\ncustomers = 40\n")
    out = tmp_path / "out"
    run = subprocess.Popen(
        [sys.executable, "-m", "billing_station.cli", "simulate", str(scenario), "--out",
         str(out), "--shards", "3", "--scheduler", scheduler],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "TQDM_DISABLE": "1"})
    with dask.config.set({"distributed.client.heartbeat": "1s"}), \
            Client(scheduler) as client:
        deadline = monotonic() + 120
        while sum(client.run(lambda dask_worker: len(dask_worker.active_threads)).values()
                  ) < 2:  # two shards playing
            assert run.poll() is None and monotonic() < deadline, run.communicate()
            sleep(0.2)
        sleep(1)
        os.killpg(run.pid, signal.SIGINT)  # (the cluster's workers are not in its group)
        _, stderr = run.communicate(timeout=90)
        assert run.returncode == 130, stderr
        assert [line for line in stderr.splitlines() if line] == [
            "stopping 3 shards on the cluster at their next simulated day or customer ...",
            f"interrupted: nothing of the run is kept in {out}"]
        playing = client.run(lambda dask_worker: len(dask_worker.active_threads))
        assert sum(playing.values()) == 0  # the cluster's workers are free
        assert client.run_on_scheduler(  # and its scheduler keeps no stop event of the run
            lambda dask_scheduler: list(dask_scheduler.extensions["events"]._events)) == []
    assert not out.exists()  # (the run made it: gone with what the shards wrote)


def test_a_shard_that_starts_after_its_run_was_stopped_plays_nothing(
        tmp_path: Path, scheduler: str) -> None:
    """A shard queued behind others (or retried) starts after the Ctrl-C: it returns at once,
    its store untouched (it onboarded the whole population first, minutes at production's
    hash cost, past the command's wait)."""
    part = parts(SMALL, 2)[0]
    folder = folder_of(tmp_path, part)
    with Client(scheduler) as client:
        Event("a-stopped-run", client).set()
        try:
            stopped = client.submit(shard_task, SMALL, part, folder, own_store(folder), False,
                                    "a-stopped-run", True, pure=False).result()
        finally:
            Event("a-stopped-run", client).clear()
    assert stopped is None and stored_rows(folder / STORE) == []


def test_a_shard_still_onboarding_stops_at_its_next_customer(tmp_path: Path,
                                                             scheduler: str) -> None:
    """A run stopped while a shard onboards its population (minutes at production's hash
    cost): the shard onboarded every customer, past the command's 30-second wait, before
    its first day read the stop. Now it stops at its next customer."""
    many = attrs.evolve(SMALL, hash_cost=12, population=Population(
        customers=3000, sub_ids_per_customer=(0, 1)))
    part = parts(many, 1)[0]
    folder = folder_of(tmp_path, part)
    topic = f"a-run-stopped-onboarding-{os.getpid()}"
    with Client(scheduler) as client:
        playing = client.submit(shard_task, many, part, folder, own_store(folder), False,
                                topic, True, pure=False)
        deadline = monotonic() + 60
        while not _onboarded(folder / STORE):
            assert monotonic() < deadline and not playing.done(), playing
            sleep(0.1)
        Event(topic, client).set()
        try:
            stopped = playing.result(timeout=30)
        finally:
            Event(topic, client).clear()
    assert stopped is None and 0 < _onboarded(folder / STORE) < 3000


def _onboarded(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT count(*) FROM stored_events WHERE topic LIKE "
                              "'%:Customer.Onboarded'").fetchone()[0])
