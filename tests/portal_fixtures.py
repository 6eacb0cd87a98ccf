"""The served portal for the portal tests: a real uvicorn server on 127.0.0.1 (port 0) in a
thread, on a SQLite store and a mailbox folder; one headless Chromium (Debian's) for the
test module; every server log line captured. Loaded with ``pytest_plugins``."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import itertools
import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect
from starlette.applications import Starlette

from application.adapters.mailbox import MailboxFolder
from application.billing_station import BillingStation
from application.messages import is_key_mail, key_in
from application.outcomes import Session, TopPage
from domain.forms import Plan
from portal.app import create_app
from portal.config import PortalConfig
from portal.protocol import PortalHttpTools
from portal.server import onboard_demo_if_empty
from tests.conftest import build, store_env
from tests.docs_shots import refreshing, screenshot_path, shot_name
from tests.story import PASSWORD, information, sub_id_form

ROOT = Path(__file__).parent.parent
SECRET = b"portal-tests-secret"
_numbers = itertools.count(1)


class LogCapture(logging.Handler):
    """Every log record of the server process (uvicorn's access log, the portal's, the
    application's), formatted, so tests can look for what must never appear (D-15)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@attrs.define
class Served:
    """The portal as a browser and an HTTP client reach it, and its store and mailbox."""

    url: str
    station: BillingStation
    mailbox: MailboxFolder
    logs: LogCapture
    store: dict[str, str]

    def customer(self, plan: Plan = Plan.STANDARD, notify_key: bool = False) -> str:
        """A new customer whose main ID has logged in once (LG-4), with the notify key as
        asked; its login ID (its password is tests.story.PASSWORD, its address
        <login ID>@example.co.jp)."""
        n = next(_numbers)
        login_id = f"main{n:03d}"
        self.station.onboard_customer(
            f"BS9{n:06d}", "テスト商事", "テストショウジ", plan, login_id, PASSWORD,
            information(email=f"{login_id}@example.co.jp",
                        email_confirmation=f"{login_id}@example.co.jp",
                        notify_key="利用する" if notify_key else "利用しない"))
        assert isinstance(self.station.log_in(login_id, PASSWORD), TopPage)
        return login_id

    def session(self, login_id: str) -> Session:
        shown = self.station.log_in(login_id, PASSWORD)
        assert isinstance(shown, TopPage)
        return shown.session

    def key(self, email: str) -> str:
        """The key of the last key mail to ``email``, as a person reads it."""
        mails = [m for m in self.mailbox.messages(email) if is_key_mail(m)]
        assert mails, f"no key mail to {email}"
        return key_in(mails[-1])


def _serve(app: Starlette, proxied: bool) -> tuple[uvicorn.Server, threading.Thread, str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, log_level="info",
                            proxy_headers=proxied, forwarded_allow_ips="127.0.0.1",
                            http=PortalHttpTools)  # (as serve's, with the proxy's address)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def running(app: Starlette, proxied: bool = False) -> Iterator[str]:
    """``app`` served on loopback in a thread, stopped at the end; its URL. ``proxied``: as
    behind a trusted proxy on loopback (``serve --forwarded-allow-ips 127.0.0.1``), a
    request's X-Forwarded-For naming its client's address."""
    server, thread, url = _serve(app, proxied)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def serving(folder: Path, kind: str = "sqlite") -> Iterator[Served]:
    """A portal served on a fresh store of ``kind`` (SQLite under ``folder``, or a fresh
    PostgreSQL schema, dropped afterwards) and a mailbox under ``folder``, the demo
    customer onboarded (as ``serve`` does on an empty store), its log lines captured."""
    with contextlib.contextmanager(store_env)(kind, folder) as store, _serving(
            folder, store) as served:
        yield served


@contextlib.contextmanager
def _serving(folder: Path, store: dict[str, str]) -> Iterator[Served]:
    mailbox = MailboxFolder(folder / "mailbox")
    station = build(store, mailbox)
    onboard_demo_if_empty(station)
    logs = LogCapture()
    logs.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(logs)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        with running(create_app(station, PortalConfig(SECRET))) as url:
            yield Served(url, station, mailbox, logs, store)
    finally:
        root.removeHandler(logs)
        root.setLevel(level)
        station.close()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("portal")) as portal:
        yield portal




@pytest.fixture
def tab(chromium: Browser, served: Served) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test, on the served portal."""
    context = chromium.new_context(base_url=served.url, locale="ja-JP")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


def shots_root() -> Path:
    """Where the browser's screenshots go: reports/screenshots, or where ./go report --out
    says (BS_SCREENSHOTS)."""
    return Path(os.environ.get("BS_SCREENSHOTS") or ROOT / "reports" / "screenshots")


def fresh_shots_folder(test: str) -> Path:
    """Where a test's screenshots go, emptied of an earlier run's (a test that failed before
    its first screenshot showed them as its own)."""
    folder = shots_root() / re.sub(r"[^\w\-]+", "_", test)[:120]
    shutil.rmtree(folder, ignore_errors=True)
    return folder


class Camera:
    """Each browser step's screenshot, kept under reports/screenshots/<test>/ (shots_root)."""

    def __init__(self, page: Page, test: str):
        self.page, self.count = page, 0
        self.folder = fresh_shots_folder(test)
        self.folder.mkdir(parents=True, exist_ok=True)

    def shot(self, step: str, docs: str | None = None) -> None:
        self.count += 1
        path = self.folder / shot_name(self.count, step)
        self.page.wait_for_load_state()  # its stylesheet applied: no unstyled page as evidence
        self.page.screenshot(path=str(path), full_page=True)
        if docs and refreshing():  # the README's pictures, when ./go screenshots asks
            shutil.copyfile(path, screenshot_path(docs, self.folder))


@pytest.fixture
def camera(tab: Page, request: pytest.FixtureRequest) -> Camera:
    return Camera(tab, request.node.name)


@pytest.fixture
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, follow_redirects=False) as http:
        yield http


# -- a PostgreSQL server of a test's own (to stop and start it; CI's shared one is never
#    touched), and the portal served in processes of its own -----------------------------

def postgres_binaries() -> Path | None:
    """Debian's PostgreSQL programs, when this machine has them and can run them as the
    postgres user (root, as CI is)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found or os.geteuid() != 0 or shutil.which("runuser") is None:
        return None
    return Path(found[-1]).parent


def needs_own_postgres() -> Path:
    """The PostgreSQL programs; where there are none, the test is skipped (not in CI)."""
    binaries = postgres_binaries()
    if binaries is None:
        if os.environ.get("CI") or os.environ.get("POSTGRES_HOST"):
            raise RuntimeError("a PostgreSQL test cannot start its own server here: it needs "
                               "/usr/lib/postgresql/*/bin and root (runuser -u postgres)")
        pytest.skip("no PostgreSQL programs (or not root) to start a server of the test's own")
    return binaries


@attrs.define
class OwnPostgres:
    """A short-lived PostgreSQL server on 127.0.0.1 for one test: stop and start it."""

    binaries: Path
    folder: Path
    port: int

    @property
    def env(self) -> dict[str, str]:
        return {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(self.port),
                "POSTGRES_USER": "postgres", "POSTGRES_PASSWORD": "postgres",
                "POSTGRES_DBNAME": "portal_faults"}

    def _ctl(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.binaries / "pg_ctl"),
                        "-D", str(self.folder / "data"), *args], check=True,
                       capture_output=True, timeout=60)

    def start(self) -> None:
        self._ctl("-l", str(self.folder / "server.log"), "-w", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")


@contextlib.contextmanager
def own_postgres(binaries: Path) -> Iterator[OwnPostgres]:
    folder = Path(tempfile.mkdtemp(prefix="bs-own-pg-"))
    shutil.chown(folder, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = OwnPostgres(binaries, folder, port)
    subprocess.run(["runuser", "-u", "postgres", "--", str(binaries / "initdb"), "-D",
                    str(folder / "data"), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True, timeout=120)
    server.start()
    try:
        subprocess.run(["runuser", "-u", "postgres", "--", str(binaries / "psql"), "-h",
                        str(folder), "-p", str(port), "-qc", "CREATE DATABASE portal_faults"],
                       check=True, capture_output=True, timeout=60)
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def browser_login(tab: Page, login_id: str, password: str = PASSWORD) -> None:
    """「ログイン」 as a person at the browser: the login screen, both fields, the button."""
    tab.goto("/login")
    tab.get_by_label("ログインID").fill(login_id)
    tab.get_by_label("パスワード").fill(password)
    tab.get_by_role("button", name="ログイン").click()


def fill_new_sub_id(tab: Page, login_id: str) -> None:
    """副ID 新規登録's required fields, as a person fills them (仮パスワード Temp0rary-pass)."""
    tab.get_by_label("ログインID").fill(login_id)
    tab.get_by_label("仮パスワード").fill("Temp0rary-pass")
    tab.get_by_label("担当者").fill("佐藤　花子")
    tab.get_by_label("電話番号").fill("0398765432")
    tab.get_by_label("登録先メールアドレス").fill(f"{login_id}@example.co.jp")


def confirm_then_ok(tab: Page, camera: Camera, heading: str, line: str, done: str) -> None:
    """「確認」, its screen (``heading``, showing ``line``; shot), 「OK」 and its 完了 message."""
    tab.get_by_role("button", name="確認").click()
    expect(tab.get_by_role("heading", name=heading)).to_be_visible()
    expect(tab.get_by_text(line)).to_be_visible()
    camera.shot("confirmation")
    tab.get_by_role("button", name="OK").click()
    expect(tab.get_by_text(done, exact=True)).to_be_visible()


def sub_id_of(served: Served, main: str | None = None) -> str:
    """A sub ID (with its own key mail address) of ``main``, or of a new customer of the
    served portal."""
    main = main or served.customer()
    session = served.session(main)
    form = sub_id_form(f"{main}s1", temporary_password=PASSWORD, person_in_charge="佐藤　花子")
    served.station.submit_new_sub_id(session, served.station.confirm_new_sub_id(session, form))
    return f"{main}s1"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def http_log_in(client: httpx.Client, login_id: str, password: str = PASSWORD
                ) -> httpx.Response:
    """「ログイン」 as a browser does it: the login page (its token), then the form."""
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"login_id": login_id, "password": password,
                                       "csrf": token})


def confirmation_shown(client: httpx.Client, form: str, data: dict[str, str]
                       ) -> httpx.Response:
    """「確認」 on the form at ``form``, as a browser does it: the POST answers 303 to the
    確認 screen at ``form``/confirm (Post/Redirect/Get), which the GET shows."""
    posted = client.post(form, data=data)
    assert posted.status_code == 303, (posted.status_code, re.findall(r"error[^>]*>([^<]+)", posted.text))
    assert posted.headers["location"] == f"{form}/confirm"
    return client.get(posted.headers["location"])


def onboard_customer(station: BillingStation, login_id: str, notify_key: bool = False,
                     plan: Plan = Plan.STANDARD) -> str:
    """A customer whose main ID ``login_id`` has logged in once (LG-4); its password is
    tests.story.PASSWORD and its address <login ID>@example.co.jp."""
    n = next(_numbers)
    station.onboard_customer(
        f"BS8{n:06d}", "テスト商事", "テストショウジ", plan, login_id, PASSWORD,
        information(email=f"{login_id}@example.co.jp",
                    email_confirmation=f"{login_id}@example.co.jp",
                    notify_key="利用する" if notify_key else "利用しない"))
    assert isinstance(station.log_in(login_id, PASSWORD), TopPage)
    return login_id


def serve_env(store: dict[str, str]) -> dict[str, str]:
    """The BS_* / POSTGRES_* settings that make ``serve`` use ``store``."""
    if store["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        return {"BS_STORE": "sqlite", "BS_SQLITE_PATH": store["SQLITE_DBNAME"]}
    return {"BS_STORE": "postgres"} | {k: v for k, v in store.items()
                                        if k.startswith("POSTGRES_")}


def in_process(app: Starlette, base_url: str, address: str = "192.0.2.1", raise_errors: bool = True,
               ) -> Callable[[Callable[[httpx.AsyncClient], Awaitable[None]]], None]:
    """Runs ``steps`` with a client calling ``app`` in this process, from ``address``."""

    def run(steps: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
        async def main() -> None:
            transport = httpx.ASGITransport(
                app=app, client=(address, 40000), raise_app_exceptions=raise_errors)
            async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
                await steps(client)

        with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs in this thread
            thread.submit(asyncio.run, main()).result()

    return run


async def async_login(client: httpx.AsyncClient, login_id: str, password: str = PASSWORD
                      ) -> httpx.Response:
    token = csrf_of((await client.get("/login")).text)
    return await client.post("/login", data={"login_id": login_id, "password": password,
                                             "csrf": token})
