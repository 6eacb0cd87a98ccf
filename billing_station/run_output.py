"""A simulation's output folder as the command holds it: one run at a time in it (locked
while the command runs), never over what is not a run's, and what a run stopped short
wrote removed."""

from __future__ import annotations

import fcntl
import os
from contextlib import suppress
from pathlib import Path

import click

from application import bootstrap
from application.audit import NotAnEventStore
from simulations.run_folder import FILES as RUN_FILES
from simulations.run_folder import (
    RUN_FOLDERS,
    SET_ASIDE,
    clear_earlier_run,
    earlier_run,
    earlier_stores,
    put_back_earlier_run,
    written_since,
)


def discarded(folder: Path, began: float, replaced: bool = False) -> str:
    """A store stopped short (Ctrl-C, a full disk, a shard failed) is no run: what it wrote
    is removed (freeing the disk too), and the earlier run it set aside as it began is put
    back. Says what became of it, and, if the folder held an earlier run as this one began
    (``replaced``), of that one."""
    try:
        if (folder / SET_ASIDE).is_dir() or written_since(folder, began):  # (else the run
            clear_earlier_run(folder)  # had not begun: what is there is the earlier run)
    except OSError as e:  # (a shard on a cluster still writing there)
        return f"the run's files in {folder} could not all be removed: {e.strerror or e}"
    try:
        put_back_earlier_run(folder)
    except OSError as e:
        return (f"nothing of the run is kept in {folder}; the earlier run there could not be "
                f"put back ({e.strerror or e}): it is in {folder / SET_ASIDE}")
    said = f"nothing of the run is kept in {folder}"
    if replaced:
        said += (", and the earlier run there is as it was" if earlier_run(folder) else
                 ", nor the earlier run there: it was removed as this one began")
    return said


def refuse_to_replace_a_foreign_store(folder: Path) -> None:
    """A run replaces the store an earlier run left in its folder, found by its name: one
    of that name that is no event store (another program's database, or no database)
    is refused, not replaced; and a folder holding files named as a run's (report.txt...)
    beside no run's store is someone else's, not overwritten."""
    if not earlier_run(folder) and (ours := [name for name in RUN_FILES
                                             if (folder / name).exists()]):
        them = "it" if len(ours) == 1 else "them"
        raise click.BadParameter(
            f"{folder} holds {', '.join(ours)} but no simulation's store: it is no earlier "
            f"run's folder, and a run there would write over {them} (choose another folder, "
            f"or remove {them})", param_hint="'--out'")
    for store in earlier_stores(folder):
        try:
            bootstrap.refuse_a_foreign_database(bootstrap.store_settings("sqlite", store))
        except NotAnEventStore as e:
            raise click.BadParameter(f"{e}: a run in {folder} would replace it",
                                     param_hint="'--out'") from None


def hold(folder: Path, fresh: bool) -> None:
    """One run at a time in a folder: a second run there removed the first's store while it
    ran, and the first then audited the second's store as its own. The folder is locked
    until the command ends (made if ``fresh``, and removed again if the run is refused),
    then checked; first, the runs' folders it is in are held (see ``_enclosing_runs_held``)."""
    for path in (folder, folder.resolve()):  # (so named, in one, or a link to either)
        if aside := next((p for p in (path, *path.parents) if p.name.startswith(SET_ASIDE)),
                         None):
            raise click.BadParameter(f"{aside} is where a run in {aside.parent} sets aside the "
                                     f"run before it: choose a folder not in it, not {folder}",
                                     param_hint="'--out'")
    _enclosing_runs_held(folder)
    held = _locked(folder)
    click.get_current_context().call_on_close(lambda: _let_go(held, folder, fresh))
    refuse_to_replace_a_foreign_store(folder)


def _enclosing_runs_held(folder: Path) -> None:
    """A folder named as a run's runs are (``validity-5``, ``shard-01-of-02``) may be one of
    a run in the folder above (``--compare``, ``--shards``), which writes in it: each such
    folder above, as the path resolves (``.``, a link), is held too, shared (refused while
    a run there holds it; a run there is refused until this one ends)."""
    path = folder.resolve()
    while RUN_FOLDERS.fullmatch(path.name) and path.parent.is_dir():
        try:
            above = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:  # (one this user cannot read holds no run of theirs)
            return
        click.get_current_context().call_on_close(lambda fd=above: os.close(fd))
        try:
            fcntl.flock(above, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise click.BadParameter(
                f"another simulate is running in {path.parent}, whose runs are written in "
                f"folders such as {path.name}: wait for it to end, or choose another folder",
                param_hint="'--out'") from None
        path = path.parent


def _locked(folder: Path) -> int:
    """The folder, made if need be, opened and locked: the lock is on the folder the path
    names once locked (a run ending meanwhile removes the folder it made, and another then
    makes it anew)."""
    for _ in range(3):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            held = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as e:
            why = (f"a link to {os.readlink(folder)}, which does not exist"
                   if folder.is_symlink() and not folder.exists() else e.strerror or str(e))
            raise click.BadParameter(f"{folder}: {why}", param_hint="'--out'") from e
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.path.samestat(os.fstat(held), os.stat(folder)):
                return held
        except BlockingIOError:
            os.close(held)
            raise click.BadParameter(
                f"another simulate is running in {folder}: wait for it to end, or choose "
                "another folder", param_hint="'--out'") from None
        except OSError:  # (removed meanwhile: made again above)
            pass
        os.close(held)
    raise click.BadParameter(f"{folder} keeps being removed and made by another program",
                             param_hint="'--out'")


def _let_go(held: int, folder: Path, fresh: bool) -> None:
    """As the command ends: the folder removed if the command made it and leaves nothing in
    it (refused, interrupted, a scheduler not reached), then its lock released (so no run
    that took the lock meanwhile finds its folder gone)."""
    with suppress(OSError):
        if fresh and not any(folder.iterdir()):
            folder.rmdir()
    os.close(held)
