"""What a simulation run leaves in its output folder, by name (one table: what writes a
file names it from here, and so does what clears an earlier run's), setting an earlier
run aside as a run begins, and clearing it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from simulations.varied import VARIED

STORE = "simulation.sqlite3"
STORE_FILES = tuple(STORE + suffix for suffix in ("", "-wal", "-shm", "-journal"))
REPORT_TXT, REPORT_JSON, REPORT_HTML = "report.txt", "report.json", "report.html"
COMPARE_TXT, COMPARE_HTML = "compare.txt", "compare.html"
TIME_TO_LOGIN, EXPIRIES_BY_HOUR = "time-to-login.png", "expiries-by-hour.png"
COMPARE_TIME_TO_LOGIN, COMPARE_OUTCOMES = "compare-time-to-login.png", "compare-outcomes.png"
FILES = (REPORT_TXT, REPORT_JSON, REPORT_HTML, COMPARE_TXT, COMPARE_HTML, TIME_TO_LOGIN,
         EXPIRIES_BY_HOUR, COMPARE_TIME_TO_LOGIN, COMPARE_OUTCOMES)


# The folders of a run's shards (--shards) or of the runs it compared (--compare), each
# with a store, or (a compared run in shards) with its shards' folders
def shard_folder(index: int, count: int) -> str:
    return f"shard-{index + 1:02d}-of-{count:02d}"


# Left in each compared run's folder: a run of one's own saved (--out) as OUT/validity-5
# is named as a compared run is, and is not an earlier run of OUT's to clear
COMPARED = ".compared-run"


def mark_compared(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / COMPARED).write_text(
        "One run of a `simulate --compare` in the folder above: the next run there clears"
        " this folder.\n", encoding="utf-8")


# what shard_folder and each Varied.folder_of name, and nothing else
# (tests/test_simulations.py holds them to it)
_VARIED_FOLDERS = "|".join(v.folder for v in VARIED.values())
SHARD_FOLDERS = re.compile(r"shard-\d+-of-\d+")
RUN_FOLDERS = re.compile(rf"{SHARD_FOLDERS.pattern}|({_VARIED_FOLDERS})-\d+(\.\d+)?")


def _runs(folder: Path, names: re.Pattern[str], compared_too: bool) -> list[Path]:
    """The folders in ``folder`` named by ``names`` that are runs': a shard's, holding a
    store; and if ``compared_too``, a compared run's, by its mark (with its store, its
    shards' folders, or nothing more: a run stopped as it began, whose mark was all it
    had written)."""
    return [path for path in sorted(folder.glob("*")) if names.fullmatch(path.name)
            and path.is_dir() and not path.is_symlink() and (
                (path / STORE).is_file() if SHARD_FOLDERS.fullmatch(path.name)
                else compared_too and (path / COMPARED).is_file())]


def earlier_run(folder: Path) -> list[Path]:
    """What an earlier run left in ``folder`` (nothing if it left neither a store there nor
    a run's folder): its files and its runs' folders (see ``_runs``)."""
    runs = _runs(folder, RUN_FOLDERS, True)
    if not runs and not (folder / STORE).is_file():
        return []
    return [*(folder / name for name in STORE_FILES + FILES if (folder / name).is_file()),
            *runs]


def earlier_stores(folder: Path) -> list[Path]:
    """The stores of what an earlier run left in ``folder`` (its own, its runs')."""
    stores: list[Path] = []
    for path in earlier_run(folder):
        if path.is_dir():
            stores += [path / STORE] if (path / STORE).is_file() else [
                shard / STORE for shard in _runs(path, SHARD_FOLDERS, False)]
        elif path.name == STORE:
            stores.append(path)
    return stores


# The earlier run in a folder, moved aside as a run begins there (``set_aside_earlier_run``):
# put back if the run stops short, removed once it is whole. It is gathered in PARTIAL
# and named SET_ASIDE once whole, and renamed DROPPED before it is removed, so that a
# command killed at any point leaves a folder the next run reads right.
SET_ASIDE = ".earlier-run"
PARTIAL, DROPPED = SET_ASIDE + ".partial", SET_ASIDE + ".old"


def holds_earlier_run(folder: Path) -> bool:
    """Whether ``folder`` holds an earlier run: in place, or set aside (wholly or partly)
    by a command killed outright."""
    return bool(earlier_run(folder)) or any((folder / name).is_dir()
                                            for name in (SET_ASIDE, PARTIAL))


def set_aside_earlier_run(folder: Path) -> None:
    """As a run begins: what an earlier run left in ``folder`` moved into SET_ASIDE (a
    rename each, on the same disk), so that all there is is this run's, and the earlier
    run can be put back if this one stops short. What a killed command left is read first:
    a run set aside whole is the last whole run (what is beside it, the killed command's
    run stopped short, is removed); one set aside in part is put back first; one being
    dropped (its run was whole) is removed."""
    if (folder / DROPPED).is_dir():
        shutil.rmtree(folder / DROPPED)
    _moved_back(folder / PARTIAL, folder)
    if (folder / SET_ASIDE).is_dir():
        clear_earlier_run(folder)
        return
    if found := earlier_run(folder):
        (folder / PARTIAL).mkdir()
        for path in found:
            path.rename(folder / PARTIAL / path.name)
        (folder / PARTIAL).rename(folder / SET_ASIDE)


def put_back_earlier_run(folder: Path) -> None:
    """The earlier run set aside as this one began (or the part of it gathered when the
    run was stopped), back in ``folder`` (this run's files removed first:
    ``clear_earlier_run``)."""
    _moved_back(folder / PARTIAL, folder)
    _moved_back(folder / SET_ASIDE, folder)


def drop_earlier_run(folder: Path) -> None:
    """The run is whole: the earlier run set aside as it began is removed."""
    if (folder / SET_ASIDE).is_dir():
        (folder / SET_ASIDE).rename(folder / DROPPED)
        shutil.rmtree(folder / DROPPED)


def _moved_back(aside: Path, folder: Path) -> None:
    if aside.is_dir():
        for path in sorted(aside.iterdir()):
            path.rename(folder / path.name)
        aside.rmdir()


def clear_earlier_run(folder: Path) -> None:
    """Removes what a run left in ``folder``: a run stopped short (before its earlier run is
    put back), or one killed outright beside the run it had set aside; so that a store
    stopped short is never left beside a run's report, nor shards of two runs side by
    side. Nothing else is touched."""
    for path in earlier_run(folder):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


COARSE = 0.02  # s: a file's time is stamped by the kernel's coarse clock, up to a tick
#                   behind time.time() (a store written just after ``began`` seemed older)


def written_since(folder: Path, began: float) -> bool:
    """Whether a run's store in ``folder`` was written since ``began`` (a time.time())."""
    return any(path.stat().st_mtime >= began - COARSE for path in earlier_run(folder)
               if (path.is_file() and path.name.startswith(STORE)) or path.is_dir())
