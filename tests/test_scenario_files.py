"""Scenario files: each shipped one loads, and a file that is not one, or holds a value
out of bounds, is refused with every problem named by its key, before anything runs."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from billing_station import exits
from billing_station.cli import main
from domain.policy import LoginPolicy
from simulations import checks
from simulations.scenario import SCENARIOS, Delay, Policy, Scenario, ScenarioError, load
from simulations.scenario_reference import MEANINGS, REFERENCE, keys, reference
from tests.small_runs import TINY_TOML

BAD = """description = 5
days = "two"
start = "2026-13-01"
[population]
customers = "ten"
notify_key_share = 1.5
[behaviour]
hours_jst = [18, 9]
mail_delay = { median = 100, p95 = 20 }
[policy]
key_validity_minutes = -5
"""


def test_every_shipped_scenario_loads() -> None:
    names = sorted(p.stem for p in SCENARIOS.glob("*.toml"))
    assert names == ["large", "office", "slow-mail", "stuffing", "stuffing-strict"]
    for name in names:
        assert load(name).name == name


def test_a_file_not_named_as_a_scenario_is_refused_not_taken_for_the_defaults(
        tmp_path: Path) -> None:
    """An empty file is valid TOML: `simulate notes.sqlite3` (an empty file) ran the
    defaults' scenario at production's hash cost into simulation-output/notes."""
    empty = tmp_path / "notes.sqlite3"
    empty.write_bytes(b"")
    result = CliRunner().invoke(main, ["simulate", str(empty), "--out", str(tmp_path / "o")])
    assert result.exit_code == exits.USAGE
    assert result.output.strip().splitlines() == [
        f"error: Invalid value for SCENARIO: '{empty}' is not a scenario file: its name must "
        "end in .toml (see 'main simulate --help')"]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("written", [b"", b"\n  \n", "# 会議室の週\n".encode(),
                                     b"[population]\n", b'name = "x"\ndescription = "y"\n'],
                         ids=["empty", "blank", "only a comment", "an empty table",
                              "its name only"])
def test_a_scenario_file_that_sets_nothing_is_refused_not_run_as_the_defaults(
        tmp_path: Path, written: bytes) -> None:
    """An empty empty.toml ran the defaults' month at production's hash cost: minutes, for
    what was almost surely the wrong file."""
    path = tmp_path / "empty.toml"
    path.write_bytes(written)
    with pytest.raises(ScenarioError, match=r"^empty\.toml: sets nothing \(it is empty, or only "
                       r"comments, empty tables, its name or description\): set at least one "
                       r"key, e\.g\. days = 3 \(docs/scenario-reference\.toml lists them\)$"):
        load(path)


def test_a_scenario_file_not_in_utf_8_is_told_to_be_saved_so(tmp_path: Path) -> None:
    """Shift_JIS, as an editor here may save it, was Python's "'utf-8' codec can't decode
    byte 0x83 in position 2: invalid start byte"."""
    path = tmp_path / "sjis.toml"
    for bom in (b"", b"\xef\xbb\xbf"):  # (a BOM, as Notepad saves: not counted as a line's)
        path.write_bytes(bom + "days = 3\n\n# 会議室の週\n".encode("shift_jis"))
        with pytest.raises(ScenarioError) as refused:
            load(path)
        assert str(refused.value) == "sjis.toml: not UTF-8 (line 3): save it as UTF-8"


def test_a_scenario_with_an_unknown_key_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text("days = 3\n[behaviour]\nmistype = 0.1\n")
    with pytest.raises(ScenarioError, match=r"unknown key behaviour\.mistype "):
        load(path)
    path.write_text("days = 3\nmistype = 0.1\nweeks = 2\n")
    with pytest.raises(ScenarioError, match=r"unknown keys mistype, weeks \(known in the top"):
        load(path)
    path.write_text("hash_cost = 0\n")
    with pytest.raises(ScenarioError, match="hash_cost must be a whole number from 1 to 20"):
        load(path)
    path.write_text("days = 3\nhash_cost_set = true\n")  # (the loader's own, not a file's)
    with pytest.raises(ScenarioError, match=r"unknown key hash_cost_set \(known in the top") as e:
        load(path)
    assert "hash_cost_set" not in str(e.value).partition("known in the top level")[2]
    path.write_text('days = "two"\n[population]\ncustomrs = 3\n')  # every problem at once:
    with pytest.raises(ScenarioError, match=r"unknown key population\.customrs .*; days must "
                       r"be a whole number from 1 to 3,660 \(not \"two\"\)"):  # (the typo hid
        load(path)  # the rest)


def test_a_scenario_is_checked_whole_every_problem_named_by_its_key_nothing_written(
    tmp_path: Path
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    result = CliRunner().invoke(main, ["simulate", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    for key in ("description", "days", "start", "population.customers", "population.notify_key_share",
                "behaviour.hours_jst", "behaviour.mail_delay", "policy.key_validity_minutes"):
        assert f"{key} must be" in result.output or f"{key} must have" in result.output, key
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


@pytest.mark.parametrize("delay", ["{ median = inf, p95 = inf }",
                                   "{ median = 1e12, p95 = 1e13 }"])
def test_a_delay_past_a_day_is_refused_by_name_and_an_earlier_run_is_kept(
        tmp_path: Path, delay: str) -> None:
    """An endless or astronomically long delay passed the check and ran into a traceback
    (no clock holds it), removing the earlier run in the folder first."""
    out = tmp_path / "out"
    CliRunner().invoke(main, ["simulate", "office", "--days", "1", "--out", str(out),
                              "--no-verify"])
    kept = sorted(p.name for p in out.iterdir())
    path = tmp_path / "slow.toml"
    path.write_text(f"hash_cost = 4\n[behaviour]\nmail_delay = {delay}\n")
    result = CliRunner().invoke(main, ["simulate", str(path), "--out", str(out)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "behaviour.mail_delay must have 0 < median <= p95 <= 86,400 seconds" in result.output
    assert sorted(p.name for p in out.iterdir()) == kept and "report.txt" in kept


def test_a_delay_drawn_is_at_most_a_day_however_long_its_tail() -> None:
    rng = random.Random(1)
    drawn = [Delay(1, 86_400).sample(rng) for _ in range(10_000)]
    assert max(drawn) == 86_400 and min(drawn) < 1  # (the tail cut, not the body)


def test_a_scenarios_key_validity_is_whole_seconds_as_keys_are_held_to(tmp_path: Path) -> None:
    path = tmp_path / "eighth.toml"
    path.write_text("[policy]\nkey_validity_minutes = 0.125\n")
    with pytest.raises(ScenarioError, match=re.escape(
            "policy.key_validity_minutes must be whole seconds (not 0.125 minutes: 7.5 seconds)")):
        load(path)


def test_a_scenario_without_hash_cost_says_so_before_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "costly.toml"
    path.write_text("days = 1\n[population]\ncustomers = 1\nsub_ids_per_customer = [0, 0]\n")
    assert load(path).hash_cost_set is False and load("office").hash_cost_set is True
    result = CliRunner().invoke(main, ["simulate", str(path), "--out", str(tmp_path / "out"),
                                       "--no-verify"])
    assert result.exit_code == 0, result.output
    assert "sets no hash_cost" in result.output.splitlines()[0]


@pytest.mark.parametrize(("start", "days", "said"), [
    ("0001-01-01", "3", "(not 0001-01-01 for 3 days)"),
    ("9999-12-30", "1", "(not 9999-12-30 for 1 day)"),
    ("0001-01-01", '"x"', "(not 0001-01-01)"),  # days is a problem of its own
])
def test_a_start_no_clock_can_hold_is_refused_by_name(tmp_path: Path, start: str, days: str,
                                                      said: str) -> None:
    path = tmp_path / "far.toml"
    path.write_text(f"start = {start}\ndays = {days}\n")
    with pytest.raises(ScenarioError, match="start must be from 1971-01-01") as refused:
        load(path)
    assert said in str(refused.value)


@pytest.mark.parametrize("name", ['"../../nc/escape"', '"nc/escape"', '"nc\\\\escape"',
                                  '".hidden"', '""', "5", '"tab\\there"', f'"{"あ" * 86}"'])
def test_a_scenario_name_that_is_not_one_plain_folder_is_refused_nothing_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The name is the output folder under simulation-output/ (no --out here): a path in it
    would write elsewhere, here into tmp_path/nc/escape."""
    (tmp_path / "run").mkdir()
    monkeypatch.chdir(tmp_path / "run")
    (tmp_path / "run" / "s.toml").write_text(f"name = {name}\n{TINY_TOML}")
    result = CliRunner().invoke(main, ["simulate", "s.toml", "--no-verify"])
    assert result.exit_code == 2, result.output
    assert f"s.toml: name (the output folder's, simulation-output/NAME; default: the file's " \
           f"name) must be 1 to 100 printable characters and at most 255 bytes in UTF-8 " \
           f"(a kana is 3), no '/' or '\\', not starting with '.' (not {name})" in result.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["run", "s.toml"]


@pytest.mark.parametrize("name", ["五月の事務所-2.a_b", "my run (copy)", "あ" * 85])
def test_a_scenario_name_may_be_any_one_folders_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f'name = "{name}"\n{TINY_TOML}')
    assert load(path).name == name


def test_a_shipped_scenario_is_found_by_name_whatever_the_folder_holds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run's output folder named as the scenario (--out office) hid it: "no scenario
    'office': give ... one of ..., office, ..." """
    monkeypatch.chdir(tmp_path)
    (tmp_path / "office").mkdir()
    (tmp_path / "slow-mail").write_text("notes")
    assert load("office").name == "office" and load("slow-mail").name == "slow-mail"
    (tmp_path / "mine.toml").mkdir()
    with pytest.raises(ScenarioError, match=re.escape("'mine.toml' is a folder, not a scenario file")):
        load("mine.toml")
    for typed, said in [("ofice", "no scenario 'ofice'"), ("nosuch.toml", "no such file "
                         "'nosuch.toml'"), ("runs/office", "no such file 'runs/office'")]:
        with pytest.raises(ScenarioError, match=re.escape(f"{said}: give a TOML file or one "
                                                          "of ")):
            load(typed)


def test_a_value_toml_cannot_read_is_named_by_its_key(tmp_path: Path) -> None:
    """TOML's parser names only the line: "Invalid date or datetime (at line 2, column 9)"."""
    path = tmp_path / "s.toml"
    for written, said in [("days = 3\nstart = 2026-02-30\n", "s.toml: start: Invalid date"),
                          ("days = 3\nstart = 2026-02-30", "s.toml: start: Invalid date"),
                          # (the last line with no newline after it, as some editors save)
                          ("[population]  # who\ncustomers = 1O\n",
                           "s.toml: population.customers: "),
                          ("[attack]\n[ \"policy\" ]\nmax_keys_per_hour = 1O\n",
                           "s.toml: policy.max_keys_per_hour: "),
                          ("days = 3\n[policy\n", "s.toml: Expected ']'"),
                          # (a line inside what an earlier one began: no key of its own)
                          ('name = \"\"\"\n[attack]\n\"\"\"\ndays = 1O\n', "s.toml: days: "),
                          ("days = [1,\n2,\nseed = 3\n", "s.toml: Invalid value"),
                          ('name = \"\"\"a\nseed = 1O\n', "s.toml: Unterminated"),
                          # (a table written twice as an array's: the line's is the last)
                          ("[[attack]]\naddresses = 1\n[[attack]]\naddresses = 1O\n",
                           "s.toml: attack.addresses: ")]:
        path.write_text(written)
        with pytest.raises(ScenarioError) as refused:
            load(path)
        assert str(refused.value).startswith(said), str(refused.value)


def test_every_problem_is_named_also_beside_a_delay_with_a_key_missing(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("days = 0\n[behaviour]\npublic_holidays = \"yes\"\n"
                    "mail_delay = { median = 5 }\n")
    with pytest.raises(ScenarioError) as refused:
        load(path)
    assert str(refused.value).split(": ", 1)[1].split("; ") == [
        "behaviour.mail_delay.p95 is missing",
        "days must be a whole number from 1 to 3,660 (not 0)",
        'behaviour.public_holidays must be true or false (not "yes")']


@pytest.mark.parametrize(("delay", "said"), [
    ("240", "behaviour.typing must be a table (e.g. { median = 20, p95 = 180 })"),  # (and not
    #   its median and p95 missing, nor its stand-in's numbers, besides)
    ('{ median = "4m", p95 = "15m" }', "behaviour.typing must have numbers of seconds, 0 < "
     'median <= p95 <= 86,400 seconds, a day (not median = "4m", p95 = "15m")')])
def test_a_delay_that_is_no_table_or_no_numbers_is_said_once_as_such(
        tmp_path: Path, delay: str, said: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f"[behaviour]\ntyping = {delay}\n")
    with pytest.raises(ScenarioError) as refused:
        load(path)
    assert str(refused.value) == f"s.toml: {said}"


def test_a_scenario_problem_quotes_the_value_as_the_file_wrote_it(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('start = 2026-04-06T10:00:00\ndays = 2026-04-07\n[behaviour]\n'
                    'public_holidays = "yes"\nhours_jst = [18, 9]\n'
                    'mail_delay = { median = 100, p95 = 20.5 }\n')
    with pytest.raises(ScenarioError) as refused:
        load(path)
    for shown in ("start must be a date such as 2026-04-06 (not 2026-04-06T10:00:00)",
                  "days must be a whole number from 1 to 3,660 (not 2026-04-07)",
                  'behaviour.public_holidays must be true or false (not "yes")',
                  "the first before the second (not [18, 9])",
                  "(not median = 100, p95 = 20.5)"):
        assert shown in str(refused.value)
    assert "datetime" not in str(refused.value) and "'" not in str(refused.value)


def test_a_scenario_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """As some editors save UTF-8: it was "Invalid statement (at line 1, column 1)"."""
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeff".encode() + 'name = "事務所"\ndays = 2\n'.encode())
    assert (load(path).name, load(path).days) == ("事務所", 2)


def test_the_scenario_reference_is_every_key_at_its_default_with_its_bounds() -> None:
    """README named a third of the keys exactly and few bounds; one key was found only in an
    error message. docs/scenario-reference.toml is made from the loader's own fields and
    bounds, and loads as the defaults' scenario."""
    path = Path(__file__).resolve().parents[1] / REFERENCE
    assert path.read_text(encoding="utf-8") == reference()  # (python -m simulations.
    #                                       scenario_reference > docs/scenario-reference.toml)
    assert load(path) == Scenario("scenario-reference")  # (its name: the file's)
    assert set(MEANINGS) == set(keys())  # every key said, and no other
    bounded = [k for k, *_ in checks.RANGES] + [k for k, *_ in checks.PAIRS] + checks.DELAYS
    assert set(bounded) <= set(keys())
    text = reference()
    assert "throttled_wait = { median = 300, p95 = 1200 }" in text
    assert "# simulated days (a whole number from 1 to 3,660)\ndays = 30\n" in text


@pytest.mark.parametrize("description", ["a\\u0000b", "red \\u001b[31m", "a\\tb"])
def test_a_description_with_control_characters_is_refused(tmp_path: Path,
                                                          description: str) -> None:
    """A NUL and an escape went as they were into report.html (and the terminal's report)."""
    path = tmp_path / "s.toml"
    path.write_text(f'description = "{description}"\n{TINY_TOML}')
    with pytest.raises(ScenarioError, match="description must be printable text"):
        load(path)


def test_a_description_may_run_over_several_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f'description = """two\nlines"""\n{TINY_TOML}')
    assert load(path).description == "two\nlines"


@pytest.mark.parametrize(("written", "said"), [
    ("[behaviour]\nmistype_rate = nan\n", "behaviour.mistype_rate must be a number from 0 to 1 "
                                           "(not nan)"),
    ("[behaviour]\nhours_jst = [9, 9]\n", "behaviour.hours_jst must be two whole numbers "
                                           "from 0 to 24, the first before the second"),
    ("[behaviour]\nmail_delay = { median = 0, p95 = 20 }\n",
     f"behaviour.mail_delay must have {checks.DELAY_ALLOWED}"),
    ("[population]\ncustomers = 3\ncustomers_per_address = 2\n[attack]\naddresses = 3\n",
     "attack.addresses must be at most the customers' 2 addresses"),
])
def test_a_number_at_the_edge_of_its_bounds_is_refused_on_the_wrong_side(
        tmp_path: Path, written: str, said: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(TINY_TOML.replace("[population]\ncustomers = 1\n", "") + written)
    with pytest.raises(ScenarioError, match=re.escape(said)):
        load(path)


def test_a_number_at_the_edge_of_its_bounds_is_taken_on_the_right_side(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("days = 1\nhash_cost = 4\n[population]\ncustomers = 3\n"
                    "customers_per_address = 2\nsub_ids_per_customer = [100, 100]\n"
                    "[behaviour]\nhours_jst = [0, 24]\nmail_delay = { median = 0.001, p95 = 0.001 }\n"
                    "[attack]\naddresses = 2\n")
    scenario = load(path)
    assert (scenario.attack.addresses, scenario.behaviour.hours_jst) == (2, (0, 24))
    assert scenario.population.sub_ids_per_customer == (100, 100)


def test_each_number_of_a_scenario_s_policy_is_the_login_policy_s_own() -> None:
    chosen = Policy(key_validity_minutes=7, max_wrong_entries=3, max_keys_per_hour=9,
                    address_failure_limit=11, address_window_minutes=4)
    assert chosen.login_policy() == LoginPolicy(
        validity=timedelta(minutes=7), max_wrong_entries=3, max_keys_per_window=9,
        address_failure_limit=11, address_window=timedelta(minutes=4))
