"""A scenario: who the users are, how they behave, and the policy they log in under.

Read from TOML (simulations/scenarios/*.toml); every key has a default, so a scenario
says only what it changes. Unknown keys are an error naming the key, so a typo never runs
silently with a default.
"""

from __future__ import annotations

import codecs
import math
import random
import re
import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import attrs

from domain.policy import LoginPolicy
from simulations import checks
from simulations.wording import counted_as, numbered

SCENARIOS = Path(__file__).parent / "scenarios"


@attrs.frozen
class Delay:
    """A positive duration in seconds, log-normal: typical (the median) and slow (the 95th
    percentile), the way mail and people are."""

    median: float
    p95: float

    def sample(self, rng: random.Random) -> float:
        """One delay, at most checks.DELAY_MAX (the tail's far end, cut)."""
        sigma = math.log(self.p95 / self.median) / 1.6449 if self.p95 > self.median else 0.0
        return min(rng.lognormvariate(math.log(self.median), sigma), checks.DELAY_MAX)


@attrs.frozen
class Population:
    customers: int = 100
    download_plan_share: float = 0.2  # BS基本サービス ダウンロード (CI-5, SB-3)
    sub_ids_per_customer: tuple[int, int] = (0, 3)  # uniform, inclusive
    notify_key_share: float = 0.6  # main and sub IDs with 通知キーの利用 = 利用する
    # 0: logins carry no client address (D-14 out of play); N: each N customers in turn
    # share one address, their people logging in from behind it (an office, a carrier's NAT)
    customers_per_address: int = 0


@attrs.frozen
class Behaviour:
    logins_per_business_day: float = 1.0  # per login ID, on business days
    public_holidays: bool = True  # Japan's public holidays are days off, as weekends are
    hours_jst: tuple[int, int] = (9, 18)  # when people log in, [from, to)
    mail_delay: Delay = Delay(20, 180)  # from 「ログイン」 to the key in the mailbox
    mail_lost_share: float = 0.002  # key mails that never arrive
    typing: Delay = Delay(25, 90)  # from the mail's arrival to 「OK」
    mistype_rate: float = 0.03  # a key entered wrong (D-4: retry while valid)
    password_typo_rate: float = 0.02  # a password entered wrong, retried at once (but D-14's)
    relogin_after_expiry: float = 0.8  # else give up and call (LG-6, LG-8)
    return_at_key_limit: float = 0.9  # come back when D-10's page says, else call (LG-8)
    patience: Delay = Delay(600, 1500)  # waiting for a mail that does not come
    max_relogins: int = 3  # per visit (key expired, mail lost, D-14's wait), then call
    # support (LG-8), or give up after D-14's wait (no contact is named for it)
    throttled_wait: Delay = Delay(300, 1200)  # told to wait (D-14) before logging in again


@attrs.frozen
class Attack:
    """Credential stuffing (D-14): a stuffer behind each of the first ``addresses`` client
    addresses (sharing it with the customers there), day and night, trying login IDs that
    do not exist with passwords from a leaked list."""

    addresses: int = 0
    tries_per_hour: float = 120  # per address, at random (a Poisson process)


@attrs.frozen
class Policy:
    key_validity_minutes: float = 10  # LG-5
    max_wrong_entries: int = 5  # D-4
    max_keys_per_hour: int = 5  # D-10
    address_failure_limit: int = 20  # D-14: failed logins from one client address ...
    address_window_minutes: float = 10  # ... within this window, then refused unchecked

    def login_policy(self) -> LoginPolicy:
        return LoginPolicy(validity=timedelta(minutes=self.key_validity_minutes),
                           max_wrong_entries=self.max_wrong_entries,
                           max_keys_per_window=self.max_keys_per_hour,
                           address_failure_limit=self.address_failure_limit,
                           address_window=timedelta(minutes=self.address_window_minutes))

    def label(self, addresses: bool = False) -> str:
        """The policy in a line; D-14's part only for logins from client ``addresses``."""
        d14 = (f", {counted_as(self.address_failure_limit, 'failed login')}/"
               f"{self.address_window_minutes:,g} min per address" if addresses else "")
        return (f"validity {self.key_validity_minutes:,g} min, "
                f"{counted_as(self.max_wrong_entries, 'wrong entry')}, "
                f"{counted_as(self.max_keys_per_hour, 'key')}/h{d14}")


@attrs.frozen
class Scenario:
    name: str
    description: str = ""
    start: date = date(2026, 4, 6)
    days: int = 30
    seed: int = 1
    hash_cost: int = 14  # BS_HASH_COST for the run; the report states it
    hash_cost_set: bool = True  # False: the file left it out, so production's cost runs
    population: Population = Population()
    behaviour: Behaviour = Behaviour()
    attack: Attack = Attack()
    policy: Policy = Policy()

    def with_policy(self, **changes: Any) -> Scenario:
        return attrs.evolve(self, policy=attrs.evolve(self.policy, **changes))


class ScenarioError(ValueError):
    """A scenario that cannot run: every problem, each named by its key, in one message."""


def shipped() -> list[str]:
    return sorted(p.stem for p in SCENARIOS.glob("*.toml"))


MISSING = " is missing"  # (a missing key's problem ends so: its stand-in is not judged)
NO_TABLE = " must be a table"  # (nor a delay's that is no table)


_PROBE = "__where__"  # a key no scenario has, set to see which table a line is in


def _key_at(text: str, error: tomllib.TOMLDecodeError) -> str:
    """'policy.start: ', the key set on the line a TOML error names (its message gives only
    the line: start = 2026-02-30 is "Invalid date or datetime (at line 2, column 9)"), and
    its table, as TOML itself reads what comes before; '' if that line sets no key of its
    own (it goes on a multi-line string or array) or the key is not a plain one."""
    at = re.search(r"at line (\d+)", str(error))
    lines = text.split("\n")  # (TOML's own newlines: splitlines also breaks at U+2028)
    if at is None or not 0 < int(at[1]) <= len(lines):
        return ""
    before = "\n".join(lines[:int(at[1]) - 1])
    found = re.match(r"[ \t]*([A-Za-z0-9_-]+)[ \t]*=", lines[int(at[1]) - 1])
    try:
        where = tomllib.loads(f"{before}\n{_PROBE} = 1\n")
    except tomllib.TOMLDecodeError:  # (the line is inside what an earlier one began)
        return ""
    table = _path_to(where)
    return f"{'.'.join([*table, found[1]])}: " if found and table is not None else ""


def _path_to(found: Any) -> list[str] | None:
    """The keys from the top to the table holding the probe (in an array of tables, its
    last), or None."""
    if isinstance(found, list):
        found = found[-1] if found else None
    if not isinstance(found, dict):
        return None
    if _PROBE in found:
        return []
    for key, value in found.items():
        if (inner := _path_to(value)) is not None:
            return [key, *inner]
    return None


def load(path: Path | str) -> Scenario:
    """A scenario file by path, or a shipped one by name (``office``), checked whole: types,
    ranges and relations, before anything runs."""
    if not str(path).strip():  # (Path("") is ".", the current folder)
        raise ScenarioError(f"the scenario is empty: give a TOML file or one of "
                            f"{', '.join(shipped())}")
    path = Path(path)
    if path.suffix != ".toml" and len(path.parts) == 1 and (SCENARIOS / f"{path}.toml"
                                                            ).exists():
        path = SCENARIOS / f"{path}.toml"  # (a shipped name, whatever the folder holds)
    if path.is_dir():
        raise ScenarioError(f"{str(path)!r} is a folder, not a scenario file: give a TOML "
                            f"file or one of {', '.join(shipped())}")
    if not path.is_file():
        named = path.suffix.lower() == ".toml" or len(path.parts) > 1  # (a path, not a name)
        raise ScenarioError((f"no such file {str(path)!r}" if named else
                             f"no scenario {str(path)!r}") + ": give a TOML file or one of "
                            f"{', '.join(shipped())}")
    if path.suffix != ".toml":  # (an empty file is valid TOML: refused below, as setting nothing)
        raise ScenarioError(f"{str(path)!r} is not a scenario file: its name must end in .toml")
    try:
        raw = path.read_bytes().removeprefix(codecs.BOM_UTF8)  # (a BOM, as Notepad saves)
        written = raw.decode("utf-8")
        data = tomllib.loads(written)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{path.name}: {_key_at(written, e)}{e}") from e
    except UnicodeDecodeError as e:  # (Shift_JIS, as an editor here may save it)
        line = raw[:e.start].count(b"\n") + 1
        raise ScenarioError(f"{path.name}: not UTF-8 (line {line}): save it as UTF-8") from e
    except OSError as e:
        raise ScenarioError(f"{path.name}: {e.strerror or e}") from e
    if not _sets_anything(data):  # (nothing but defaults runs at production's cost: minutes)
        raise ScenarioError(f"{path.name}: sets nothing (it is empty, or only comments, empty "
                            "tables, its name or description): set at least one key, e.g. "
                            "days = 3 (docs/scenario-reference.toml lists them)")
    data.setdefault("name", path.stem)
    problems: list[str] = []
    scenario: Scenario = _build(Scenario, data, "", problems)
    # Every problem at once, an unknown key's too; of a table with a key missing (a delay's),
    # or a delay that is no table, not what its stand-in would be judged.
    incomplete = tuple(p.removesuffix(MISSING).rpartition(".")[0] + " "
                       for p in problems if p.endswith(MISSING)) + tuple(
        p.partition(NO_TABLE)[0] + " " for p in problems if NO_TABLE in p)
    problems += [p for p in checks.check(scenario) if not p.startswith(incomplete)]
    if problems:
        raise ScenarioError(f"{path.name}: " + "; ".join(problems))
    return attrs.evolve(scenario, hash_cost_set="hash_cost" in data)


def _sets_anything(data: dict[str, Any]) -> bool:
    """Whether a scenario file sets a key that changes the run (a table's, or a top one's
    other than its name and description)."""
    return any(value for key, value in data.items() if key in _NESTED) or any(
        key not in _NESTED and key not in ("name", "description") for key in data)


_NESTED = {"population": Population, "behaviour": Behaviour, "attack": Attack,
           "policy": Policy}


def _build(cls: type[Any], data: Any, where: str, problems: list[str]) -> Any:
    """``cls`` from a TOML table; unknown keys and tables that are not tables are problems."""
    table = isinstance(data, dict)
    if not table:
        problems.append(f"{where.rstrip('.')}{NO_TABLE} (e.g. {{ median = 20, p95 = 180 }})"
                        if cls is Delay else f"[{where.rstrip('.')}] must be a table")
        data = {}
    known = {f.name: f for f in attrs.fields(cls) if f.name != "hash_cost_set"}
    unknown = sorted(set(data) - set(known))
    if unknown:
        named = ", ".join(where + k for k in unknown)
        problems.append(f"unknown {numbered(len(unknown), 'key')} {named} (known in "
                        f"{'[' + where.rstrip('.') + ']' if where else 'the top level'}: "
                        f"{', '.join(known)})")
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            continue
        if key in _NESTED and cls is Scenario:
            values[key] = _build(_NESTED[key], value, f"{key}.", problems)
        elif known[key].type in ("Delay",):
            values[key] = _build(Delay, value, f"{where}{key}.", problems)
        elif isinstance(value, list):
            values[key] = tuple(value)
        else:
            values[key] = value
    for key, field in known.items():
        if key not in values and field.default is attrs.NOTHING:
            if table:  # (of no table, its keys are not missing too: that is said)
                problems.append(f"{where}{key}{MISSING}")
            values[key] = 0  # a stand-in: the problem is reported, the scenario never runs
    return cls(**values)
