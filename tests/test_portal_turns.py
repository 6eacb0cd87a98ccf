"""Digest turns shared by serve's workers when they outnumber the cores (portal.turns): as
many digests at once as cores, and a turn given back by a worker killed holding it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from billing_station.serve_command import _turns
from portal.turns import TURNS, Turns, cores, prepare


def test_workers_that_outnumber_the_turns_work_out_as_many_digests_at_once_as_there_are_turns(
        tmp_path: Path) -> None:
    prepare(tmp_path, 2)
    workers = [Turns(tmp_path) for _ in range(3)]  # (each its own files, as a process has)
    lock, at_once, most = threading.Lock(), [0], [0]

    def digest(turns: Turns) -> None:
        with turns.held():
            with lock:
                at_once[0] += 1
                most[0] = max(most[0], at_once[0])
            time.sleep(0.05)
            with lock:
                at_once[0] -= 1

    threads = [threading.Thread(target=digest, args=(worker,))
               for worker in workers for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 2


def test_a_worker_killed_holding_a_turn_gives_it_back(tmp_path: Path) -> None:
    prepare(tmp_path, 1)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from portal.turns import Turns\nwith Turns(Path(sys.argv[1])).held():\n"
         "    print('held', flush=True); time.sleep(60)", str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        mine = Turns(tmp_path)
        waiting = threading.Thread(target=lambda: mine.held().__enter__())
        waiting.start()
        waiting.join(0.3)
        assert waiting.is_alive()  # the only turn is the killed worker's, held
        os.kill(holder.pid, signal.SIGKILL)
        waiting.join(10)
        assert not waiting.is_alive()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("extra", [0, 1])
def test_serve_gives_its_workers_turns_only_when_they_outnumber_the_cores(
        extra: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(TURNS, str(tmp_path))  # an inherited setting: never used
    with _turns(cores() + extra):
        folder = os.environ.get(TURNS)
        if extra:
            assert folder is not None and folder != str(tmp_path)
            assert len(list(Path(folder).glob("turn-*"))) == cores()
        else:
            assert folder is None
    assert TURNS not in os.environ
    assert folder is None or not Path(folder).exists()
