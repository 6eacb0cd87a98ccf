"""Output paths checked before any work, so a long run never ends in a traceback because
its file or folder cannot be written (and a refusal writes nothing)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click


def _can_write_in(folder: Path) -> bool:
    """Tried, not asked (root passes every permission check, yet cannot write in /proc): a
    folder made in it and removed at once."""
    try:
        os.rmdir(tempfile.mkdtemp(dir=folder, prefix=".bs-"))
    except OSError:
        return False
    return True


def _writable_ancestor(path: Path) -> Path | None:
    """The nearest existing folder at or above ``path``, if it can be written in."""
    for folder in (path, *path.parents):
        if folder.exists():
            return folder if folder.is_dir() and _can_write_in(folder) else None
    return None


def output_folder(ctx: click.Context, param: click.Parameter, value: Path | None
                  ) -> Path | None:
    """An --out folder that exists or can be made (nothing is made yet)."""
    if value is not None and ((value.exists() and not value.is_dir())
                              or _writable_ancestor(value) is None):
        raise click.BadParameter(f"{value} is not a folder that can be written", ctx, param)
    return value


def output_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A file to write (or rewrite): not a folder, in a folder that exists and can be
    written."""
    if value is not None and (value.is_dir() or not value.parent.is_dir()
                              or _writable_ancestor(value.parent) != value.parent):
        raise click.BadParameter(f"{value} cannot be written (its folder must exist and be "
                                 "writable)", ctx, param)
    return value
