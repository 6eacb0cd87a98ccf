"""Benchmark: `verify` against the library's bare read-and-decode rate, on a big store.

Builds a SQLite store of N events (1,000,000 by default) of ordinary logins with the key,
then measures, each in a fresh process so peak memory is its own:
  bare    recorder.select_notifications pages + mapper.to_domain_event, nothing else
  verify  the audit's full policy check over the same events
at N/10 events and at N events. Prints events/s, verify's share of the bare rate (target
≥ 50%) and peak RSS (target: flat as the store grows).

    .venv/bin/python -m benchmarks.audit [--events N] [--folder DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from tqdm import tqdm

from application import bootstrap
from application.adapters.mailbox import MailboxFolder
from application.audit import Verifier, replay
from application.billing_station import BillingStation
from domain.accounts import Customer, LoginIndex
from domain.crypto import Hasher
from domain.forms import NOTIFY_KEY_ON
from domain.login_attempt import LoginAttempt
from domain.policy import KeyPolicy

EVENTS_PER_LOGIN = 7  # 5 on the attempt, KeyMailed and LoggedIn on the account
ACCOUNTS = 200
LOGINS_PER_SAVE = 50


def open_store(path: Path) -> BillingStation:
    return bootstrap.application(store=bootstrap.store_settings("sqlite", path),
                                 mailer=MailboxFolder(path.parent / "mailbox"), hasher=Hasher(4))


def build(app: BillingStation, accounts: list[Customer], events: int, start: datetime
          ) -> datetime:
    """Adds ordinary logins with the key (as the services would record them) until the
    store holds ``events``; returns the clock after the last one."""
    policy, digest = KeyPolicy(), app.hasher.digest("000000000000")
    now, have = start, int(app.recorder.max_notification_id() or 0)
    with tqdm(total=events, initial=have, unit="event", unit_scale=True, desc="building",
              disable=None) as bar:
        while have < events:
            batch: list[Any] = []
            for account in accounts[:LOGINS_PER_SAVE]:
                now += timedelta(seconds=7)
                attempt = LoginAttempt.request(account.login_id, account.id, now, uuid4())
                attempt.accept_password(True, False, now)
                attempt.issue_key(digest, account.email, policy, now)
                account.key_mailed(attempt.id, now)
                done = now + timedelta(seconds=40)
                attempt.trigger_event(LoginAttempt.KeyVerified, timestamp=done)
                attempt.complete(done)
                account.logged_in(attempt.id, done)
                batch.append(attempt)
            app.save(*batch, *accounts[:LOGINS_PER_SAVE])
            accounts = accounts[LOGINS_PER_SAVE:] + accounts[:LOGINS_PER_SAVE]
            have += len(batch) * EVENTS_PER_LOGIN
            bar.update(len(batch) * EVENTS_PER_LOGIN)
    return now


def population(app: BillingStation) -> list[Customer]:
    """Main IDs with the notify key on, past their first login."""
    made = []
    for i in range(ACCOUNTS):
        customer = Customer.onboard(
            f"BS{i:07d}", login_id=f"user{i:05d}", password_digest=app.hasher.digest("x"),
            information={"email": f"user{i:05d}@example.co.jp", "notify_key": NOTIFY_KEY_ON},
            company="ベンチマーク", company_kana="ベンチマーク", plan="スタンダード",
        )
        customer.logged_in(customer.id, customer.created_on)
        made.append(customer)
        app.save(customer, LoginIndex.claim(customer))
    return made


# Measurement, in a child process of its own ---------------------------------------------
def bare(app: BillingStation) -> int:
    count = 0
    start = None
    while True:
        page = app.recorder.select_notifications(start=start, limit=1000)
        for n in page:
            app.mapper.to_domain_event(n)
        count += len(page)
        if len(page) < 1000:
            return count
        start = page[-1].id + 1


def verify(app: BillingStation) -> int:
    verifier = Verifier()
    violations = sum(1 for _ in verifier.check(replay(app)))
    assert violations == 0, f"{violations} violations in a store of lawful logins"
    return verifier.counts["events"]


MODES: dict[str, Callable[[BillingStation], int]] = {"bare": bare, "verify": verify}


def measure(mode: str, path: Path) -> dict[str, float]:
    app = open_store(path)
    began = time.perf_counter()
    events = MODES[mode](app)
    seconds = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"events": events, "per_second": events / seconds, "peak_rss_mib": peak_kib / 1024}


def in_child(mode: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "benchmarks.audit", "--measure", mode,
                          str(path)], check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, help="keep the store here (default: temporary)")
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bs-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "audit-benchmark.sqlite3"
    for old in folder.glob(path.name + "*"):
        old.unlink()
    app = open_store(path)
    accounts = population(app)
    clock = datetime(2026, 1, 5, tzinfo=UTC)
    print(f"store: {path}")
    print(f"{'events':>10} {'bare ev/s':>10} {'verify ev/s':>12} {'ratio':>6} "
          f"{'bare RSS':>9} {'verify RSS':>11}")
    for size in (args.events // 10, args.events):
        clock = build(app, accounts, size, clock)
        b, v = in_child("bare", path), in_child("verify", path)
        print(f"{v['events']:>10,.0f} {b['per_second']:>10,.0f} {v['per_second']:>12,.0f} "
              f"{v['per_second'] / b['per_second']:>6.0%} {b['peak_rss_mib']:>7.0f}Mi "
              f"{v['peak_rss_mib']:>9.0f}Mi")
    app.close()
    print("target: verify ≥ 50% of the bare rate; verify RSS flat from N/10 to N events")


if __name__ == "__main__":
    main()
