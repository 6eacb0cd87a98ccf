"""The console script's entry point: Ctrl-C while the command is still loading (a second or
so of imports) is one line and exit 130 too, not a traceback; once the command has ended,
Ctrl-C is ignored (exits.settled). Run as a module, it is ./go's: its usage and hints name
./go, as README does (``python -P -m billing_station.console``)."""

from __future__ import annotations

import sys

from billing_station import exits
from billing_station.go_names import GO


def main(prog_name: str | None = None) -> None:
    try:
        from billing_station.cli import main as command
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        sys.exit(exits.INTERRUPTED)
    try:
        command(prog_name=prog_name)
    finally:  # (click's main ends by sys.exit: what follows is the interpreter's shutdown)
        exits.settled()


if __name__ == "__main__":
    main(prog_name=GO)
