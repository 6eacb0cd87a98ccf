"""The console script's entry point: Ctrl-C while the command is still loading (a second or
so of imports) is one line and exit 130 too, not a traceback; once the command has ended,
Ctrl-C is ignored (exits.settled)."""

from __future__ import annotations

import sys

from billing_station import exits


def main() -> None:
    try:
        from billing_station.cli import main as command
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        sys.exit(exits.INTERRUPTED)
    try:
        command()
    finally:  # (click's main ends by sys.exit: what follows is the interpreter's shutdown)
        exits.settled()
