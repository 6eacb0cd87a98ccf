"""A short load on the served portal, as benchmarks/portal/ runs it (locust in a process
of its own: it must never be imported here, it patches with gevent): two worker processes
on PostgreSQL where configured (else SQLite), people doing the manual's flows for a few
seconds. Nothing the people saw succeed may be missing from the store, verify must be
clean, no attempt half-recorded, no key, password or session id in any log line, and no
request may fail. Speed is printed, never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_a_short_load_loses_nothing_verifies_clean_and_logs_no_secret() -> None:
    assert "locust" not in sys.modules
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.portal", "--quick", "--workers", "2",
         "--seconds", "3", "--users", "6"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
        env=os.environ | {"BS_LOAD_COST": "10", "PYTHONPATH": str(ROOT)})
    print(done.stdout[-3000:], done.stderr[-3000:])
    assert done.returncode == 0, done.stdout + done.stderr
    store = "PostgreSQL" if os.environ.get("POSTGRES_HOST") else "SQLite"
    assert f"Portal load: {store}" in done.stdout
    assert "errors 0 of " in done.stdout and "secrets in " in done.stdout
    assert "log lines: 0" in done.stdout and "verify: verified: no violations" in done.stdout
    assert done.stdout.rstrip().endswith(
        "OK: no error, nothing lost, verify clean, no secret in the logs (every run)")
    assert "locust" not in sys.modules
