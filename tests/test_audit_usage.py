"""The auditor's commands at their edges: instants and periods as typed, outputs that cannot be
written (exit 74, no debris), streams the shell closed, and Ctrl-C (exit 130)."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from application.audit import Verifier
from application.bootstrap import store_settings
from application.japan_time import JST
from billing_station.cli import main
from billing_station.exits import (
    BROKEN_PIPE,
    INTERRUPTED,
    IO_ERROR,
    USAGE,
)
from billing_station.instants import Instant
from tests.audit_cli import a_store_with_one_login, audit, files, refused_in_one_line
from tests.conftest import build
from tests.processes import files_of_at_most
from tests.story import (
    KeyRecorder,
    first_login,
)

ROOT = Path(__file__).parent.parent


def console_on_a_store(tmp_path: Path, *command: str) -> tuple[dict[str, str], list[str]]:
    """The console script's process (its environment and argv) running ``command`` on a
    store with one login, no other BS_ setting of this machine's leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BS_")}
    env["BS_SQLITE_PATH"] = str(a_store_with_one_login(tmp_path))
    return env, [sys.executable, "-m", "billing_station.cli", *command]


def _file_of_at_most(size: int) -> None:
    """(In the child:) files written past ``size`` bytes fail, as on a nearly full disk:
    the write that crosses it is short, the next one refused (EFBIG, not the signal)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


@pytest.mark.parametrize("to_first", [False, True])
@pytest.mark.parametrize("command", ["history", "timeline"])
def test_a_reversed_period_is_a_usage_error(tmp_path: Path, command: str, to_first: bool
                                            ) -> None:
    """In either order: --to's check needs --from read first (--from is eager)."""
    period = ["--from", "2026-04-10", "--to", "2026-04-01"]
    args = [command, *(["main01"] if command == "timeline" else []),
            *(period[2:] + period[:2] if to_first else period)]
    result = audit({"BS_SQLITE_PATH": str(tmp_path / "none.sqlite3")}, *args)
    assert result.exit_code == USAGE and "--to must be after --from" in result.output


@pytest.mark.parametrize(("to", "said"), [("2026-04-01", "the period ends before it begins"),
                                         ("2026-04-10", "the period is empty")])
def test_a_period_is_said_as_it_is(tmp_path: Path, to: str, said: str) -> None:
    result = audit({"BS_SQLITE_PATH": str(tmp_path / "none.sqlite3")}, "history",
                   "--from", "2026-04-10", "--to", to)
    assert result.exit_code == USAGE and f"{said}: --to must be after --from" in result.output


@pytest.mark.parametrize("option", ["--html", "--checkpoint"])
def test_a_folder_named_as_a_file_to_write_is_called_a_folder(tmp_path: Path, option: str
                                                              ) -> None:
    result = audit({"BS_SQLITE_PATH": str(tmp_path / "none.sqlite3")}, "verify", option,
                   str(tmp_path))
    assert result.exit_code == USAGE and f"{tmp_path} is a folder: name a file in it" in (
        result.output.replace("\n", " ")), result.output


def test_a_page_is_not_written_over_a_checkpoint_a_store_or_another_file(tmp_path: Path) -> None:
    """verify --html named the auditor's checkpoint, another store, or a simulation's report
    by mistake: it was replaced by the page, without a word. Its own page it writes again."""
    store = a_store_with_one_login(tmp_path)
    env, checkpoint = {"BS_SQLITE_PATH": str(store)}, tmp_path / "audit.ckpt"
    assert audit(env, "verify", "--checkpoint", str(checkpoint)).exit_code == 0
    other = tmp_path / "other.sqlite3"
    shutil.copy(store, other)
    report, notes = tmp_path / "report.html", tmp_path / "notes.txt"
    report.write_text("<!doctype html><html lang=\"ja\"><head><title>シミュレーション報告: office"
                      "</title></head><body></body></html>", encoding="utf-8")
    notes.write_text("the auditor's notes")
    for kept, what in ((checkpoint, "a verify checkpoint"), (other, "a SQLite database"),
                       (report, "another page (「シミュレーション報告: office」), not one verify "
                                "wrote"), (notes, "a file verify did not write")):
        before = kept.read_bytes()
        output = refused_in_one_line(audit(env, "verify", "--html", str(kept)), USAGE)
        assert f"Invalid value for '--html': {kept} is {what}: name another file" in output
        assert kept.read_bytes() == before
    page, empty = tmp_path / "v.html", tmp_path / "empty.html"
    empty.touch()
    for written in (page, page, empty):  # (new, verify's own again, an empty file)
        assert audit(env, "verify", "--html", str(written)).exit_code == 0
        assert "<title>監査結果</title>" in written.read_text(encoding="utf-8")


def test_the_instant_formats_are_in_the_help() -> None:
    help_text = CliRunner().invoke(main, ["history", "--help"]).output
    assert "2015/01/16 10:00" in help_text and "+09:00" in help_text


@pytest.mark.parametrize("args", [
    ["verify", "--html", "/nonexistent-folder/audit.html"],
    ["verify", "--checkpoint", "/nonexistent-folder/audit.ckpt"],
    ["as-of", "9999-12-31T23:59:59-12:00", "main01"], ["as-of", "0001-01-01T00:00+12:00", "x"],
    ["simulate", "office", "--out", "/proc/no-such-folder"],
    ["simulate", "office", "--out", "README.md/inside-a-file"],
    ["demo", "--out", "/proc/no-such-folder"],
    ["verify", "--html", "x" * 300], ["simulate", "office", "--out", f"a/{'x' * 300}/b"],
    ["verify", "--checkpoint", "a\0b"], ["verify", "x" * 300], ["verify", "no-such.sqlite3"],
])
def test_an_unusable_path_or_instant_is_refused_before_any_work(
    tmp_path: Path, args: list[str]
) -> None:
    result = audit({"BS_SQLITE_PATH": str(tmp_path / "none.sqlite3")}, *args)
    assert result.exit_code == USAGE and "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_name_as_long_as_the_file_system_takes_is_taken_and_one_longer_refused_first(
        tmp_path: Path) -> None:
    """A page or checkpoint is written beside itself first, under a name 5 bytes longer:
    so 250 bytes, of ext4's and most file systems' 255, is the longest name taken. One of
    255 passed the check, then failed after the whole verify (exit 74)."""
    env = {"BS_SQLITE_PATH": str(a_store_with_one_login(tmp_path))}
    for name in ("x" * 245 + ".html", "あ" * 81 + "xy.html"):  # (250 bytes)
        assert len(os.fsencode(name)) == 250
        result = audit(env, "verify", "--html", str(tmp_path / name))
        assert result.exit_code == 0 and (tmp_path / name).is_file(), result.output
    for option in ("--html", "--checkpoint"):
        refused = audit(env, "verify", option, str(tmp_path / ("y" * 251)))
        assert refused.exit_code == USAGE and "cannot be a file's name here (too long" in (
            refused.output) and "summary" not in refused.output, refused.output


def test_an_instant_as_the_screens_show_it_is_japan_time() -> None:
    assert Instant().convert("2026/04/20 12:00", None, None) == datetime(2026, 4, 20, 12,
                                                                         tzinfo=JST)


@pytest.mark.parametrize("option", ["--html", "--checkpoint"])
def test_an_output_that_cannot_be_written_after_all_is_one_line_exit_74_and_no_debris(
        tmp_path: Path, option: str) -> None:
    """The disk fills while the file is written: one line naming it, exit 74, the file
    there before left as it was, nothing else left (an empty page, a checkpoint's .new)."""
    (tmp_path / "store").mkdir()
    store = a_store_with_one_login(tmp_path / "store")
    out = tmp_path / "out"
    out.mkdir()
    earlier = out / "file"
    argv = [sys.executable, "-m", "billing_station.cli", "verify", option, str(earlier),
            str(store)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BS_")}
    subprocess.run(argv, capture_output=True, env=env, check=True)  # the earlier one
    before = files(out)
    run = subprocess.run(argv, capture_output=True, text=True, env=env,
                         preexec_fn=lambda: files_of_at_most(512))
    assert run.returncode == IO_ERROR, run.stderr
    assert run.stderr.strip().splitlines()[-1] in (
        f"error: cannot write {earlier}: File too large",  # --html
        f"error: checkpoint {earlier} not moved: File too large (the verdict above stands; "
        "the next verify with it reads from where it was)")  # --checkpoint
    assert "verified: no violations" in run.stdout  # (read whole: its verdict is given)
    assert files(out) == before


@pytest.mark.parametrize("option", ["--html", "--checkpoint"])
def test_an_output_that_is_a_device_is_refused_before_anything_is_read(
        tmp_path: Path, option: str) -> None:
    """(--checkpoint /dev/zero read the device until memory ran out; a FIFO hung.)"""
    fifo, store = tmp_path / "fifo", a_store_with_one_login(tmp_path)
    os.mkfifo(fifo)
    for device in ("/dev/full", "/dev/zero", str(fifo)):
        said = refused_in_one_line(audit({}, "verify", option, device, str(store)), USAGE)
        assert f"{device} is not a regular file" in said


@pytest.mark.parametrize("command", [["history", "--format", "csv"], ["timeline", "main01"]])
def test_a_full_disk_or_a_reader_gone_under_the_output_is_no_traceback(
    tmp_path: Path, command: list[str]
) -> None:
    """`history > file` on a full disk: one line, exit 74; `history | head -1`: the reader
    went, so the command stops quietly, as the shell's tools do (141, 128 + SIGPIPE)."""
    env, argv = console_on_a_store(tmp_path, *command)
    with open("/dev/full", "w") as full:
        run = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, text=True, env=env)
    assert (run.returncode, run.stderr) == (IO_ERROR, "error: No space left on device (the output)\n")
    reader = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # (before it writes: `| head -0`)
    assert (reader.wait(timeout=60), reader.stderr.read()) == (BROKEN_PIPE, b"")


def test_a_page_cut_short_by_a_nearly_full_disk_is_exit_74_not_a_truncated_page(
        tmp_path: Path) -> None:
    """`history --format html > page.html` with room for 4 kB of its page: CPython's single
    write of the whole page was short and the rest dropped without an error (exit 0)."""
    env, argv = console_on_a_store(tmp_path, "history", "--format", "html")
    with open(tmp_path / "page.html", "w") as page:
        run = subprocess.run(argv, stdout=page, stderr=subprocess.PIPE, text=True, env=env,
                             preexec_fn=lambda: _file_of_at_most(4096))
    assert (run.returncode, run.stderr) == (IO_ERROR, "error: File too large (the output)\n")


@pytest.mark.parametrize(("closed", "code", "said"), [
    (1, IO_ERROR, "error: the output is closed (>&-): nothing could be written\n"),
    (2, 0, None)])


@pytest.mark.parametrize("command", [["verify"], ["history"], ["timeline", "main01"],
                                     ["as-of", "2030-01-01", "main01"]])
def test_a_standard_stream_the_shell_closed_loses_no_output_unsaid_and_fails_no_command(
        tmp_path: Path, command: list[str], closed: int, code: int, said: str | None) -> None:
    """`history >&-`: click dropped the output and said 0; `verify 2>&-` failed (exit 1,
    verify's "violations") as its progress bar wrote to no stderr."""
    env, argv = console_on_a_store(tmp_path, *command)
    run = subprocess.run(argv, capture_output=True, env=env, text=True,
                         preexec_fn=lambda: os.close(closed))
    assert run.returncode == code, run.stderr
    if said is not None:
        assert run.stderr == said
    else:
        assert run.stdout  # (its findings, its rows, its lines)


def test_ctrl_c_is_one_line_and_exit_130_not_verifys_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C mid-verify said "Aborted!" and exited 1, which a script reads as violations."""
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Verifier, "check", interrupted)
    result = audit({}, "verify", str(a_store_with_one_login(tmp_path)))
    assert result.exit_code == INTERRUPTED and result.output.strip() == "interrupted"


def test_ctrl_c_once_verify_has_written_its_outputs_does_not_say_interrupted(
        tmp_path: Path) -> None:
    """A Ctrl-C as the page is written, or after (while the interpreter shuts down), exited
    130, "interrupted", when the checkpoint and the page had been written: past the reading,
    the outcome is settled and told. Each try sends SIGINT the moment the page appears."""
    store = a_store_with_one_login(tmp_path)
    script = "from billing_station.console import main; main()"
    for attempt in range(6):
        page, checkpoint = tmp_path / f"page{attempt}.html", tmp_path / f"ckpt{attempt}"
        run = subprocess.Popen(
            [sys.executable, "-c", script, "verify", str(store), "--html", str(page),
             "--checkpoint", str(checkpoint)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        while not page.exists() and run.poll() is None:
            time.sleep(0.0005)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
        assert (run.returncode, "interrupted" in err) == (0, False), (attempt, out, err)
        assert out.endswith(f"verified: no violations\nwrote {page}\n") and checkpoint.exists()


def test_ctrl_c_while_verify_prints_its_findings_leaves_the_checkpoint_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint's findings (the earlier runs' too) are printed before it moves: a
    Ctrl-C there stops the run, says so, and the next run reads the same events again."""
    store, checkpoint = a_store_with_one_login(tmp_path), tmp_path / "audit.ckpt"
    assert audit({}, "verify", str(store), "--checkpoint", str(checkpoint)).exit_code == 0
    before = checkpoint.read_bytes()
    app = build(store_settings("sqlite", store), KeyRecorder())
    first_login(app, "main01")  # the store grows
    app.close()

    def interrupted(violations: object) -> Iterator[object]:
        raise KeyboardInterrupt
        yield  # (a generator, as reported is)

    monkeypatch.setattr("billing_station.verify_command.reported", interrupted)
    result = audit({}, "verify", str(store), "--checkpoint", str(checkpoint))
    assert result.exit_code == INTERRUPTED and result.output.strip() == "interrupted"
    assert checkpoint.read_bytes() == before


@pytest.mark.parametrize("typed", ["2026-W15", "20260420", "2026-04-20 12", "2026-04-20T1200",
                                   "２０２６-04-20", "2026-04-20 12:00:00+0900"])
def test_an_instant_in_a_format_the_help_does_not_list_is_refused(typed: str) -> None:
    with pytest.raises(click.BadParameter, match="is not an instant: use 2015-01-16"):
        Instant().convert(typed, None, None)


@pytest.mark.parametrize(("typed", "meant"), [
    ("2026-04-20", datetime(2026, 4, 20, tzinfo=JST)),
    ("2026-04-20T12:00:30.5Z", datetime(2026, 4, 20, 12, 0, 30, 500000, tzinfo=UTC)),
    ("2026/04/20 12:00:30+09:00", datetime(2026, 4, 20, 12, 0, 30, tzinfo=JST)),
])
def test_an_instant_in_a_listed_format_is_taken(typed: str, meant: datetime) -> None:
    assert Instant().convert(typed, None, None) == meant
