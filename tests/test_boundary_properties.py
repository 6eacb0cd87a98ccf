"""Generated input thrown at every boundary: the console script's argv, scenario files and
the services a portal exposes. Never a traceback; exit codes only from the table; a refusal
leaves the store exactly as it was. How many inputs were tried is printed at the end of
the run (HYPOTHESIS_PROFILE=long tries ten times as many)."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application import AttemptNotFound, audit
from application.billing_station import BillingStation
from application.bootstrap import store_settings
from application.outcomes import Confirmation, ErrorPage, KeyEntry, Refused, Session, TopPage
from billing_station import exits
from billing_station.cli import main
from domain.crypto import Hasher
from domain.fields import InvalidInput
from domain.forms import CUSTOMER_INFORMATION, SUB_ID_REGISTRATION
from simulations.scenario import ScenarioError, load
from tests.conftest import TRIED, build
from tests.story import PASSWORD, SUB_PASSWORD, KeyRecorder, add_sub_id, first_login, keyed_main

EXIT_CODES = {exits.OK, exits.VIOLATIONS, exits.USAGE, exits.DATA_ERROR, exits.UNAVAILABLE,
              exits.SHARD_FAILED, exits.IO_ERROR}
LOTS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
text = st.text(max_size=40) | st.sampled_from(["", "main01", "2026-04-06", "2015/01/16 10:00",
                                                "x" * 300, "\x00", "--", "-h"])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A small real store: a keyed main ID with a few logins."""
    path = tmp_path_factory.mktemp("store") / "store.sqlite3"
    app = build(store_settings("sqlite", path), KeyRecorder())
    keyed_main(app)
    app.log_in("main01", PASSWORD)
    app.log_in("nobody", PASSWORD)
    app.close()
    yield path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


argv = st.lists(st.sampled_from(["timeline", "as-of", "history", "verify", "demo", "simulate",
                                 "serve", "nonsense", "--from", "--to", "--format", "csv",
                                 "jsonl", "table", "html", "--html", "--checkpoint", "--out",
                                 "--shards", "--scheduler", "--days", "--compare", "--port", "--store",
                                 "/proc/x", "9999-12-31T23:59-12:00", "0001-01-01T00:00+12:00",
                                 "--help", "main01"]) | text, max_size=6)


@LOTS
@given(args=argv)
def test_the_console_script_never_shows_a_traceback(store: Path, args: list[str]) -> None:
    if "--help" not in args:  # these run for minutes or serve forever when all is well
        args = [a for a in args if a not in ("demo", "simulate", "serve")]
    before = digest(store)
    result = CliRunner().invoke(main, args, env={"BS_SQLITE_PATH": str(store)})
    TRIED["console-script argv"] += 1
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in EXIT_CODES and "Traceback" not in result.output
    assert digest(store) == before


toml_value = (st.integers(-10**6, 10**7) | st.floats(allow_nan=False, allow_infinity=False)
              | st.booleans() | st.text(max_size=8) | st.dates(date(1900, 1, 1), date(2100, 1, 1))
              | st.lists(st.integers(-5, 30), max_size=3))


def toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.encode("unicode_escape").decode().replace('"', '\\\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return str(value) if not isinstance(value, float) else repr(value)


keys = st.sampled_from(["days", "start", "seed", "hash_cost", "bogus", "population.customers",
                        "population.notify_key_share", "population.sub_ids_per_customer",
                        "behaviour.hours_jst", "behaviour.mail_delay.median",
                        "behaviour.mail_delay.p95", "behaviour.mistype_rate",
                        "policy.key_validity_minutes", "policy.max_wrong_entries", "policy",
                        "population.customers_per_address", "attack.addresses",
                        "attack.tries_per_hour", "behaviour.throttled_wait.median", "attack",
                        "policy.address_failure_limit", "policy.address_window_minutes"])


@LOTS
@given(entries=st.dictionaries(keys, toml_value, max_size=6))
def test_a_scenario_file_is_loaded_or_refused_with_its_problems(
    tmp_path: Path, entries: dict[str, object]
) -> None:
    tables: dict[str, list[str]] = {"": []}
    for key, value in entries.items():
        table, _, name = key.rpartition(".")
        tables.setdefault(table, []).append(f"{name} = {toml(value)}")
    path = tmp_path / "generated.toml"
    path.write_text("\n".join(f"[{t}]\n" * bool(t) + "\n".join(lines)
                              for t, lines in tables.items()) + "\n")
    TRIED["scenario files"] += 1
    try:
        scenario = load(path)
    except ScenarioError as e:
        assert str(e).startswith("generated.toml: ")
        return
    assert scenario.days >= 1 and scenario.policy.key_validity_minutes > 0
    behaviour = scenario.behaviour  # (a delay that loads can be sampled)
    assert all(0 < d.median <= d.p95 for d in (behaviour.mail_delay, behaviour.typing,
                                                behaviour.patience, behaviour.throttled_wait))
    assert scenario.attack.tries_per_hour > 0
    scenario.policy.login_policy()  # (a policy that loads is one the domain takes)


@pytest.fixture
def station(app: BillingStation) -> BillingStation:
    keyed_main(app)
    return app


def count(app: BillingStation) -> int:
    return len(list(audit.replay(app)))


form = st.dictionaries(st.sampled_from([*CUSTOMER_INFORMATION, *SUB_ID_REGISTRATION, "x", ""]),
                       text, max_size=5)


@LOTS
@given(login_id=text, password=text, key=text, information=form, sub_id=form,
       attempt=st.sampled_from(["real", "random"]))
def test_the_services_answer_every_input_with_an_outcome_or_a_refusal(
    station: BillingStation, login_id: str, password: str, key: str,
    information: dict[str, str], sub_id: dict[str, str], attempt: str
) -> None:
    TRIED["service inputs"] += 1
    screen = station.log_in(login_id, password)
    assert isinstance(screen, TopPage | KeyEntry | ErrorPage)
    real = station.log_in("main01", PASSWORD)
    attempt_id = real.attempt_id if isinstance(real, KeyEntry) and attempt == "real" \
        else uuid.uuid4()
    try:
        assert isinstance(station.enter_key(attempt_id, key), TopPage | KeyEntry | ErrorPage)
    except AttemptNotFound:
        assert attempt_id != getattr(real, "attempt_id", None)
    main = Session("main01", station.account("main01").id,  # type: ignore[union-attr]
                   station.account("main01").id, True)  # type: ignore[union-attr]
    for confirm in (lambda: station.confirm_customer_information(main, information),
                    lambda: station.confirm_new_sub_id(main, sub_id)):
        before = count(station)
        with contextlib.suppress(InvalidInput, Refused):
            assert isinstance(confirm(), Confirmation)
        assert count(station) == before  # 確認 records nothing, whatever it answers


def test_a_sub_id_session_on_every_main_id_service_is_refused_and_records_nothing(
    station: BillingStation
) -> None:
    owner = Session("main01", station.account("main01").id,  # type: ignore[union-attr]
                    station.account("main01").id, True)  # type: ignore[union-attr]
    add_sub_id(station, owner, "sub01")
    sub = first_login(station, "sub01", SUB_PASSWORD)
    forged = Session("sub01", sub.account_id, owner.customer_id, True)
    before = count(station)
    for use in (lambda: station.customer_information(forged),
                lambda: station.confirm_customer_information(forged, {}),
                lambda: station.permission_settings(forged),
                lambda: station.confirm_new_sub_id(forged, {}),
                lambda: station.register_organization(forged, "x")):
        with pytest.raises(Refused):
            use()
    assert count(station) == before


secret_or_text = text | st.sampled_from([f"scrypt${c}${'0' * 32}${'0' * 64}" for c in (0, 8, 99)])


@LOTS
@given(changes=st.dictionaries(st.sampled_from([*CUSTOMER_INFORMATION, "customer_number", "x"]),
                               secret_or_text, max_size=4),
       target=st.sampled_from(["same", "random", "stale"]))
def test_ok_applies_a_confirmation_changed_on_its_way_only_if_it_still_checks(
    station: BillingStation, changes: dict[str, str], target: str
) -> None:
    """OK is handed back a confirmation: its values, its target and its version may have
    been changed on the way. It applies what 確認 would have accepted, or refuses and
    records nothing."""
    TRIED["confirmations changed on their way"] += 1
    main = Session("main01", station.account("main01").id,  # type: ignore[union-attr]
                   station.account("main01").id, True)  # type: ignore[union-attr]
    confirmed = station.confirm_customer_information(main, {"department": "経理部"})
    tampered = attrs.evolve(
        confirmed, values=confirmed.values | changes,
        target_id=uuid.uuid4() if target == "random" else confirmed.target_id,
        version=confirmed.version - 1 if target == "stale" else confirmed.version)
    before = count(station)
    try:
        station.submit_customer_information(main, tampered)
    except (InvalidInput, Refused):
        assert count(station) == before
        return
    assert target == "same"
    stored = station.account("main01")
    assert stored is not None and all(  # what was applied is what 確認 accepts
        CUSTOMER_INFORMATION[k].check(v) is None for k, v in stored.information.items()
        if k in CUSTOMER_INFORMATION and k != "download_file_password")
    assert Hasher.is_digest(stored.information.get("download_file_password") or
                            "scrypt$8$" + "0" * 32 + "$" + "0" * 64)
