"""The load's store: a fresh one for each run, its population onboarded, and what it holds
afterwards (counted, verified as an auditor does)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from application import bootstrap
from application.outcomes import TopPage
from benchmarks.portal.settings import COST, PASSWORD, ROOT
from domain.crypto import Hasher
from domain.forms import Plan


def _dsn() -> str:
    e = os.environ
    return (f"host={e['POSTGRES_HOST']} port={e.get('POSTGRES_PORT', '5432')} "
            f"dbname={e['POSTGRES_DBNAME']} user={e['POSTGRES_USER']} "
            f"password={e.get('POSTGRES_PASSWORD', '')}")


def postmaster() -> int | None:
    """The configured PostgreSQL server's process id: its postmaster, the parent of this
    connection's backend, checked by its start time (a server elsewhere, or in a container,
    numbers its processes apart: an id here may be another server's); else None."""
    if not os.environ.get("POSTGRES_HOST"):
        return None
    import psutil
    import psycopg

    with psycopg.connect(_dsn()) as conn:  # (the backend read while it serves us)
        row = conn.execute("SELECT pg_backend_pid(), "
                           "extract(epoch FROM pg_postmaster_start_time())").fetchone()
        if row is None:
            return None
        with contextlib.suppress(psutil.Error):
            server = psutil.Process(row[0]).parent()
            if server is not None and abs(server.create_time() - float(row[1])) < 5:
                return server.pid
    return None


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
