"""Fixtures: the application on each store, a real mailbox folder, a moving clock."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tomllib
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import freezegun
import pytest
from hypothesis import settings
from playwright.sync_api import Browser, sync_playwright

from application import bootstrap
from application.adapters.mailbox import MailboxFolder
from application.billing_station import BillingStation
from application.bootstrap import StoreSettings, store_settings
from application.ports import Mailer
from domain.crypto import Hasher
from tests import docs_shots
from tests.rule_names import rules_named
from tests.story import FAST_HASHER

RULES = tomllib.loads((Path(__file__).parent.parent / "features" / "rules.toml").read_text())


TRIED: Counter[str] = Counter()  # generated inputs thrown at the boundaries, by kind


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TRIED:
        terminalreporter.write_line("boundaries tried with generated input: " + ", ".join(
            f"{n:,} {kind}" for kind, n in TRIED.items()))


# The product's settings as a shell may have exported them (README's audit example exports
# BS_SQLITE_PATH): each test starts without them and sets what it means to test.
PRODUCT_SETTINGS = ("BS_STORE", "BS_SQLITE_PATH", "BS_MAIL", "BS_MAILBOX", "BS_SMTP_",
                    "BS_HASH_COST", "BS_PORTAL_", "BS_LOGIN_URL", "CIPHER_", "COMPRESSOR_TOPIC")


@pytest.fixture(autouse=True)
def _no_exported_product_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith(PRODUCT_SETTINGS)]:
        monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _ctrl_c_stops_the_tests_again() -> Iterator[None]:
    """A command run in this process ignores Ctrl-C once its outcome is settled
    (exits.settled): given back after each test, so that Ctrl-C still stops pytest."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


@pytest.fixture(autouse=True)
def _serve_never_serves_in_the_test_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run `serve` in this process only to see it refuse: were a refusal to break, it
    would fail here instead of serving until CI's time runs out (real servers run as
    processes of their own)."""
    def started(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("serve started serving instead of refusing")
    monkeypatch.setattr("billing_station.serve_command.uvicorn.run", started)


def pytest_bdd_before_step(request: Any, feature: Any, scenario: Any, step: Any,
                           step_func: Any) -> None:
    docs_shots.at_step(step.line_number)  # (a screenshot taken now names its step)


def pytest_bdd_after_step(request: Any, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any) -> None:
    docs_shots.at_step(0)


def pytest_runtest_setup(item: pytest.Item) -> None:
    docs_shots.at_step(0)  # (a step that failed left its line)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--driver", choices=("services", "browser"), default="services",
        help="what runs the Gherkin specs of tests/test_features.py: the application "
             "services (default), or a person at headless Chromium on the served portal")


def pytest_configure(config: pytest.Config) -> None:
    """Each rule id is a marker, so a scenario's tag (@LG-5) selects it: pytest -m LG-5."""
    for rule, statement in RULES["rules"].items():
        config.addinivalue_line("markers", f"{rule}: {statement}")
    config.addinivalue_line(
        "markers", "service-only: a scenario not about a screen; --driver=browser skips it, "
                   "saying why")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test named by its rules (test_D_2_and_D_4_…) is marked by them, as a scenario is by
    its tags: pytest -m D-4 runs both."""
    for item in items:
        for rule in rules_named(getattr(item, "originalname", item.name)):
            if rule in RULES["rules"]:
                item.add_marker(rule)


# Freezing time must not freeze pytest-bdd's step timing nor Hypothesis's own clock.
# pytest's own modules too, so --durations reports real seconds. The portal served in a
# thread of this process (the specs' browser driver) needs real timers: asyncio's loops
# (uvicorn's, Playwright's) read time.monotonic, and with it frozen uvicorn never sees its
# shutdown (each scenario's teardown then waits out thread.join's 10 s). freezegun gives
# real time.time/monotonic/perf_counter to a call with an ignored module within 5 frames
# of it; datetime.now() stays frozen for every caller, so the application's clock
# (domain.clock.now) reads the frozen time in the server's threads too.
freezegun.configure(extend_ignore_list=[
    "pytest_bdd.", "hypothesis.", "_pytest.", "pytest.",
    "asyncio.", "anyio.", "starlette.", "uvicorn.", "h11.", "httpx.", "httpcore.",
    "playwright.", "pyee."])

# Hypothesis: "ci" (the default, and CI's) is reproducible: a fixed seed, a few hundred
# examples. HYPOTHESIS_PROFILE=long explores ten times as far, with a fresh seed each run.
settings.register_profile("ci", max_examples=200, stateful_step_count=40, deadline=None,
                          derandomize=True, database=None, print_blob=True)
settings.register_profile("long", max_examples=2000, stateful_step_count=80, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))



def _stores() -> list[str]:
    if os.environ.get("POSTGRES_HOST"):
        return ["memory", "sqlite", "postgres"]
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the PostgreSQL tests: POSTGRES_HOST is not set")
    return ["memory", "sqlite"]  # PostgreSQL runs where configured (.ci/run starts one)


STORES = _stores()


@pytest.fixture
def mailbox(tmp_path: Path) -> MailboxFolder:
    return MailboxFolder(tmp_path / "mailbox")


@pytest.fixture
def start() -> Iterator[freezegun.api.FrozenDateTimeFactory]:
    """The clock, frozen at 2015/01/16 09:58 JST (the manual's 前回ログイン), moved by tests."""
    with freezegun.freeze_time("2015-01-16 00:58:00+00:00") as frozen:
        assert isinstance(frozen, freezegun.api.FrozenDateTimeFactory)
        yield frozen


def store_env(kind: str, tmp_path: Path) -> Iterator[StoreSettings]:
    """eventsourcing settings for a fresh store of ``kind``; a PostgreSQL one is a fresh
    schema, dropped afterwards."""
    if kind != "postgres":
        yield store_settings(kind, tmp_path / "store.sqlite3")
    else:
        import psycopg

        schema = f"t_{uuid.uuid4().hex[:12]}"
        dsn = (f"host={os.environ['POSTGRES_HOST']} port={os.environ.get('POSTGRES_PORT', 5432)}"
               f" dbname={os.environ['POSTGRES_DBNAME']} user={os.environ['POSTGRES_USER']}"
               f" password={os.environ.get('POSTGRES_PASSWORD', '')}")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            yield store_settings("postgres", POSTGRES_SCHEMA=schema)
        finally:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def stored_bytes(env: StoreSettings) -> bytes:
    """Everything a store holds, as bytes: the SQLite file (and its WAL), or a pg_dump of
    the schema (where bytea shows as hex, so search with ``holds``)."""
    if "sqlite" in env["PERSISTENCE_MODULE"]:
        return b"".join(Path(p).read_bytes() for p in glob.glob(env["SQLITE_DBNAME"] + "*"))
    pg_dump = shutil.which("pg_dump") or sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))[-1]
    return subprocess.run(
        [pg_dump, "-h", os.environ["POSTGRES_HOST"], "-p", os.environ.get("POSTGRES_PORT", "5432"),
         "-U", os.environ["POSTGRES_USER"], "-n", env["POSTGRES_SCHEMA"], os.environ["POSTGRES_DBNAME"]],
        check=True, capture_output=True, env={**os.environ, "PGPASSWORD": os.environ.get(
            "POSTGRES_PASSWORD", "")}).stdout


def holds(data: bytes, text: str) -> bool:
    """``text`` is in a store's bytes, as stored or as a dump's hex."""
    raw = text.encode()
    return raw in data or raw.hex().encode() in data


@pytest.fixture
def env(tmp_path: Path) -> Iterator[StoreSettings]:
    """Unit tests run in memory; the persistence tests take ``any_env``."""
    yield from store_env("memory", tmp_path)


@pytest.fixture(params=STORES)
def any_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSettings]:
    yield from store_env(request.param, tmp_path)


@pytest.fixture(params=[s for s in STORES if s != "memory"])
def shared_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSettings]:
    """A store other processes can open too: SQLite file, PostgreSQL where configured."""
    yield from store_env(request.param, tmp_path)


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every scrypt derivation from here on, as (the secret derived, the cost)."""
    derived: list[tuple[str, int]] = []
    derive = Hasher._derive

    def counted(secret: str, salt: bytes, cost: int) -> bytes:
        derived.append((secret, cost))
        return derive(secret, salt, cost)

    monkeypatch.setattr(Hasher, "_derive", staticmethod(counted))
    return derived


def build(store: StoreSettings, mailer: Mailer, **collaborators: Any) -> BillingStation:
    """The application as the product builds it, with the tests' store, mailer and the fast
    hasher (unless ``collaborators`` say otherwise)."""
    return bootstrap.application(store=store, mailer=mailer,
                                 **{"hasher": FAST_HASHER} | collaborators)


@pytest.fixture
def app(env: StoreSettings, mailbox: MailboxFolder) -> Iterator[BillingStation]:
    station = build(env, mailbox)
    yield station
    station.close()


@pytest.fixture
def keyed(app: BillingStation, start: freezegun.api.FrozenDateTimeFactory) -> BillingStation:
    """A main ID "main01" with the notify key on, past its first login (LG-4)."""
    from tests.story import keyed_main

    keyed_main(app)
    return app


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for the whole run (Debian's: Playwright cannot fetch its own
    here; ./go system-packages installs it). One per session: Playwright's sync API cannot
    run twice at once in one thread."""
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError("no chromium on PATH: run ./go system-packages (as root)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, headless=True)
        yield launched
        launched.close()
