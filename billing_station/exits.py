"""The console script's exit codes, one table (README's "Exit codes" shows it)."""

import errno
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import ConnectionPoolClosedError

OK = 0
VIOLATIONS = 1  # verify found a login or change against the policy
NOT_FOUND = 1  # the login ID asked about does not exist (then); history found no attempt
USAGE = 2  # a bad option, argument or setting (click's own code)
DATA_ERROR = 65  # sysexits' EX_DATAERR: not this system's event store, or an unreadable event
UNAVAILABLE = 69  # sysexits' EX_UNAVAILABLE: the store's server or the Dask scheduler is down,
#                  or serve's port is taken
SHARD_FAILED = 70  # sysexits' EX_SOFTWARE: a simulation shard failed even when retried (named)
IO_ERROR = 74  # sysexits' EX_IOERR: a simulation's store or an output could not be written
#               (a full disk)
DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}  # an OSError's errno then
INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as the shell reports a program that signal ends
BROKEN_PIPE = 141  # the output's reader stopped reading (| head): 128 + SIGPIPE, as the shell
#                   reports a program that signal ends
TERMINATED = 143  # a simulation asked to stop (SIGTERM: kill, timeout): 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into what Ctrl-C raises where a command stops cleanly on it."""


def terminate_as_interrupt() -> Callable[[], None]:
    """SIGTERM stops this command as Ctrl-C does (only the main thread can say), until the
    function returned puts the handler before back."""
    def raised(_signal: int, _frame: object) -> None:
        raise Terminated
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    before = signal.signal(signal.SIGTERM, raised)

    def restored() -> None:
        signal.signal(signal.SIGTERM, before)
    return restored


def stopped(e: KeyboardInterrupt) -> tuple[str, int]:
    """What stopped a command, in a word, and its exit code: Ctrl-C's, or SIGTERM's. What
    the stop left half-done in the frames it crossed is let go of first."""
    _let_go_of(e)
    return ("terminated", TERMINATED) if isinstance(e, Terminated) else (
        "interrupted", INTERRUPTED)


def _let_go_of(e: BaseException) -> None:
    """A stop can fall between a store's pool handing out a connection and the ``with``
    that gives it back. The command, stopping, closed the pool (closing that connection
    too); the connection's generator, kept by the stop's traceback, then failed to give it
    back to a closed pool as the interpreter shut down: a traceback after the command's one
    line. Nothing is lost: the frames are cleared here, that generator finalized, its
    error dropped (any other is said as before)."""
    before = sys.unraisablehook

    def said(unraisable: Any) -> None:
        if not (isinstance(unraisable.exc_value, ConnectionPoolClosedError)
                and getattr(unraisable.object, "__name__", "") == "get_connection"):
            before(unraisable)
    sys.unraisablehook = said
    try:
        while e is not None:
            traceback.clear_frames(e.__traceback__)
            e = e.__context__  # type: ignore[assignment]
    finally:
        sys.unraisablehook = before


def settled() -> None:
    """The command's outcome is settled (what it read is read; its outputs are written whole
    from here): a Ctrl-C from now on is ignored, so that 130 never follows written outputs.
    The interpreter, shutting down, puts a handled SIGINT back to the system's default, which
    ended a finished verify by the signal (the shell's 130, with no word); an ignored one it
    leaves ignored. (Only the main thread handles signals: elsewhere there is nothing to do.)"""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
