"""The standard streams as a command finds them: one the shell closed (``>&-``, ``2>&-``)
is no reason for output to vanish or for a progress bar to fail; and a page written whole,
or its failure said."""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm


class Closed(io.TextIOBase):
    """Standard output the shell closed: writing to it is an error (exit 74, said on
    stderr), where click would drop the output and exit 0."""

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "the output is closed (>&-): nothing could be written")


def opened() -> None:
    """Stands in for a closed stream: stdout, an error when written to; stderr (messages and
    progress bars, with nowhere to go), a sink, so that the exit code still tells."""
    if sys.stdout is None:
        sys.stdout = Closed()
    if sys.stderr is None:
        sys.stderr = io.StringIO()  # (read by nothing; one command's messages are small)


def write_whole(text: str) -> None:
    """``text`` to stdout through its buffer, a piece at a time: a single write larger than
    the buffer is handed to the system as it is, and CPython drops what a short write (a
    nearly full disk) left over, without an error; through the buffer the rest is
    written or its error raised."""
    piece = io.DEFAULT_BUFFER_SIZE // 4  # characters (up to 4 bytes each in UTF-8)
    for start in range(0, len(text), piece):
        sys.stdout.write(text[start:start + piece])
    sys.stdout.flush()


def reader_gone() -> None:
    """Standard output whose reader stopped reading (| head): what is still written to it
    goes nowhere, and the interpreter's last flush raises nothing."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


class _Below:
    """A standard stream on the terminal a progress bar is drawn on: each write clears the
    bar first (it is drawn again at its next update), so a line starts on a line of its own,
    not glued after the bar."""

    def __init__(self, stream: Any, bar: tqdm[Any]) -> None:
        self._stream, self._bar = stream, bar

    def write(self, text: str) -> int:
        self._bar.clear()
        written: int = self._stream.write(text)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def apart_from(bar: tqdm[Any]) -> Iterator[None]:
    """While ``bar`` shows (on a terminal): what is written to stdout or stderr on that
    terminal (results, an error) clears it first. Entered in a generator (the replay's, in
    audit_commands.events), the streams stay swapped while it is suspended: the command's
    own writes are what go through them; they come back when it is closed."""
    if bar.disable:  # (no terminal to draw it on)
        yield
        return
    outputs = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (_Below(s, bar) if s.isatty() else s for s in outputs)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = outputs
