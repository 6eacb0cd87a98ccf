"""One run of the load: the people (locust) against the served portal, and its figures."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

import attrs

from benchmarks.portal.limit import digest_capacity
from benchmarks.portal.logs import lines, secrets_in_logs
from benchmarks.portal.serving import serve
from benchmarks.portal.settings import PASSWORD, ROOT
from benchmarks.portal.store import (
    fresh_store,
    max_notification,
    onboard,
    postmaster,
    stored_since,
    verify_clean,
)
from simulations.wording import counted_as

# The scrypt digests a stored event stands for: a password checked (or an unknown ID tagged), a
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


def _server_cpu(server: int | None) -> float | None:
    """The PostgreSQL server's CPU seconds so far: its postmaster's, its backends' that have
    ended (reaped into it) and its live ones'; None if it is not found or cannot be read.
    (Every process named postgres, each read before and after, counted one that ended
    between them as negative: a whole run's -9.2 s while another server's backends came
    and went.)"""
    import psutil

    if server is None:
        return None
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(server)
        children = process.children()  # (before its times: one reaped between is in them)
        times = process.cpu_times()
        return (times.user + times.system + times.children_user + times.children_system
                + _cpu_of([child.pid for child in children]))
    return None


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
            pids, pg = serving.worker_pids(), postmaster()
            portal_before, server_before = _cpu_of(pids), _server_cpu(pg)
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
            server_after = _server_cpu(pg)
            cpu = {"portal": _cpu_of(pids) - portal_before}
            if server_before is not None and server_after is not None:  # (else left out)
                cpu["postgres"] = server_after - server_before
            cpu["load tool"] = _children_cpu() - children
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
        + f"; verify: {said or 'clean'}; secrets in {len(lines(serving.log, locust_log)):,} "
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


def _aggregated(path: Path) -> dict[str, str]:
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return next(r for r in rows if r["Name"] == "Aggregated")
