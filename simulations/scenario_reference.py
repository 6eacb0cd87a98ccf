"""Every key a scenario file takes, written as a scenario file: each at its default, with what
it means and the values it may take (the loader's own bounds: checks.RANGES, PAIRS, DELAYS).
``docs/scenario-reference.toml`` is this text; a test keeps the two the same."""

from __future__ import annotations

import textwrap
from typing import Any

import attrs

from simulations import checks
from simulations.scenario import Delay, Scenario

REFERENCE = "docs/scenario-reference.toml"  # (from the repository's top)
_TABLES = ("population", "behaviour", "attack", "policy")
MEANINGS = {
    "name": "the output folder's name (simulation-output/NAME): no / or \\, not starting "
            "with .; default the file's name",
    "description": "a line for people, shown in report.html, compare.html, report.txt and "
                   "report.json (the shipped scenarios' in Japanese, as the pages are)",
    "start": "the first simulated day (a date)",
    "days": "simulated days",
    "seed": "the same seed records the same events and gives the same reports",
    "hash_cost": "log2 of scrypt's N for this run (production's is 14: a digest ~50 ms); "
                 "the only way a simulation lowers it, and the report states it",
    "population.customers": "contracts, each with its main ID",
    "population.download_plan_share": "share of customers on BS基本サービス ダウンロード "
                                      "(CI-5, SB-3)",
    "population.sub_ids_per_customer": "[fewest, most] sub IDs a customer has, uniform",
    "population.notify_key_share": "share of main and sub IDs with 通知キーの利用 = 利用する",
    "population.customers_per_address": "0: logins carry no client address (D-14 left out); "
                                        "N: each N customers in turn share one address",
    "behaviour.logins_per_business_day": "per login ID, on business days",
    "behaviour.public_holidays": "Japan's public holidays are days off, as weekends are",
    "behaviour.hours_jst": "[from, to): the hours people log in, Japan time",
    "behaviour.mail_delay": "seconds from 「ログイン」 to the key in the mailbox",
    "behaviour.mail_lost_share": "share of key mails that never arrive",
    "behaviour.typing": "seconds from the mail's arrival to 「OK」",
    "behaviour.mistype_rate": "a key entered wrong (D-4: retried while valid)",
    "behaviour.password_typo_rate": "a password entered wrong, retried at once",
    "behaviour.relogin_after_expiry": "chance to log in again after an expired key, else "
                                      "call support (LG-6, LG-8)",
    "behaviour.return_at_key_limit": "chance to come back at the time D-10's page gives, "
                                     "else call support",
    "behaviour.patience": "seconds one waits for a mail that does not come",
    "behaviour.max_relogins": "re-logins a visit has (key expired, mail lost, D-14's wait), "
                              "then support, or giving up after D-14's wait",
    "behaviour.throttled_wait": "seconds one waits when D-14 says 「しばらく時間をおいてから"
                                "再度ログインしてください。」",
    "attack.addresses": "a credential stuffer behind each of the first N client addresses "
                        "(needs population.customers_per_address)",
    "attack.tries_per_hour": "passwords each stuffer tries an hour, day and night, under "
                             "login IDs that do not exist",
    "policy.key_validity_minutes": "LG-5: minutes a key is valid (whole seconds)",
    "policy.max_wrong_entries": "D-4: wrong keys that lock a login",
    "policy.max_keys_per_hour": "D-10: key mails to one login ID within 60 minutes",
    "policy.address_failure_limit": "D-14: failed logins from one client address that refuse "
                                    "its next logins unchecked (needs addresses)",
    "policy.address_window_minutes": "D-14: the window those failures count in (whole "
                                     "seconds; needs addresses)",
}


def keys() -> list[str]:
    """Every key a scenario file takes, as the loader names them (a table's with its name)."""
    top = [f.name for f in attrs.fields(Scenario)
           if f.name not in (*_TABLES, "hash_cost_set")]
    return top + [f"{table}.{f.name}" for table in _TABLES
                  for f in attrs.fields(type(getattr(Scenario("x"), table)))]


def reference() -> str:
    """A scenario file setting every key to its default, each said and bounded."""
    lines = ["# Every key a scenario file takes, each at its default: copy what you change",
             "# (./go simulate FILE.toml). Made by simulations/scenario_reference.py, and a",
             "# test keeps it so. A file that sets no key but its name or description is",
             "# refused; every problem is named by its key, exit 2, before anything runs.", "",
             *_comment(MEANINGS["name"]), '# name = "reference"']
    table, defaults = "", Scenario("reference")
    for key in keys():
        if key == "name":
            continue
        where, _, name = key.rpartition(".")
        if where != table:
            lines += ["", f"[{where}]"]
            table = where
        lines += [*_comment(MEANINGS[key] + _bounds(key)),
                  f"{name} = {checks.as_written(_default(defaults, key))}"]
    return "\n".join(lines) + "\n"


def _default(defaults: Scenario, key: str) -> Any:
    value: Any = defaults
    for part in key.split("."):
        value = getattr(value, part)
    if isinstance(value, Delay):
        return {"median": value.median, "p95": value.p95}
    return value


def _bounds(key: str) -> str:
    """The values ``key`` takes, as the loader's problem for it says them."""
    for name, kind, low, high in checks.RANGES:
        if name == key:
            return f" ({checks.number_allowed(kind, low, high)})"
    for name, low, high, relation in checks.PAIRS:
        if name == key:
            return f" ({checks.pair_allowed(low, high, relation)})"
    return f" ({checks.DELAY_ALLOWED})" if key in checks.DELAYS else ""


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, 88, initial_indent="# ", subsequent_indent="#   ",
                         break_on_hyphens=False)


if __name__ == "__main__":  # python -m simulations.scenario_reference > docs/scenario-reference.toml
    print(reference(), end="")
