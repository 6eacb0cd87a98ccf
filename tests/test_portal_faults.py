"""The served portal when things break under it: PostgreSQL restarted mid-run (a server of
the test's own), a worker process killed with SIGKILL mid-request, the SMTP server down or
slow. Real HTTP against ``billing-station serve`` (or uvicorn in a thread for SMTP); what
failed is printed; the store is checked whole afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from aiosmtpd.controller import Controller

from application import screens
from application.adapters.mailbox import MailboxFolder
from application.audit import replay, verify
from application.billing_station import BillingStation
from application.bootstrap import Settings, store_settings
from application.messages import key_in
from application.outcomes import Refusal
from benchmarks.portal.serving import serve
from domain.crypto import Hasher
from domain.login_attempt import LoginAttempt
from portal.app import create_app
from portal.config import PortalConfig

pytest.register_assert_rewrite("tests.portal_fixtures")  # before its import

from tests.conftest import build, store_env  # noqa: E402
from tests.portal_fixtures import (  # noqa: E402
    SECRET,
    csrf_of,
    http_log_in,
    needs_own_postgres,
    onboard_customer,
    own_postgres,
    running,
    serve_env,
)
from tests.story import PASSWORD  # noqa: E402
from tests.test_mail import Inbox, SlowInbox, free_port  # noqa: E402

UNAVAILABLE = "ただいまサービスをご利用いただけません。"
STORES = ["sqlite", *(["postgres"] if os.environ.get("POSTGRES_HOST") else [])]


def whole(station: BillingStation) -> list[str]:
    """What is not whole in the store: an aggregate that does not rebuild, a login attempt
    with no decision, a key issued whose account did not record the mail (one transaction),
    or a violation ``verify`` finds. Empty when all is whole."""
    problems: list[str] = []
    events = list(replay(station))
    kinds: dict[Any, list[str]] = {}
    for event in events:
        kinds.setdefault(event.originator_id, []).append(type(event).__qualname__)
    mailed = sum(k.count("Account.KeyMailed") + k.count("Customer.KeyMailed")
                 + k.count("SubID.KeyMailed") for k in kinds.values())
    issued = sum(k.count("LoginAttempt.KeyIssued") for k in kinds.values())
    for aggregate_id, names in kinds.items():
        try:
            station.repository.get(aggregate_id)
        except Exception as e:
            problems.append(f"{aggregate_id} does not rebuild: {type(e).__name__}")
        if names[0].startswith("LoginAttempt.LoginRequested") and len(names) == 1:
            problems.append(f"attempt {aggregate_id} recorded without a decision")
    if mailed != issued:
        problems.append(f"{issued} keys issued but {mailed} key mails recorded on accounts")
    problems += [f"verify: {v.rule}" for v in verify(station)]
    return problems


def logins(station: BillingStation) -> int:
    return sum(isinstance(e, LoginAttempt.LoginCompleted) for e in replay(station))


class People:
    """Threads logging in over HTTP, each with its own login IDs, until told to stop (and
    at most ``rounds`` times each); every outcome counted, with when it came."""

    def __init__(self, url: str, login_ids: list[list[str]], rounds: int,
                 flow: Callable[[httpx.Client, str], str]) -> None:
        self.url, self.login_ids, self.rounds, self.flow = url, login_ids, rounds, flow
        self.stop = threading.Event()
        self.outcomes: list[tuple[float, str]] = []
        self.tokens: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._person, args=(ids,), daemon=True)
                        for ids in login_ids]

    def _person(self, ids: list[str]) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            for n in range(self.rounds):
                if self.stop.is_set():
                    return
                try:
                    outcome = self.flow(client, ids[n % len(ids)])
                except httpx.TransportError as e:
                    outcome = f"cut ({type(e).__name__})"
                with self.lock:
                    self.outcomes.append((time.monotonic(), outcome))
                    if outcome == "ok" and "bs_session" in client.cookies:
                        self.tokens.append(client.cookies["bs_session"])
                client.cookies.clear()

    def __enter__(self) -> People:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def count(self, since: float = 0.0) -> Counter[str]:
        with self.lock:
            return Counter(o for t, o in self.outcomes if t >= since)


def unavailable_page(response: httpx.Response) -> bool:
    return (response.status_code == 503 and UNAVAILABLE in response.text
            and 'lang="ja"' in response.text and "Traceback" not in response.text
            and response.headers.get("retry-after") == "5")


def log_in_flow(client: httpx.Client, login_id: str) -> str:
    """A login without a key: "ok", "503" (the page checked), or what else came."""
    response = http_log_in(client, login_id)
    if response.status_code == 303 and response.headers["location"] == "/top":
        return "ok"
    if response.status_code == 503:
        return "503" if unavailable_page(response) else "503 without its page"
    return f"status {response.status_code}"


def test_postgres_restarted_mid_run_gives_503_pages_records_nothing_half_and_service_resumes(
        tmp_path: Path) -> None:
    binaries = needs_own_postgres()
    with own_postgres(binaries) as server:
        store = store_settings("postgres", environ=server.env)
        station = build(store, MailboxFolder(tmp_path / "mailbox"))
        ids = [[onboard_customer(station, f"restart{p}{n}") for n in range(2)] for p in range(4)]
        station.close()
        env = serve_env(store)
        with serve(env, tmp_path, 2, {"BS_HASH_COST": "8", "POSTGRES_CONNECT_TIMEOUT": "1",
                                      "BS_PORTAL_DEADLINE": "2"}
                   ) as serving, People(serving.url, ids, 400, log_in_flow) as people:
            time.sleep(1.0)
            down = time.monotonic()
            server.stop()
            time.sleep(4.5)
            server.start()
            back = time.monotonic()
            for _ in range(300):  # service resumes by itself: no restart of the portal
                if people.count(since=back)["ok"]:
                    break
                time.sleep(0.1)
            resumed = time.monotonic() - back
            time.sleep(0.5)
        during = people.count(since=down) - people.count(since=back)
        total = people.count()
        print(f"\nPostgreSQL down {back - down:.1f} s: {dict(total)} in all; while down "
              f"{dict(during)}; the first login after it came back took {resumed:.1f} s")
        log = serving.log.read_text()
        assert "Traceback" not in log and "store unavailable on POST /login" in log
        assert set(total) <= {"ok", "503"}, total  # no 500, no cut connection, no bare 503
        assert total["503"] >= 1, "the outage was not seen: nothing was tested"
        assert people.count(since=back)["ok"] >= 1, "the service did not resume"
        after = build(store, MailboxFolder(tmp_path / "mailbox"))
        try:
            assert whole(after) == []
            assert logins(after) >= total["ok"]  # every login seen completed is stored
            for token in people.tokens:  # and its session with it
                assert after.member(token) is not None
        finally:
            after.close()


def key_login_flow(client: httpx.Client, login_id: str) -> str:
    response = http_log_in(client, login_id)
    if response.status_code == 303 and response.headers["location"] == "/key":
        return "ok"
    return f"status {response.status_code}"


def _workers(serve_pid: int) -> list[psutil.Process]:
    """serve's live worker processes, the longest serving first."""
    found: list[tuple[float, psutil.Process]] = []
    for child in psutil.Process(serve_pid).children():
        with contextlib.suppress(psutil.Error):  # gone, or a zombie not yet reaped
            if (child.status() != psutil.STATUS_ZOMBIE
                    and "resource_tracker" not in " ".join(child.cmdline())):
                found.append((child.create_time(), child))
    return [child for _, child in sorted(found, key=lambda f: f[0])]


@pytest.fixture(params=STORES)
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    yield from store_env(request.param, tmp_path)


def test_a_worker_killed_mid_request_the_others_serve_and_the_request_is_whole_or_absent(
        shared_store: dict[str, str], tmp_path: Path) -> None:
    station = build(shared_store, MailboxFolder(tmp_path / "mailbox"), hasher=Hasher(12))
    ids = [[onboard_customer(station, f"killed{p}{n}", notify_key=True) for n in range(10)]
           for p in range(6)]  # 10 login IDs each, 5 keys an hour each (D-10): 50 logins
    fresh = onboard_customer(station, "killedafter", notify_key=True)
    with serve(serve_env(shared_store), tmp_path, 2, {"BS_HASH_COST": "12"}) as serving:
        cut = Counter[str]()
        with People(serving.url, ids, 50, key_login_flow) as people:
            for _ in range(3):  # a worker is killed until a request is seen cut (bounded)
                time.sleep(0.6)
                victim = _workers(serving.process.pid)[0]
                killed_at = time.monotonic()
                victim.send_signal(signal.SIGKILL)
                time.sleep(1.0)
                cut = Counter({o: n for o, n in people.count(since=killed_at).items()
                               if o.startswith("cut")})
                if cut:
                    break
            time.sleep(0.5)
            served_after = people.count(since=killed_at)["ok"]
        total = people.count()
        print(f"\nworker {victim.pid} killed: {dict(total)}")
        assert cut, "no request was cut by the kill: nothing was tested"
        assert served_after >= 1, "the other worker did not keep serving"
        assert set(total) <= {"ok"} | set(cut), total
        with httpx.Client(base_url=serving.url) as after:
            assert key_login_flow(after, fresh) == "ok"
        for _ in range(100):  # uvicorn replaces the killed worker (within 10 s)
            if len(_workers(serving.process.pid)) == 2:
                break
            time.sleep(0.1)
        assert len(_workers(serving.process.pid)) == 2
    assert whole(station) == []  # a cut login: whole in the store, or absent
    station.close()


@pytest.mark.parametrize("fault", ["down", "slow"])
def test_the_mail_server_down_or_slow_the_screen_says_so_and_a_later_login_works(
        shared_store: dict[str, str], tmp_path: Path, fault: str) -> None:
    port = free_port()
    inbox = SlowInbox()
    inbox.delay = 3.0
    controller = Controller(inbox if fault == "slow" else Inbox(), hostname="127.0.0.1",
                            port=port)
    if fault == "slow":
        controller.start()
    mailer = Settings({"BS_MAIL": "smtp", "BS_SMTP_HOST": "127.0.0.1", "BS_SMTP_PORT": str(port),
                       "BS_SMTP_TIMEOUT": "0.5"}).mailer()
    station = build(shared_store, mailer)
    login_id = onboard_customer(station, "mailfault", notify_key=True)
    try:
        with running(create_app(station, PortalConfig(SECRET))) as url, \
                httpx.Client(base_url=url) as browser:
            answer = http_log_in(browser, login_id)
            assert answer.headers["location"] == "/login/error"
            failed = browser.get("/login/error")
            assert failed.status_code == 200
            assert screens.REFUSALS[Refusal.MAIL_FAILED] in failed.text
            assert 'lang="ja"' in failed.text and "bs_session" not in browser.cookies
            if fault == "down":
                controller.start()  # the server comes up
            else:
                inbox.delay = 0.0  # the server recovers
            key_page = http_log_in(browser, login_id)
            assert key_page.headers["location"] == "/key"
            received = controller.handler.received
            key = key_in(received[-1])
            top = browser.post("/key", data={"key": key, "csrf": csrf_of(
                browser.get("/key").text)})
            assert top.headers["location"] == "/top"
        assert whole(station) == []
    finally:
        controller.stop()
        station.close()


def test_a_login_with_the_store_gone_is_a_503_page_without_a_traceback(
        tmp_path: Path) -> None:
    """The same page without a server of our own: a SQLite file made unreadable (locked
    by another connection's exclusive transaction) is the store being unavailable."""
    import sqlite3

    store = store_settings("sqlite", tmp_path / "locked.sqlite3")
    station = build(store | {"SQLITE_LOCK_TIMEOUT": "1"}, MailboxFolder(tmp_path / "mb"))
    login_id = onboard_customer(station, "lockedout")
    blocker = sqlite3.connect(store["SQLITE_DBNAME"], timeout=1, isolation_level=None)
    try:
        with running(create_app(station, PortalConfig(SECRET))) as url, \
                httpx.Client(base_url=url, timeout=30) as browser:
            token = csrf_of(browser.get("/login").text)
            blocker.execute("BEGIN EXCLUSIVE")
            response = browser.post("/login", data={"login_id": login_id, "password": PASSWORD,
                                                    "csrf": token})
            blocker.execute("ROLLBACK")
            assert unavailable_page(response), (response.status_code, response.text[:300])
            assert http_log_in(browser, login_id).headers["location"] == "/top"
        assert whole(station) == []
    finally:
        blocker.close()
        station.close()
