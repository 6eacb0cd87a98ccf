"""``billing-station serve`` in a process of its own, on loopback, until the run ends."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx

from benchmarks.portal.settings import COST, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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
