"""Files written whole or not at all: the auditor's outputs (a page, a checkpoint)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def beside(path: Path) -> Path:
    """The file ``write_whole`` writes first (its name 5 bytes longer than ``path``'s)."""
    return path.with_name(f".{path.name}.new")


def write_whole(path: Path, data: bytes) -> None:
    """``data`` into ``path``, written to a file beside it, then moved into place: a full
    disk or a Ctrl-C leaves the earlier file as it was, and nothing beside it. An OSError
    names ``path``."""
    beside_it = beside(path)
    try:
        beside_it.write_bytes(data)
        os.replace(beside_it, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            beside_it.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise
