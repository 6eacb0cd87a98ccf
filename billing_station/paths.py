"""Paths checked before any work: a file to read must be there, and a long run never ends
in a traceback because its file or folder cannot be written (a refusal writes nothing).
Options take ``type=PATH`` with one of these callbacks: ``click.Path`` stats every value
and raises on a NUL in the name."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from application import bootstrap
from application.adapters.files import beside, write_whole
from application.audit import checkpoint
from billing_station import exits


class _GivenPath(click.ParamType):
    """A path as typed; an empty one is refused: ``Path("")`` is the current folder, where
    ``--out ""`` would have put (and cleared) a run."""

    name = "path"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Path:
        if isinstance(value, Path):
            return value
        if not str(value):
            self.fail("an empty path names no file or folder", param, ctx)
        return Path(value)


PATH = _GivenPath()


def _is(path: Path, test: Callable[[Path], bool]) -> bool:
    """A path test that says False, never raises, for a name no file system takes (too
    long, a NUL in it): Path's own tests raise for some of those."""
    try:
        return test(path)
    except (OSError, ValueError):
        return False


def _can_write_in(folder: Path) -> bool:
    """Tried, not asked (root passes every permission check, yet cannot write in /proc): a
    folder made in it and removed at once."""
    try:
        os.rmdir(tempfile.mkdtemp(dir=folder, prefix=".bs-"))
    except OSError:
        return False
    return True


def _writable_ancestor(path: Path) -> Path | None:
    """The nearest existing folder at or above ``path``, if it can be written in and can
    hold ``path``'s name."""
    for folder in (path, *path.parents):
        if _is(folder, Path.exists):
            usable = _is(folder, Path.is_dir) and _can_write_in(folder) and _nameable(path, folder)
            return folder if usable else None
    return None


def _nameable(path: Path, folder: Path) -> bool:
    """Whether the file system under ``folder`` takes ``path``'s name: no NUL, no part
    longer than its limit."""
    name_max = os.pathconf(folder, "PC_NAME_MAX")
    return "\0" not in str(path) and all(len(os.fsencode(p)) <= name_max for p in path.parts)


def output_folder(ctx: click.Context, param: click.Parameter, value: Path | None
                  ) -> Path | None:
    """An --out folder that exists or can be made (nothing is made yet)."""
    if value is not None and ((_is(value, Path.exists) and not _is(value, Path.is_dir))
                              or _writable_ancestor(value) is None):
        raise click.BadParameter(f"{value} is not a folder that can be written", ctx, param)
    return value


def output_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A file to write (or rewrite): not a folder, in a folder that exists and can be
    written."""
    if value is None:
        return None
    if _is(value, Path.is_dir):
        raise click.BadParameter(f"{value} is a folder: name a file in it", ctx, param)
    if _is(value, Path.exists) and not _is(value, Path.is_file):  # a device, a FIFO
        raise click.BadParameter(f"{value} is not a regular file", ctx, param)
    if _writable_ancestor(value.parent) != value.parent:
        raise click.BadParameter(f"{value} cannot be written (its folder must exist and be "
                                 "writable)", ctx, param)
    if not _nameable(beside(value), value.parent):  # (written first, 5 bytes longer)
        raise click.BadParameter(f"{value} cannot be a file's name here (too long: it is "
                                 "written beside itself first, under a name 5 bytes longer; "
                                 "or a NUL in it)", ctx, param)
    return value


def _stores_in(folder: Path) -> str:
    """Where the store files in a run's folder are, said after a folder named as a file."""
    own = sorted(folder.glob("*.sqlite3"))
    if own:
        return f": name the store in it, e.g. {own[0]}"
    if sorted(folder.glob("shard-*/simulation.sqlite3")):
        return f": name its shards' stores, {folder / 'shard-*' / 'simulation.sqlite3'}"
    return ""


def existing_files(ctx: click.Context, param: click.Parameter, values: tuple[Path, ...]
                   ) -> tuple[Path, ...]:
    """Files to read, each of which must exist, each once (read twice, it counts twice)."""
    for value in values:
        if _is(value, Path.is_dir):
            raise click.BadParameter(f"{value} is a folder, not a file{_stores_in(value)}",
                                     ctx, param)
        if not _is(value, Path.is_file):
            raise click.BadParameter(f"{value} is not a regular file" if _is(
                value, Path.exists) else f"no such file: {value}", ctx, param)
    first: dict[Path, Path] = {}
    for value in values:
        same = first.setdefault(value.resolve(), value)
        if same is not value:
            raise click.BadParameter(f"{value} is given twice" if str(same) == str(value) else
                                     f"{same} and {value} are one file, given twice", ctx, param)
    return values


def refuse_overwriting(stores: tuple[Path, ...], page_of_its_own: Callable[[bytes], bool],
                       **outputs: Path | None) -> None:
    """The audit never writes over what it reads (D-16): a file to write (each option named
    by its keyword, ``page`` as --html) that is one of ``stores``, a file SQLite keeps
    beside one, or another output, is refused by its option; so is a file ``page`` would
    replace that is not a page of the command's own (``page_of_its_own``: its first bytes)."""
    kept = {_same(Path(f"{store}{suffix}")) for store in stores
            for suffix in ("", "-wal", "-shm", "-journal")}
    written: dict[tuple[object, ...], str] = {}
    for name, path in outputs.items():
        if path is None:
            continue
        option, same = "'--html'" if name == "page" else f"'--{name}'", _same(path)
        if same in kept:
            raise click.BadParameter(f"{path} is the store being verified (or a file of it): "
                                     "name another file", param_hint=option)
        if same in written:
            raise click.BadParameter(f"{path} is also the file of {written[same]}: "
                                     "name another", param_hint=option)
        if name == "page" and (what := _not_a_page(path, page_of_its_own)):
            raise click.BadParameter(f"{path} is {what}: name another file", param_hint=option)
        written[same] = option


_KEPT = {b"SQLite format 3\x00": "a SQLite database", checkpoint.MARK: "a verify checkpoint"}


def _not_a_page(path: Path, page_of_its_own: Callable[[bytes], bool]) -> str | None:
    """What an existing file that verify's page would replace holds, when it is not a page
    verify wrote: a store, the auditor's checkpoint, another page (a simulation's report,
    named by a slip of the hand, was replaced without a word), any other file (None: none,
    an empty one, or verify's own page)."""
    if not path.exists():
        return None
    try:
        with path.open("rb") as file:
            start = file.read(4096)
    except OSError:  # (replacing it needs only its folder: what it holds is unknown)
        return "a file that cannot be read"
    kept = next((what for mark, what in _KEPT.items() if start.startswith(mark)), None)
    if kept or not start or page_of_its_own(start):
        return kept
    title = re.search(rb"<title>([^<]{1,80})</title>", start)
    return (f"another page (「{title.group(1).decode('utf-8', 'replace')}」), not one verify "
            "wrote" if title else "a file verify did not write")


def _same(path: Path) -> tuple[object, ...]:
    """One file, whatever names it: its device and inode when it exists (a hard link is
    another name of it), else the path with links followed."""
    try:
        found = path.stat()
    except (OSError, ValueError):
        return ("path", path.resolve())
    return ("file", found.st_dev, found.st_ino)


class CannotWrite(click.ClickException):
    """A file that could not be written after all (a full disk, a folder made read-only
    since it was checked): one line naming it, exit 74."""

    exit_code = exits.IO_ERROR

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def write_text(path: Path, text: str) -> None:
    """``text`` into ``path``, whole or not at all (a full disk leaves the earlier file as
    it was, and no empty one), or CannotWrite with the file's name and the system's reason."""
    try:
        write_whole(path, text.encode("utf-8"))
    except OSError as e:
        raise CannotWrite(f"cannot write {path}: {e.strerror or e}") from None


OWN_STORE = ("BS_SQLITE_PATH", "BS_MAIL", "BS_MAILBOX", "CREATE_TABLE")


def refuse_settings_not_read(why: str, also: tuple[str, ...] = ()) -> None:
    """demo and simulate play on a fresh SQLite store and mailbox in their output folder: a
    setting naming another store or mailbox (or one of ``also``, which they do not read
    either) is refused by name rather than ignored; the cipher and compressor settings, which
    they do use, are checked here too, before anything is written."""
    environ = bootstrap.Settings().environ
    ignored = [f"{k}={v}" if v.isprintable() else k for k, v in environ.items()
               if k in OWN_STORE + also or (k == "BS_STORE" and v != "sqlite")]
    if ignored:
        raise click.UsageError(f"{why}; unset {', '.join(ignored)}")
    bootstrap.store_settings("sqlite")
