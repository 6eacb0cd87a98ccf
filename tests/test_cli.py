"""The console script: the demo plays the manual's story and leaves a store."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from eventsourcing.persistence import ConnectionPoolClosedError
from eventsourcing.sqlite import SQLiteDatastore

from application.adapters.smtp import SMTPMailer
from application.bootstrap import ConfigError, Settings
from application.screens import CUSTOMER_INFORMATION_DONE, KEY_EXPIRED, KEY_PROMPT, OPERATOR
from billing_station import exits
from billing_station.cli import main
from billing_station.go_names import GO_COMMANDS
from billing_station.simulate_command import _to_audit

GO = Path(__file__).resolve().parents[1] / "go"  # ./go, the project's commands


def test_demo_prints_each_screen_and_leaves_a_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)],
                                env={"BS_HASH_COST": "8"})
    assert result.exit_code == 0, result.output
    out = result.output
    for expected in (CUSTOMER_INFORMATION_DONE, KEY_PROMPT, KEY_EXPIRED, OPERATOR,
                     "前回ログイン: 2015/01/17 10:02", "bs-co@billingstation.ntt.com",
                     "再発行された通知キーは前のものと異なります"):
        assert expected in out
    assert (tmp_path / "billing-station.sqlite3").exists()
    assert len(list((tmp_path / "mailbox").glob("*.eml"))) == 3


def test_the_demo_replaces_its_own_store_and_mails_and_nobody_elses(tmp_path: Path) -> None:
    """The portal's and the audit's store and mailbox have the demo's names: a folder
    holding them, unless a demo made them, is refused and left as it was."""
    env = {"BS_HASH_COST": "8"}
    for _ in range(2):  # (the second run replaces the first's)
        result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo")], env=env)
        assert result.exit_code == 0, result.output
        assert len(list((tmp_path / "demo" / "mailbox").glob("*.eml"))) == 3
    portal = tmp_path / "portal"
    (portal / "mailbox").mkdir(parents=True)
    (portal / "billing-station.sqlite3").write_bytes(b"a portal's events")
    (portal / "mailbox" / "000001-key.eml").write_text("a customer's key mail")
    result = CliRunner().invoke(main, ["demo", "--out", str(portal)], env=env)
    assert result.exit_code == 2 and result.output.startswith(
        f"error: Invalid value for '--out': {portal} holds a store or mails no demo left there "
        "(billing-station.sqlite3, mailbox/000001-key.eml)"), result.output
    assert (portal / "billing-station.sqlite3").read_bytes() == b"a portal's events"
    assert sorted(p.name for p in portal.rglob("*")) == [
        "000001-key.eml", "billing-station.sqlite3", "mailbox"]
    demo = tmp_path / "demo"  # a portal served where a demo played: its store is its own
    with contextlib.closing(sqlite3.connect(demo / "billing-station.sqlite3")) as db, db:
        db.execute("INSERT INTO stored_events SELECT originator_id, originator_version + 100, "
                   "topic, state FROM stored_events LIMIT 1")
    (demo / "mailbox" / "000099-portal.eml").write_text("a key mail the portal sent")
    result = CliRunner().invoke(main, ["demo", "--out", str(demo)], env=env)
    assert result.exit_code == 2 and "(billing-station.sqlite3, mailbox/000099-portal.eml)" \
        in result.output, result.output
    assert (demo / "mailbox" / "000099-portal.eml").exists()


def test_help_explains_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "demo" in result.output and "BS_STORE" in result.output


def test_the_command_line_loads_dask_and_matplotlib_only_for_a_simulation() -> None:
    """serve's worker processes import the command line again: each would carry them."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, billing_station.cli; "
         "print(sorted({m.split('.')[0] for m in sys.modules} & "
         "{'dask', 'distributed', 'matplotlib', 'numpy'}))"],
        capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


@pytest.mark.parametrize(("setting", "value"), [("BS_STORE", "mongo"), ("BS_MAIL", "fax")])
def test_bad_settings_are_named(setting: str, value: str) -> None:
    settings = Settings({setting: value})
    with pytest.raises(ConfigError, match=setting):
        settings.store() if setting == "BS_STORE" else settings.mailer()


@pytest.mark.parametrize(("value", "on"), [("yes", True), ("true", True), ("1", True),
                                           ("no", False), ("0", False), (None, False)])
def test_starttls_is_a_yes_or_no_setting(value: str | None, on: bool) -> None:
    mailer = Settings({"BS_MAIL": "smtp", "BS_SMTP_HOST": "mail.example.com"} | (
        {"BS_SMTP_STARTTLS": value} if value is not None else {})).mailer()
    assert isinstance(mailer, SMTPMailer) and mailer.starttls is on


@pytest.mark.parametrize("setting", ["BS_SMTP_STARTTLS", "BS_SMTP_PORT", "BS_SMTP_TIMEOUT",
                                     "BS_SQLITE_PATH", "BS_MAILBOX", "BS_HASH_COST",
                                     "BS_ADDRESS_FAILURE_LIMIT", "BS_ADDRESS_WINDOW"])
def test_a_bs_setting_given_empty_is_refused_not_taken_for_its_default(setting: str) -> None:
    """`BS_SMTP_STARTTLS=$TLS` with TLS unset would otherwise send mail in clear."""
    settings = Settings({"BS_MAIL": "smtp", "BS_SMTP_HOST": "mail.example.com", setting: ""}
                        if setting.startswith("BS_SMTP") else {setting: ""})
    with pytest.raises(ConfigError, match=setting):
        settings.mailer() if setting.startswith(("BS_SMTP", "BS_MAILBOX")) else (
            settings.hasher() if setting == "BS_HASH_COST" else settings.policy()
            if setting.startswith("BS_ADDRESS") else settings.store())


@pytest.mark.parametrize("setting", [{"BS_STORE": "postgres"}, {"BS_SQLITE_PATH": "x.sqlite3"},
                                     {"BS_MAIL": "smtp"}, {"BS_ADDRESS_FAILURE_LIMIT": "3"},
                                     {"CREATE_TABLE": "false"},
                                     # (settings it reads: refused, they left --out made)
                                     {"BS_HASH_COST": "99"}, {"BS_LOGIN_URL": "ftp://x/"}])
def test_the_demo_refuses_settings_it_would_not_honour(
    tmp_path: Path, setting: dict[str, str]
) -> None:
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo")], env=setting)
    assert result.exit_code == 2 and next(iter(setting)) in result.output
    assert not (tmp_path / "demo").exists()


def test_go_runs_a_sub_command_where_it_was_called_from(tmp_path: Path) -> None:
    """`../main/go verify store.sqlite3` said "no such file" of a file in the caller's
    folder (./go moved to its own folder first), and `--html page.html` would have landed
    in the repository; BS_SQLITE_PATH=store.sqlite3 likewise."""
    here = tmp_path / "work"
    here.mkdir()
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo")],
                                env={"BS_HASH_COST": "8"})
    assert result.exit_code == 0, result.output
    (here / "store.sqlite3").write_bytes((tmp_path / "demo" / "billing-station.sqlite3")
                                         .read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BS_", "POSTGRES_"))}
    run = subprocess.run([str(GO), "verify", "store.sqlite3", "--html", "page.html"],
                         cwd=here, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert (here / "page.html").is_file()
    run = subprocess.run([str(GO), "history", "--format", "csv"], cwd=here,
                         capture_output=True, text=True, env=env | {
                             "BS_SQLITE_PATH": "store.sqlite3"})
    assert run.returncode == 0 and run.stdout.startswith("attempt_id,"), run.stderr


@pytest.mark.parametrize("command", ["bench", "report", "screenshots", "system-packages"])
def test_go_s_own_commands_say_what_they_do_and_refuse_what_they_do_not_take(
        command: str) -> None:
    """./go bench nonsense ran the full benchmarks (minutes, a gigabyte in /tmp), and
    ./go report --help ran apt-get: --help says, an argument it does not take is refused."""
    helped = subprocess.run([str(GO), command, "--help"], capture_output=True, text=True, timeout=30)
    assert helped.returncode == 0 and f"./go {command}" in helped.stdout, helped.stderr
    assert helped.stdout.startswith(f"  ./go {command} ") and "./go simulate" not in (
        helped.stdout)  # (its own lines: it printed all of ./go's, the same for each)
    refused = subprocess.run([str(GO), command, "nonsense"], capture_output=True, text=True,
                             timeout=30)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == (f"./go {command}: unexpected 'nonsense' (./go {command} --help"
                              " says what it takes)\n")


@pytest.mark.parametrize(("given", "said"), [
    (["--out"], "--out needs a folder (./go report --out FOLDER)"),
    (["--out="], "--out needs a folder (./go report --out FOLDER)"),
    (["--out", "taken"], "--out taken is not a folder"),
    (["--out=taken"], "--out taken is not a folder"),
    (["--out", "folder", "more"], "unexpected 'more' (./go report --help says what it takes)"),
    (["--out", "--help"], "--out needs a folder (./go report --out FOLDER)"),
    (["--out", "taken/sub"], "--out taken/sub: the folder cannot be made there"),
    (["--out", "a", "--out=b"], "--out given twice"),
    (["--out", "a", "", "b"], "unexpected '\"\"' (./go report --help says what it takes)")])
def test_go_report_out_is_a_folder_of_the_caller_s(tmp_path: Path, given: list[str],
                                                   said: str) -> None:
    """./go report wrote only into the checkout's reports/: --out FOLDER (the caller's
    relative path) says where; what is not a folder is refused before anything is run."""
    (tmp_path / "taken").write_text("a file, not a folder", encoding="utf-8")
    refused = subprocess.run([str(GO), "report", *given], cwd=tmp_path, capture_output=True,
                             text=True, timeout=30)
    assert (refused.returncode, refused.stdout, refused.stderr) == (2, "", f"./go report: {said}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_go_report_out_puts_the_page_its_inputs_and_screenshots_in_the_caller_s_folder(
        tmp_path: Path) -> None:
    """./go report's commands, run by a copy of ./go whose .venv only notes what it is
    asked (the real ones take minutes): every file in FOLDER, the caller's, spaces and
    all; the screenshots where the page looks for them (beside its cucumber JSON); a
    folder under ~ for --out=~/…, which no shell expands."""
    checkout, asked = tmp_path / "checkout", tmp_path / "asked.log"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(GO, checkout / "go")
    for tool in ("pytest", "python"):
        stub = checkout / ".venv" / "bin" / tool
        stub.write_text(  # (each argument bracketed: one split at a space shows)
            f'#!/bin/sh\n{{ printf "{tool}"; printf " [%s]" "$@"; echo " | $BS_SCREENSHOTS"; }}'
            f' >> "{asked}"\n')
        stub.chmod(0o755)
    tools = tmp_path / "bin"  # (./go system-packages finds every package installed)
    tools.mkdir()
    (tools / "dpkg-query").write_text("#!/bin/sh\necho 'install ok installed'\n")
    (tools / "dpkg-query").chmod(0o755)
    (checkout / ".venv" / ".installed").touch()
    caller, home = tmp_path / "my work", tmp_path / "home"
    caller.mkdir()
    for given, out in (["--out", "specs report"], caller / "specs report"), (
            ["--out=~/later"], home / "later"), (["--out=~"], home):
        asked.unlink(missing_ok=True)
        run = subprocess.run([str(checkout / "go"), "report", *given], cwd=caller,
                             capture_output=True, text=True, timeout=60,
                             env=os.environ | {"HOME": str(home),
                                               "PATH": f"{tools}:{os.environ['PATH']}"})
        assert run.returncode == 0, run.stderr

        def said(*args: str, out: Path = out) -> str:
            return " ".join(f"[{a}]" for a in args) + f" | {out}/screenshots"

        assert asked.read_text().splitlines() == [
            "pytest " + said("-q", "-p", "no:cacheprovider", "tests/test_features.py",
                             "--driver=browser", f"--junitxml={out}/browser-run.xml"),
            "python " + said("-m", "pytest", "-q", "-p", "tests.living_docs",
                             "tests/test_features.py", "tests/test_portal_features.py",
                             f"--cucumberjson={out}/cucumber.json"),
            "python " + said("-m", "tests.living_docs", f"{out}/cucumber.json",
                             f"{out}/features.html", f"{out}/browser-run.xml")]
        assert out.is_dir()
        assert [line[:4] for line in run.stdout.splitlines()] == ["1/3 ", "2/3 ", "3/3 "]


@pytest.mark.parametrize("asked", [[], ["--help"], ["-h"]])
def test_go_help_lists_its_own_commands_then_the_console_scripts(asked: list[str]) -> None:
    """./go --help listed only the console script's sub-commands (not test, report, bench…),
    and a bare ./go split its help over stdout and stderr, exit 2."""
    helped = subprocess.run([str(GO), *asked], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and helped.stderr == "", helped.stderr
    own, script = helped.stdout.split("\nUsage: ./go [OPTIONS] COMMAND [ARGS]...\n")
    assert all(f"./go {c}" in own for c in ("simulate", "test", "report", "bench",
                                            "screenshots", "system-packages"))
    assert "Commands:" in script and "verify" in script and "serve" in script
    version = subprocess.run([str(GO), "--version"], capture_output=True, text=True, timeout=60)
    assert re.fullmatch(r"billing-station, version \d+\.\d+\.\d+\n", version.stdout)


@pytest.mark.parametrize(("typed", "meant"), [("reprot", "report"), ("verfy", "verify")])
def test_go_s_hints_name_go_and_the_nearest_command_its_own_too(typed: str, meant: str) -> None:
    """./go reprot said "No such command 'reprot'. (see 'billing-station --help')": a name
    README never gives, and report, ./go's own, was no console script's command to offer."""
    refused = subprocess.run([str(GO), typed], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr == (f"error: No such command '{typed}'. Did you mean '{meant}'? "
                              "(see './go --help')\n")
    option = subprocess.run([str(GO), "verify", "--nope"], capture_output=True, text=True, timeout=60)
    assert option.stderr == "error: No such option '--nope' (see './go verify --help')\n"


def test_go_s_own_commands_are_those_its_hints_offer() -> None:
    go = (Path(__file__).resolve().parents[1] / "go").read_text(encoding="utf-8")
    case = re.search(r"^    (test\|[\w|-]+)\)$", go, re.MULTILINE)
    assert case and tuple(case.group(1).split("|")) == GO_COMMANDS


def test_simulate_s_audit_hint_names_the_command_as_it_was_called() -> None:
    with click.Context(main, info_name="./go"):
        assert _to_audit([[Path("out/simulation.sqlite3")]]) == (
            "to audit it: ./go verify out/simulation.sqlite3")


def test_ctrl_c_while_the_command_loads_is_one_line_and_130() -> None:
    """The console script's first second is imports: a Ctrl-C there printed a traceback."""
    starts_then_interrupted = (
        "import signal, sys\n"
        "from billing_station.console import main\n"
        "def ctrl_c(*_): raise KeyboardInterrupt\n"
        "signal.signal(signal.SIGALRM, ctrl_c)\n"
        "sys.argv = ['billing-station', '--help']\n"
        "signal.setitimer(signal.ITIMER_REAL, 0.02)  # in the command's imports\n"
        "main()\n")
    run = subprocess.run([sys.executable, "-c", starts_then_interrupted],
                         capture_output=True, text=True)
    assert (run.returncode, run.stderr.strip()) == (130, "interrupted"), run.stderr


def test_a_stop_between_a_connection_handed_out_and_its_with_leaves_no_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C just after a store's pool handed a connection out, before the ``with`` held
    it: the command closed the pool as it stopped, and the connection's generator, kept by
    the stop's traceback, failed to give it back as the interpreter shut down: "Exception
    ignored in: <generator object SQLiteDatastore.get_connection>", a traceback under the
    command's one line (CI saw it once in a hundred interrupted simulations)."""
    said: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: said.append(u.exc_value))

    def handed_out(store: SQLiteDatastore) -> None:
        connection = store.get_connection(commit=True)
        connection.__enter__()  # (as a with does, before it holds the connection)
        raise KeyboardInterrupt

    def stopped_mid_handover(stop: Callable[[KeyboardInterrupt], object]) -> None:
        store = SQLiteDatastore(str(tmp_path / "store.sqlite"))
        try:
            handed_out(store)
        except KeyboardInterrupt as e:
            store.close()  # (as a stopping command does)
            stop(e)

    stopped_mid_handover(exits.stopped)
    assert said == []
    stopped_mid_handover(lambda e: traceback.clear_frames(e.__traceback__))  # (said, before)
    assert [type(e) for e in said] == [ConnectionPoolClosedError]


@pytest.mark.parametrize("args", [
    ["simulate", "office", "--days", "1", "--out", ""], ["demo", "--out", ""],
    ["verify", "--html", ""], ["verify", "--checkpoint", ""], ["verify", ""],
], ids=["simulate --out", "demo --out", "verify --html", "verify --checkpoint", "verify STORE"])
def test_an_empty_path_is_refused_not_read_as_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    """``--out ""`` put a run in the current folder (clearing an earlier one there)."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args, env={"BS_SQLITE_PATH": "none.sqlite3"})
    option = args[-2] if args[-2].startswith("--") else "[STORES]..."
    assert (result.exit_code, result.output.strip().splitlines()) == (2, [
        f"error: Invalid value for '{option}': an empty path names no file or folder "
        f"(see 'main {args[0]} --help')"])  # (CliRunner's program name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "option"), [
    (["history", "--format", "csv", "--format", "jsonl"], "--format"),
    (["history", "--format=csv", "--format", "jsonl"], "--format"),
    (["verify", "--html", "a.html", "--html=b.html"], "--html"),
    (["simulate", "office", "--days", "1", "--days", "2"], "--days"),
    (["timeline", "demo01", "--store", "a.sqlite3", "--store", "b.sqlite3"], "--store"),
])
def test_an_option_given_twice_is_refused_not_its_first_value_dropped(
        tmp_path: Path, args: list[str], option: str) -> None:
    """history --format csv --format jsonl wrote jsonl and said nothing of csv."""
    result = CliRunner().invoke(main, args, env={"BS_SQLITE_PATH": str(tmp_path / "none")})
    assert result.exit_code == exits.USAGE
    assert result.output == (f"error: {option} is given twice: give it once "
                             f"(see 'main {args[0]} --help')\n")
    assert list(tmp_path.iterdir()) == []


def test_an_options_value_that_looks_like_an_option_is_its_value() -> None:
    """--login-id --format is the login ID "--format": --format then comes once."""
    result = CliRunner().invoke(main, ["history", "--login-id", "--format", "--format", "csv",
                                       "--store", "/nonexistent.sqlite3"])
    assert "given twice" not in result.output and result.exit_code == exits.USAGE


@pytest.mark.parametrize(("url", "shown"), [
    ("https://portal:Hunter2Secret@example.jp/", "'https://…@example.jp/'"),
    ("https://portal:Hunter2/Secret@example.jp/", "'https://…@example.jp/'"),
    ("https://portal:Hunter2?Secret@example.jp/", "'https://…@example.jp/'"),
    ("https:portal:Hunter2Secret@example.jp/", "'…@example.jp/'"),
])
def test_a_login_url_with_a_password_is_refused_without_showing_it(url: str, shown: str) -> None:
    """The refusal of https://portal:Hunter2Secret@example.jp/ repeated it whole."""
    with pytest.raises(ConfigError) as refused:
        _ = Settings({"BS_LOGIN_URL": url}).login_url
    assert "Hunter2" not in str(refused.value) and "portal" not in str(refused.value)
    assert shown in str(refused.value)
