"""Benchmark: the portal under load, over real HTTP, on PostgreSQL (where POSTGRES_HOST is
set; else SQLite, said so), against 1, 2 and 4 worker processes of ``billing-station serve``.

People (benchmarks/locustfile.py, run by ``locust`` headless in its own process) log in
without a key, with the key read from the mailbox folder the server writes, with a wrong
key then the right one, confirm and OK an お客様情報変更 and register a 副ID. Printed per
worker count: completed logins/s, p50/p95/p99 latency, errors, and the ratio to this
design's physical limit: the scrypt digests (production cost, BS_HASH_COST 14) the run's
requests needed, against the digests/s all the machine's cores do with nothing else to do,
measured in the same run. Where the rest of the CPU went (the portal's processes, the load
tool, PostgreSQL) is printed beside it.

After each run, and fatal (exit 1) when broken: every request the people saw succeed is
in the store (logins completed, keys issued, wrong keys, changes, sub IDs), ``billing-station
verify`` is clean, every login attempt was recorded whole, and no key, password or session
id is in any log line of the run (the server's and the load tool's). Speed is printed, never
asserted.

Runs of the same worker count move with the machine (the digest limit itself moves by a
fifth within an hour here): ``--repeat N`` runs each N times, in turn (1, 2, 4, 1, 2, 4,
...), and ends with each count's median and range.

    .venv/bin/python -m benchmarks.portal [--quick] [--workers 1,2,4] [--seconds 30]
                                          [--repeat N]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import math
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import httpx

from application import bootstrap
from application.outcomes import TopPage
from domain.crypto import Hasher
from domain.forms import Plan
from simulations.wording import counted_as

ROOT = Path(__file__).parent.parent
COST = int(os.environ.get("BS_LOAD_COST", "14"))  # production's (BS_HASH_COST's default);
# another only to see what the rest costs (the printout says which)
PASSWORD = "Load-test-pass1"
# The scrypt digests a stored event stands for: a password checked (or the decoy, D-9), a
# key digested when issued, a key checked, a sub ID's temporary password digested at 確認.
DIGESTS = {"LoginAttempt.PasswordAccepted": 1, "LoginAttempt.PasswordRejected": 1,
           "LoginAttempt.KeyIssued": 1, "LoginAttempt.KeyVerified": 1,
           "LoginAttempt.KeyRejected": 1, "SubID.RegisteredBy": 1}
# What the people saw succeed, and the events that must then be in the store.
SEEN_IN_STORE = {"logins completed": "LoginAttempt.LoginCompleted",
                 "keys issued": "LoginAttempt.KeyIssued",
                 "wrong keys": "LoginAttempt.KeyRejected",
                 "changes": "Customer.InformationChanged",
                 "sub IDs registered": "SubID.RegisteredBy"}
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # the shape of a session id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- the store ---------------------------------------------------------------------------

def _dsn() -> str:
    e = os.environ
    return (f"host={e['POSTGRES_HOST']} port={e.get('POSTGRES_PORT', '5432')} "
            f"dbname={e['POSTGRES_DBNAME']} user={e['POSTGRES_USER']} "
            f"password={e.get('POSTGRES_PASSWORD', '')}")


@contextlib.contextmanager
def fresh_store(folder: Path) -> Iterator[dict[str, str]]:
    """The environment of a fresh store: a new schema of the configured PostgreSQL
    database (dropped afterwards), else a SQLite file under ``folder``."""
    if not os.environ.get("POSTGRES_HOST"):
        yield {"BS_STORE": "sqlite", "BS_SQLITE_PATH": str(folder / "store.sqlite3")}
        return
    import psycopg

    schema = f"load_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield {"BS_STORE": "postgres", "POSTGRES_SCHEMA": schema} | {
            k: v for k, v in os.environ.items() if k.startswith("POSTGRES_")
            and k != "POSTGRES_SCHEMA"}
    finally:
        with psycopg.connect(_dsn(), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def station(env: dict[str, str], folder: Path, create: bool = True) -> Any:
    settings = bootstrap.Settings(env | {"BS_MAILBOX": str(folder / "mailbox")})
    store = settings.store() | ({} if create else {"CREATE_TABLE": "false"})
    return bootstrap.application(settings, store=store, hasher=Hasher(COST))


def _onboard(env: dict[str, str], folder: Path, login_ids: list[str], keyed: bool) -> None:
    """Customers whose main IDs have logged in once (LG-4), the key on or off."""
    app = station(env, folder, create=False)
    try:
        for login_id in login_ids:
            app.onboard_customer(
                f"BS{2 if keyed else 1}{int(login_id[3:]):06d}",
                "負荷試験商事", "フカシケンショウジ", Plan.STANDARD, login_id, PASSWORD, {
                    "contact_name": "山田　太郎", "contact_name_kana": "ヤマダ　タロウ",
                    "phone": "0312345678", "email": f"{login_id}@example.co.jp",
                    "email_confirmation": f"{login_id}@example.co.jp",
                    "postal_code": "1000001", "address1": "東京都千代田区大手町１－１－１",
                    "notify_key": "利用する" if keyed else "利用しない"})
            assert isinstance(app.log_in(login_id, PASSWORD), TopPage)
    finally:
        app.close()


def onboard(env: dict[str, str], folder: Path, plain: list[str], keyed: list[str],
            processes: int) -> None:
    """The population, onboarded by ``processes`` processes at once (scrypt at cost 14)."""
    station(env, folder).close()  # the tables, once
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=spawn) as pool:
        jobs = [pool.submit(_onboard, env, folder, plain[i::processes], False)
                for i in range(processes)]
        jobs += [pool.submit(_onboard, env, folder, keyed[i::processes], True)
                 for i in range(processes)]
        for job in jobs:
            job.result()


# -- the physical limit ----------------------------------------------------------------

def _digests_for(seconds: float) -> tuple[float, float]:
    """Digests per second in this process for ``seconds``, and CPU seconds per digest."""
    hasher, done = Hasher(COST), 0
    began, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - began < seconds:
        hasher.digest(PASSWORD)
        done += 1
    return done / (time.perf_counter() - began), (time.process_time() - cpu) / done


def digest_capacity(cores: int, seconds: float) -> tuple[float, float]:
    """scrypt digests per second at cost 14 on ``cores`` processes at once, nothing else
    of ours running (the sum of each process's rate, all started before any measures),
    and the CPU seconds one digest takes."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(cores, mp_context=spawn) as pool:
        for started in [pool.submit(time.sleep, 0.3) for _ in range(cores)]:
            started.result()  # every process is up
        measured = list(pool.map(_digests_for, [seconds] * cores))
    return sum(r for r, _ in measured), min(c for _, c in measured)


# -- the served portal -----------------------------------------------------------------

@attrs.define
class Serving:
    """``billing-station serve`` in a process of its own, its output in ``log``."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def worker_pids(self) -> list[int]:
        import psutil

        serving = psutil.Process(self.process.pid)  # serves itself when it has one worker
        return [serving.pid, *(c.pid for c in serving.children(recursive=True))]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def serve(env: dict[str, str], folder: Path, workers: int,
          extra: dict[str, str] | None = None) -> Iterator[Serving]:
    """The portal served by ``workers`` processes on 127.0.0.1, every one of them started
    when it returns."""
    port = free_port()
    log = folder / f"serve-{workers}.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BS_", "POSTGRES_"))}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "from billing_station.cli import main; main()", "serve",
             "--port", str(port), "--workers", str(workers)],
            cwd=folder, stdout=out, stderr=subprocess.STDOUT,
            env=base | env | {"PYTHONPATH": str(ROOT), "BS_MAILBOX": str(folder / "mailbox"),
                              "BS_HASH_COST": str(COST)} | (extra or {}))
    serving = Serving(process, f"http://127.0.0.1:{port}", log)
    try:
        for _ in range(600):  # 30 s at most
            if process.poll() is not None:
                raise RuntimeError(f"serve stopped: {log.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                started = log.read_text(errors="replace").count("Application startup complete")
                if started >= workers and httpx.get(f"{serving.url}/login",
                                                    timeout=2).status_code == 200:
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError("serve did not answer within 30 s")
        yield serving
    finally:
        serving.stop()


# -- reading the store after a run -------------------------------------------------------

def stored_since(env: dict[str, str], folder: Path, after: int
                 ) -> tuple[Counter[str], int, float]:
    """Event counts by class (``LoginAttempt.KeyIssued``) after notification ``after``,
    the attempts not recorded whole (a request with no decision), and the seconds from
    the first of those events to the last (the run's window, as the store saw it)."""
    app = station(env, folder, create=False)
    counts: Counter[str] = Counter()
    last_of: dict[str, str] = {}
    first = last = None
    try:
        start = after + 1
        while True:
            page = app.recorder.select_notifications(start=start, limit=1000)
            if page:
                first = first or page[0]
                last = page[-1]
            for n in page:
                kind = ".".join(n.topic.split(":")[-1].split(".")[-2:])
                counts[kind] += 1
                if kind.startswith("LoginAttempt."):
                    last_of[str(n.originator_id)] = kind
            if len(page) < 1000:
                break
            start = page[-1].id + 1
        window = ((app.mapper.to_domain_event(last).timestamp
                   - app.mapper.to_domain_event(first).timestamp).total_seconds()
                  if first and last else 0.0)
    finally:
        app.close()
    half = sum(1 for kind in last_of.values()  # (the portal's: LoginRequestedFrom)
               if kind.startswith("LoginAttempt.LoginRequested"))
    return counts, half, window


def max_notification(env: dict[str, str], folder: Path) -> int:
    app = station(env, folder, create=False)
    try:
        return int(app.recorder.max_notification_id() or 0)
    finally:
        app.close()


def verify_clean(env: dict[str, str], folder: Path) -> tuple[bool, str]:
    """``billing-station verify`` on the store, as an auditor runs it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BS_", "POSTGRES_"))}
    done = subprocess.run(
        [sys.executable, "-c", "from billing_station.cli import main; main()", "verify"],
        cwd=folder, env=base | env | {"PYTHONPATH": str(ROOT)}, capture_output=True,
        text=True, timeout=300)
    return done.returncode == 0, (done.stdout + done.stderr).strip().splitlines()[-1:][0] \
        if (done.stdout + done.stderr).strip() else ""


def secrets_in_logs(logs: list[Path], mailbox: Path, session_digests: set[str],
                    passwords: list[str]) -> list[str]:
    """What of a secret a log holds: the password, any key mailed in the run (read from
    the mailbox), any session id the people were given (found by its SHA-256)."""
    text = "\n".join(p.read_text(errors="replace") for p in logs if p.exists())
    found = [f"password {p[:2]}…" for p in passwords if p in text]
    keys = set()
    for mail in mailbox.glob("*.eml"):
        keys.update(re.findall(r"通知キー: (\d{12})", mail.read_bytes().decode(errors="replace")))
    found += [f"key {k[:2]}…" for k in keys if k in text]
    found += ["a session id" for token in set(TOKEN.findall(text))
              if hashlib.sha256(token.encode()).hexdigest() in session_digests]
    return found


# -- one run ---------------------------------------------------------------------------

@attrs.frozen
class Figures:
    workers: int
    seconds: float
    users: int
    logins: int
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    digests: int
    capacity: float
    digest_cpu: float
    cpu: dict[str, float]
    problems: list[str]

    @property
    def cpu_ratio(self) -> float:
        """The CPU the digests need against the CPU the portal, PostgreSQL and the load
        tool used: the same ratio, blind to other programs on a shared machine."""
        return self.digests * self.digest_cpu / sum(self.cpu.values())

    @property
    def logins_per_second(self) -> float:
        return self.logins / self.seconds

    @property
    def ratio(self) -> float:
        """Digests done per second against what the cores do with nothing else."""
        return self.digests / self.seconds / self.capacity

    @property
    def limit(self) -> float:
        """Logins/s this run's mix would reach if the digests were all the work."""
        return self.capacity * self.logins / self.digests if self.digests else math.nan

    def line(self) -> str:
        cpu = sum(self.cpu.values())
        return (f"{counted_as(self.workers, 'worker')}: {self.logins_per_second:.1f} logins/s "
                f"completed "
                f"({self.logins:,} in {self.seconds:.1f} s, {counted_as(self.users, 'user')}); latency p50 "
                f"{self.p50:.0f} ms, p95 {self.p95:.0f} ms, p99 {self.p99:.0f} ms; errors "
                f"{self.failures} of {self.requests:,} requests; {self.ratio:.0%} of the "
                f"digest limit ({self.limit:.1f} logins/s for this mix: {self.digests:,} "
                f"scrypt digests at {self.capacity:.1f}/s on all cores); by CPU time "
                f"{self.cpu_ratio:.0%} (the digests {self.digests * self.digest_cpu:.1f} s of "
                f"{cpu:.1f} s: " + ", ".join(f"{k} {v:.1f}" for k, v in self.cpu.items()) + ")")


def _cpu_of(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def _postgres_pids() -> list[int]:
    import psutil

    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]


def run_load(workers: int, seconds: float, users: int, cores: int, folder: Path,
             sample: float, measure_after: bool = True) -> Figures:
    """One headless locust run against ``workers`` worker processes on a fresh store; the
    digest limit is measured just before and just after it (the mean is used: the machine
    may be shared)."""
    folder.mkdir(parents=True)
    capacity, digest_cpu = digest_capacity(cores, sample)
    flows = capacity * seconds / 3.2  # about 3.2 digests a flow in this mix
    keyed_needed = math.ceil(flows * 4 / 9 / 5 * 1.5) + users  # 5 keys an hour each (D-10)
    plain = [f"p{workers}u{i:06d}" for i in range(users)]
    keyed = [f"k{workers}u{i:06d}" for i in range(keyed_needed)]
    problems: list[str] = []
    with fresh_store(folder) as env:
        onboard(env, folder, plain, keyed, cores)
        (folder / "accounts.json").write_text(json.dumps(
            {"password": PASSWORD, "plain": plain, "keyed": keyed}))
        start = max_notification(env, folder)
        with serve(env, folder, workers) as serving:
            pids = serving.worker_pids()
            pg = _postgres_pids()
            before = {"portal": _cpu_of(pids), "postgres": _cpu_of(pg)}
            locust_log = folder / f"locust-{workers}.log"
            children = _children_cpu()
            with locust_log.open("wb") as out:
                locust = subprocess.run(
                    [str(Path(sys.executable).parent / "locust"), "-f",
                     str(ROOT / "benchmarks" / "locustfile.py"), "--headless",
                     "-u", str(users), "-r", str(users), "-t", f"{seconds:g}s",
                     "--stop-timeout", "10", "--host", serving.url,
                     "--csv", str(folder / "locust"), "--only-summary", "--loglevel", "INFO",
                     "--exit-code-on-error", "0"],
                    env=os.environ | {"BS_LOAD_ACCOUNTS": str(folder / "accounts.json"),
                                      "BS_MAILBOX": str(folder / "mailbox"),
                                      "BS_LOAD_RESULT": str(folder / "seen.json")},
                    stdout=out, stderr=subprocess.STDOUT, timeout=seconds + 120, check=False)
            cpu = {"portal": _cpu_of(pids) - before["portal"],
                   "postgres": _cpu_of(pg) - before["postgres"],
                   "load tool": _children_cpu() - children}
            after, after_cpu = digest_capacity(cores, sample) if measure_after else (
                capacity, digest_cpu)
            print(f"  digest limit: {capacity:.1f}/s before, {after:.1f}/s after; one digest "
                  f"{digest_cpu * 1000:.1f} / {after_cpu * 1000:.1f} ms of CPU")
            capacity, digest_cpu = (capacity + after) / 2, min(digest_cpu, after_cpu)
        if locust.returncode != 0:
            problems.append(f"locust exited {locust.returncode}: see {locust_log}")
        seen_all = json.loads((folder / "seen.json").read_text()) if (
            folder / "seen.json").exists() else {"seen": {}, "session_digests": []}
        seen: dict[str, int] = seen_all["seen"]
        counts, half, elapsed = stored_since(env, folder, start)
        for what, event in SEEN_IN_STORE.items():
            if seen.get(what, 0) > counts[event]:
                problems.append(f"{what}: the people saw {seen[what]}, the store holds "
                                f"{counts[event]}")
        if half:
            problems.append(f"{counted_as(half, 'login attempt')} recorded without a decision")
        if seen.get("keyed pool exhausted"):
            problems.append("the keyed accounts ran out (raise the pool)")
        clean, said = verify_clean(env, folder)
        if not clean:
            problems.append(f"verify: {said}")
        leaked = secrets_in_logs([serving.log, locust_log], folder / "mailbox",
                                 set(seen_all["session_digests"]), [PASSWORD])
        if leaked:
            problems.append("in the logs: " + ", ".join(sorted(set(leaked))))
    total = _aggregated(folder / "locust_stats.csv")
    print(f"  seen by the people: {json.dumps(seen, ensure_ascii=False)}; stored: " + ", ".join(
        f"{counts[e]} {e.split('.')[-1]}" for e in SEEN_IN_STORE.values())
        + f"; verify: {said or 'clean'}; secrets in {len(_lines(serving.log, locust_log)):,} "
        f"log lines: {len(leaked)}")
    return Figures(workers, elapsed, users, counts["LoginAttempt.LoginCompleted"],
                   int(total["Request Count"]), int(total["Failure Count"]),
                   float(total["50%"]), float(total["95%"]), float(total["99%"]),
                   sum(counts[k] * n for k, n in DIGESTS.items()), capacity, digest_cpu, cpu,
                   problems)


def summary(workers: int, runs: list[Figures]) -> str:
    """One worker count's runs: the median and range of each ratio and of logins/s."""
    def spread(values: list[float], form: str) -> str:
        return (f"{statistics.median(values):{form}} "
                f"({min(values):{form}}-{max(values):{form}})")
    return (f"{counted_as(workers, 'worker')}: "
            f"{spread([r.ratio for r in runs], '.0%')} of the digest limit, by CPU time "
            f"{spread([r.cpu_ratio for r in runs], '.0%')}; "
            f"{spread([r.logins_per_second for r in runs], '.1f')} logins/s; errors "
            f"{sum(r.failures for r in runs)}")


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _lines(*logs: Path) -> list[str]:
    return [line for log in logs if log.exists()
            for line in log.read_text(errors="replace").splitlines()]


def _aggregated(path: Path) -> dict[str, str]:
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return next(r for r in rows if r["Name"] == "Aggregated")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="A short load (a few seconds a run), so CI proves it works.")
    parser.add_argument("--workers", default="1,2,4", help="Worker counts, comma-separated.")
    parser.add_argument("--seconds", type=float, help="Load time per run (default 30; 4 quick).")
    parser.add_argument("--users", type=int, help="Simultaneous people (default 8 per core).")
    parser.add_argument("--keep", type=Path, help="Keep the runs' logs and CSVs here.")
    parser.add_argument("--repeat", type=int, default=1,
                        help="Runs of each worker count, in turn; then each count's median "
                             "and range (default 1).")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat: give 1 or more runs")
    cores = len(os.sched_getaffinity(0))
    seconds = args.seconds or (3.0 if args.quick else 30.0)
    users = args.users or (4 if args.quick else 8) * cores
    where = (f"PostgreSQL at {os.environ['POSTGRES_HOST']}:{os.environ.get('POSTGRES_PORT', 5432)}"
             if os.environ.get("POSTGRES_HOST") else "SQLite (POSTGRES_HOST is not set)")
    print(f"Portal load: {where}, {counted_as(cores, 'core')}, scrypt N=2^{COST}, "
          f"{counted_as(users, 'user')}, {seconds:g} s a run")
    print(f"The digest limit: scrypt digests/s on {counted_as(cores, 'process')} at once with nothing "
          "else running, measured before and after each run")
    failed = False
    folder = Path(tempfile.mkdtemp(prefix="bs-portal-load-"))
    runs: dict[int, list[Figures]] = {}
    try:
        for run in range(1, args.repeat + 1):
            for workers in [int(w) for w in args.workers.split(",")]:
                figures = run_load(workers, seconds, users, cores,
                                   folder / f"run-{run}-workers-{workers}",
                                   0.5 if args.quick else 3.0, measure_after=not args.quick)
                print(figures.line())
                for problem in figures.problems:
                    print(f"  PROBLEM: {problem}")
                failed = failed or bool(figures.problems) or figures.failures > 0
                runs.setdefault(workers, []).append(figures)
        if args.repeat > 1:
            print(f"Over {counted_as(args.repeat, 'run')} of each (median, range):")
            for workers, each in runs.items():
                print("  " + summary(workers, each))
    finally:
        if args.keep:
            shutil.copytree(folder, args.keep, dirs_exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
    if failed:
        print("FAILED: a request failed, or something the people saw is not in the store, "
              "or verify found a violation, or a secret is in a log")
        sys.exit(1)
    print("OK: no error, nothing lost, verify clean, no secret in the logs (every run)")


if __name__ == "__main__":
    main()
