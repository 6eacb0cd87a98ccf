"""What a person at a terminal sees of the reading commands: their progress bar (stderr)
and their output (stdout, and an error on stderr) share one screen, so a line written
while the bar shows clears it first, not glued after it."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from application.bootstrap import store_settings
from tests.conftest import build
from tests.story import KeyRecorder, first_login, moved_to_the_end, onboard, set_notify_key

COLUMNS = 120


def on_a_terminal(store: Path, *args: str) -> str:
    """The bytes the command writes to a terminal of COLUMNS columns (stdout and stderr
    both), as text."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    command = subprocess.Popen(
        [sys.executable, "-c", "from billing_station.console import main; main()", *args],
        stdin=subprocess.DEVNULL, stdout=follower, stderr=follower,
        env={**os.environ, "BS_SQLITE_PATH": str(store), "COLUMNS": str(COLUMNS)})
    os.close(follower)
    written, deadline = b"", time.monotonic() + 60  # (a command that hangs fails the test)
    while time.monotonic() < deadline:
        if not select.select([leader], [], [], deadline - time.monotonic())[0]:
            break
        try:
            read = os.read(leader, 65536)
        except OSError:  # (EIO: the command closed the terminal's other end)
            break
        if not read:
            break
        written += read
    command.kill()  # (gone already, unless it hung)
    command.wait(timeout=10)
    os.close(leader)
    return written.decode()


def glued(screen: str, line: str) -> list[str]:
    """What stands before each ``line`` (a pattern) on its row of the terminal: nothing,
    when the line begins a row (after a newline, or a carriage return that the bar's
    clearing ends with)."""
    return [m.group(1) for m in re.finditer(rf"([^\r\n]+){line}", screen)]


def a_store(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite3"
    app = build(store_settings("sqlite", path), KeyRecorder())
    set_notify_key(app, onboard(app))
    first_login(app)
    app.close()
    return path


def test_timeline_s_lines_begin_their_rows_below_the_progress_bar(tmp_path: Path) -> None:
    screen = on_a_terminal(a_store(tmp_path), "timeline", "main01")
    assert "replaying:" in screen  # (the bar showed: on a terminal, it does)
    assert re.search(r"\d\d:\d\d:\d\d JST  Customer.Onboarded", screen), screen
    assert glued(screen, r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d JST  ") == [], repr(screen)


def test_an_error_met_while_the_bar_shows_begins_its_row(tmp_path: Path) -> None:
    store = a_store(tmp_path)
    moved_to_the_end(store, "NotifyKeyEnabled")
    screen = on_a_terminal(store, "verify")
    assert "replaying:" in screen and "error: the event store holds" in screen, repr(screen)
    assert glued(screen, "error: ") == [], repr(screen)


def test_history_s_page_is_not_poured_onto_the_terminal(tmp_path: Path) -> None:
    """--format html wrote megabytes of markup to the screen; the table names its zone."""
    store = a_store(tmp_path)
    screen = on_a_terminal(store, "history", "--format", "html")
    assert "error: --format html writes a whole page: send it to a file" in screen, screen
    assert "<html" not in screen
    assert "requested_at(JST)" in on_a_terminal(store, "history")
