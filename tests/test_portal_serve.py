"""``billing-station serve``: the command a person runs. Two worker processes on one SQLite
store, sharing nothing but the store and the secret serve generated: the manual's login
with the notify key goes through, whichever worker answers each request."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from click.testing import CliRunner

from application.adapters.mailbox import MailboxFolder
from application.audit import Verifier, replay
from application.audit.verify import JUDGED_D14
from application.bootstrap import StoreSettings
from application.messages import key_in
from application.samples import INFORMATION, MAIN_ID, PASSWORD
from application.screens import THROTTLED
from billing_station.cli import main
from billing_station.exits import DATA_ERROR, UNAVAILABLE, USAGE
from billing_station.serve_command import serve
from domain.crypto import Hasher
from domain.login_attempt import LoginAttempt
from portal.config import WORKERS
from portal.server import PacedHasher, _scrypt_threads
from tests.conftest import build, store_env

ROOT = Path(__file__).parent.parent


STORES = ["sqlite", *(["postgres"] if os.environ.get("POSTGRES_HOST") else [])]


@attrs.define
class Run:
    """A running ``serve``: its URL, its mailbox, the lines it printed before uvicorn."""

    process: subprocess.Popen[str]
    url: str
    mailbox: Path
    said: list[str]
    store: StoreSettings  # the store it serves
    output: str | None = None

    def stop(self) -> str:
        """Stops it (SIGINT, as Ctrl+C) and returns everything it printed."""
        if self.output is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.output, _ = self.process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.output, _ = self.process.communicate()
        return self.output


@pytest.fixture(params=STORES)
def two_workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Run]:
    """``serve --workers 2`` in a process of its own, on a fresh SQLite file or a fresh
    PostgreSQL schema (where configured, as CI does)."""
    with serve_process(tmp_path, request.param, "--workers", "2") as run:
        yield run


@contextlib.contextmanager
def serve_process(tmp_path: Path, kind: str, *options: str, hash_cost: int = 8,
                  **settings: str) -> Iterator[Run]:
    """``serve --port 0 OPTIONS`` in a process of its own (with BS_* ``settings``), until
    the caller is done with it: on the free port it found, which it prints and names in its
    mails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BS_", "POSTGRES_"))}
    env |= {"BS_HASH_COST": str(hash_cost), "PYTHONPATH": str(ROOT), "BS_STORE": kind}
    env |= settings
    stores = store_env(kind, tmp_path)
    store = next(stores)
    if kind == "postgres":
        env |= {k: v for k, v in os.environ.items() if k.startswith("POSTGRES_")}
        env["POSTGRES_SCHEMA"] = store["POSTGRES_SCHEMA"]
    else:
        env["BS_SQLITE_PATH"] = store["SQLITE_DBNAME"]
    process = subprocess.Popen(
        [sys.executable, "-c", "from billing_station.serve_command import serve; serve()",
         "--port", "0", *options],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    said = [process.stdout.readline() for _ in range(6)]  # printed before uvicorn starts
    port = re.match(r"portal: http://127\.0\.0\.1:(\d+)/ ", said[0])
    assert port and port.group(1) != "0", said
    url = f"http://127.0.0.1:{port.group(1)}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/login").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield Run(process, url, tmp_path / "mailbox", said, store)
    finally:
        (tmp_path / "serve.log").write_text(Run(process, url, tmp_path, said, store).stop()
                                            if process.returncode is None else "")
        for _ in stores:  # drops a PostgreSQL schema
            pass


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found
    return found.group(1)


def test_LG_3_D_12_serve_with_two_workers_the_demo_logs_in_with_the_mailed_key(
        two_workers: Run) -> None:
    url, mailbox, said = two_workers.url, two_workers.mailbox, two_workers.said
    assert re.match(rf"portal: {url}/ \(store: (\S+\.sqlite3|PostgreSQL database \S+ at "
                    r"\S+), 2 workers\)", said[0]), said[0]
    assert said[1].startswith(f"demo main ID onboarded: log in as {MAIN_ID} ")
    assert said[2].strip() == f"key mails: .eml files in {mailbox}"
    assert said[3].strip() == f"login page named in mails: {url}/"  # BS_LOGIN_URL unset
    assert said[4].strip() == ("D-14: after 20 failed logins from one client address within "
                               "10 minutes, its next logins are refused unchecked")  # its own
    assert said[5].startswith("note: BS_PORTAL_SECRET is not set")  # sessions end at a restart
    with httpx.Client(base_url=url, follow_redirects=True) as browser:
        page = browser.get("/login")
        top = browser.post("/login", data={"login_id": MAIN_ID, "password": PASSWORD,
                                           "csrf": csrf(page.text)})
        assert top.url.path == "/top" and "前回ログイン: なし" in top.text  # LG-4
        confirm = browser.post("/customer-information", data={
            "notify_key": "利用する", "csrf": csrf(top.text)})
        signed = re.search(r'name="confirmation" value="([^"]+)"', confirm.text)
        assert signed
        done = browser.post("/customer-information/ok", data={
            "confirmation": signed.group(1), "csrf": csrf(confirm.text)})
        assert "お客様情報変更を完了しました。" in done.text
        browser.post("/logout", data={"csrf": csrf(done.text)})
        assert browser.get("/top").url.path == "/login"  # SC-4, in whichever worker
        page = browser.get("/login")
        key_page = browser.post("/login", data={"login_id": MAIN_ID, "password": PASSWORD,
                                                "csrf": csrf(page.text)})
        assert key_page.url.path == "/key"
        mail = MailboxFolder(mailbox).messages(INFORMATION["email"])[-1]
        key = key_in(mail)
        body = mail.get_body()
        assert body is not None and f"ログイン画面: {url}/" in body.get_content()  # not :8000
        top = browser.post("/key", data={"key": key, "csrf": csrf(key_page.text)})
        assert top.url.path == "/top" and "前回ログイン: 20" in top.text
        for _ in range(20):  # each on a connection of its own (either worker): one secret
            page = browser.get("/customer-information", headers={"connection": "close"})
            shown = browser.post("/customer-information", headers={"connection": "close"},
                                 data={"department": "経理部", "csrf": csrf(page.text)})
            assert shown.status_code == 200 and 'name="confirmation"' in shown.text
        session_id = browser.cookies["bs_session"]
        # a client's mistake: secrets in a URL (the portal puts none there)
        browser.get("/login", params={"login_id": MAIN_ID, "password": PASSWORD})
        browser.post(f"/key?key={key}", data={"key": key, "csrf": csrf(key_page.text)})
        assert browser.get(f"/key/{key}").status_code == 404  # (in a path: no page's)
        assert browser.get(f"/login;password={PASSWORD}").status_code == 404
        assert httpx.get(f"{url}/permission-settings/sub-ids/x;password={PASSWORD}/confirm"
                         ).status_code == 303  # (a page's path, logged out: to the login)
        unparsed = browser.get("/top", headers=[(b"cookie", b"bs_seen=\x01")])  # (no HTTP)
        assert unparsed.status_code == 400 and "リクエストの形式が正しくありません。" in unparsed.text
    output = two_workers.stop()
    assert "login from 127.0.0.1: key mailed (通知キー照合)" in output and "POST /key" in output
    assert '"GET /login?… HTTP/1.1"' in output and '"POST /key?… HTTP/1.1"' in output
    assert output.count('"GET (a path the portal does not serve) HTTP/1.1" 404') == 2
    assert '"GET /permission-settings/sub-ids/{login_id}/confirm HTTP/1.1"' in output
    for secret in (key, PASSWORD, session_id):  # D-15: the terminal is a log too
        assert secret not in output


@pytest.mark.parametrize("proxies", ["127.0.0.1", "127.0.0.5/8", None])
def test_D_14_behind_a_trusted_proxy_counts_each_clients_own_address(
        tmp_path: Path, proxies: str | None) -> None:
    """serve --forwarded-allow-ips: the proxy's X-Forwarded-For names the client D-14 counts;
    from any other peer the header is ignored (a client cannot pick its own address). A
    network written with its host's bits (127.0.0.5/8, the network of 127.0.0.5) was taken
    by the check and then trusted nobody: the server read it as a name, not a network."""
    trusted = proxies is not None
    options = ["--forwarded-allow-ips", proxies] if proxies else []
    with serve_process(tmp_path, "sqlite", *options) as run, httpx.Client(
            base_url=run.url) as client:
        def log_in(client_address: str) -> httpx.Response:
            page = client.get("/login")
            return client.post("/login", headers={"X-Forwarded-For": client_address},
                               data={"login_id": MAIN_ID, "password": "wrong-password",
                                     "csrf": csrf(page.text)})
        def shown(client_address: str) -> httpx.Response:  # the page the answer leads to
            assert log_in(client_address).headers["location"] == "/login/error"
            return client.get("/login/error")

        for n in range(20):  # twenty failures: from one client, or from twenty
            assert shown("203.0.113.5" if trusted else f"203.0.113.{n}").status_code == 200
        assert shown("203.0.113.5").status_code == 429  # D-14: this client waits
        other = shown("198.51.100.7")  # another client behind the proxy
        assert other.status_code == (200 if trusted else 429)
        assert (THROTTLED in other.text) is not trusted


def test_D_14_a_forwarded_address_that_is_no_ip_address_is_counted_as_one_and_kept_nowhere(
        tmp_path: Path) -> None:
    """A proxy that passes on what a client wrote in X-Forwarded-For: each text was counted
    as an address of its own (D-14 never reached) and kept, as typed, in the store and the
    log."""
    with serve_process(tmp_path, "sqlite", "--forwarded-allow-ips", "127.0.0.1") as run, \
            httpx.Client(base_url=run.url) as client:
        def log_in(client_address: str) -> int:
            page = client.get("/login")
            client.post("/login", headers={"X-Forwarded-For": client_address},
                        data={"login_id": MAIN_ID, "password": "wrong-password",
                              "csrf": csrf(page.text)})
            return client.get("/login/error").status_code
        assert [log_in(f"typed-{n}" if n % 2 else f"::1%typed-{n}")  # (an IPv6 scope: any
                for n in range(21)] == [200] * 20 + [429]                # text but % and /)
        output = run.stop()
    assert "login refused unchecked from unknown (D-14)" in output
    stored = Path(run.store["SQLITE_DBNAME"]).read_bytes()
    assert b"typed-" not in stored and "typed-" not in output


def test_D_14_an_operator_sets_its_limit_and_window_and_the_portal_says_and_records_them(
        tmp_path: Path) -> None:
    """BS_ADDRESS_FAILURE_LIMIT=2, BS_ADDRESS_WINDOW=90: the third login from an address
    after two failures is refused unchecked, even with the right password; the help page
    and serve's first lines say so, each check records them, and the audit judges by them."""
    with serve_process(tmp_path, "sqlite", BS_ADDRESS_FAILURE_LIMIT="2",
                       BS_ADDRESS_WINDOW="90") as run, httpx.Client(base_url=run.url) as client:
        assert run.said[4].startswith("D-14: after 2 failed logins from one client address "
                                      "within 90 seconds,")
        notes = client.get("/help/notes").text
        assert "同じ接続元（IPアドレス）から90秒間に2回ログインに失敗すると" in notes

        def log_in(password: str) -> int:
            answer = client.post("/login", data={"login_id": MAIN_ID, "password": password,
                                                 "csrf": csrf(client.get("/login").text)})
            assert answer.headers["location"] == "/login/error"
            return client.get("/login/error").status_code

        assert [log_in("wrong-password") for _ in range(2)] == [200, 200]
        assert log_in(PASSWORD) == 429  # D-14: this address waits, its password unchecked
        run.stop()
        served = build(run.store | {"CREATE_TABLE": "false"}, MailboxFolder(run.mailbox))
        limits = {(e.failure_limit, e.failure_window_seconds) for e in replay(served)
                  if isinstance(e, LoginAttempt.LoginRequestedFrom)}
        verifier = Verifier()
        violations = list(verifier.check(replay(served)))
        served.close()
    assert limits == {(2, 90)} and violations == [] and verifier.counts[JUDGED_D14] == 2


@pytest.mark.parametrize("kind", STORES)
def test_D_14_a_burst_of_logins_from_one_address_checks_no_password_past_its_limit(
        tmp_path: Path, kind: str) -> None:
    """A burst of wrong passwords sent at once from one client: each passes D-14's check as
    it arrives (nothing is counted yet), then waits its turn for a digest at the
    production cost. The limit is asked again when the turn comes, and a wrong password
    counted before the turn ends: a stuffer's burst buys no more than the limit and the
    digests running beside the twentieth (one per other core). Before, all but one of
    sixty were checked; then, counted after the turn, 22 to 25 here (more on a slower
    store, or at a lower cost)."""
    running = len(os.sched_getaffinity(0))  # serve's one worker: a digest thread per core
    burst = 40 + 2 * running  # (more than the old way could keep under the bound below)
    with serve_process(tmp_path, kind, "--forwarded-allow-ips", "127.0.0.1",
                       hash_cost=14) as run:
        clients = [httpx.Client(base_url=run.url, timeout=60) for _ in range(burst)]
        tokens = [csrf(client.get("/login").text) for client in clients]
        ready = threading.Barrier(burst)

        def stuff(n: int) -> int:
            ready.wait(30)
            answer = clients[n].post("/login", headers={"X-Forwarded-For": "203.0.113.77"},
                                     data={"login_id": MAIN_ID, "password": f"Guess-{n:04d}",
                                           "csrf": tokens[n]})
            assert answer.headers["location"] == "/login/error"
            return clients[n].get("/login/error").status_code

        with ThreadPoolExecutor(burst) as pool:
            shown = list(pool.map(stuff, range(burst)))
        for client in clients:
            client.close()
        output = run.stop()
        served = build(run.store | {"CREATE_TABLE": "false"}, MailboxFolder(run.mailbox))
        verifier = Verifier()  # the audit finds each check under the limit, on its own clocks
        violations = list(verifier.check(replay(served)))
        served.close()
    checked = shown.count(200)  # a failed login's page: its password was checked
    assert shown.count(429) == burst - checked
    assert 20 <= checked <= 20 + running - 1, (checked, shown)
    assert output.count("login refused unchecked from 203.0.113.77") == burst - checked
    assert output.count("login from 203.0.113.77: refused: LOGIN_FAILED (D-9)") == checked
    assert violations == [] and verifier.counts[JUDGED_D14] == checked


@pytest.mark.parametrize("proxies", ["*", "", "10.0.0.1,proxy.example", "10.0.0.0/33"])
def test_serve_refuses_a_proxy_that_is_no_ip_address_or_network(proxies: str) -> None:
    result = CliRunner().invoke(serve, ["--forwarded-allow-ips", proxies])
    assert result.exit_code == 2 and "--forwarded-allow-ips" in result.output
    assert "is not an IP address or network" in result.output


@pytest.mark.parametrize("proxies", ["0.0.0.0/0", "10.0.0.5,::/0", "0.0.0.0/0,::/0"])
def test_D_14_serve_refuses_proxies_that_are_every_address(proxies: str) -> None:
    """0.0.0.0/0,::/0 started the portal: every client could name its own address in
    X-Forwarded-For and slip past D-14, as '*' (refused) would have let it."""
    result = CliRunner().invoke(serve, ["--forwarded-allow-ips", proxies])
    assert result.exit_code == 2 and "is every address" in result.output


def _serve(tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    """serve through the console script, as a person runs it, on a store in ``tmp_path``."""
    result = CliRunner().invoke(main, ["serve", *args], env={
        "BS_STORE": "sqlite", "BS_SQLITE_PATH": str(tmp_path / "s.sqlite3"),
        "BS_MAILBOX": str(tmp_path / "mailbox")} | env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_serve_adds_nothing_to_another_programs_database(tmp_path: Path, journal: str) -> None:
    other = tmp_path / "s.sqlite3"
    with contextlib.closing(sqlite3.connect(other)) as db:
        db.execute(f"PRAGMA journal_mode={journal}")
        db.execute("CREATE TABLE invoices (n)")
        db.commit()
    before = other.read_bytes()
    code, output = _serve(tmp_path, "--port", "0")
    assert code == DATA_ERROR
    assert output == (f"error: {other} is not a Billing Station event store (it holds another "
                      "program's tables: invoices)\n")
    assert other.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "s.sqlite3"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0.0.0.0"])
def test_serve_on_a_port_in_use_says_so_in_one_line_and_touches_no_store(
    tmp_path: Path, host: str
) -> None:
    """'localhost' names ::1 too, which is free: uvicorn binds both, so both are tried."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = _serve(tmp_path, "--host", host, "--port", str(port))
    assert (code, output) == (UNAVAILABLE, f"error: cannot listen on {host}:{port}: "
                                           "Address already in use\n")
    assert list(tmp_path.iterdir()) == []


def test_serve_tries_every_address_the_host_names(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A resolver that names ::1 before 127.0.0.1 for 'localhost' (Debian's /etc/hosts
    does): the free ::1 must not hide the taken 127.0.0.1, which uvicorn binds too."""
    resolve = socket.getaddrinfo

    def v6_first(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        found = [*resolve("::1", port, *args, **kwargs), *resolve("127.0.0.1", port, *args,
                                                                  **kwargs)]
        return found if host == "localhost" else resolve(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", v6_first)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = _serve(tmp_path, "--host", "localhost", "--port", str(port))
    assert (code, output) == (UNAVAILABLE, f"error: cannot listen on localhost:{port}: "
                                           "Address already in use\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "env", "named"), [
    (["--host", "999.1.1.1"], {}, "--host"),
    (["--host", "192.0.2.1"], {}, "--host"),  # an address, but not one of this machine's
    ([], {"BS_PORTAL_DEADLINE": "abc"}, "BS_PORTAL_DEADLINE"),
    ([], {"BS_PORTAL_DEADLINE": "-1"}, "BS_PORTAL_DEADLINE"),
    ([], {"BS_PORTAL_DEADLINE": ""}, "BS_PORTAL_DEADLINE"),  # not silently 8
    ([], {"BS_PORTAL_SECRET": "short-secret"}, "BS_PORTAL_SECRET must be at least 32"),
    ([], {"BS_LOGIN_URL": "notaurl"}, "BS_LOGIN_URL"),
    ([], {"BS_LOGIN_URL": "ftp://example.com/"}, "BS_LOGIN_URL"),
    ([], {"BS_LOGIN_URL": "http://[::1"}, "BS_LOGIN_URL"),
    ([], {"BS_LOGIN_URL": "http://example.com:abc/"}, "BS_LOGIN_URL"),
    ([], {"BS_LOGIN_URL": "https://user:pw@example.com/"}, "BS_LOGIN_URL"),  # into every mail
    ([], {"BS_SQLITE_PATH": ""}, "BS_SQLITE_PATH is empty"),  # not the default file
    ([], {"BS_SQLITE_PATH": "/"}, "BS_SQLITE_PATH must name a file: / is a folder"),
    ([], {"CREATE_TABLE": "perhaps"}, "CREATE_TABLE must be yes or no"),  # (it was not read)
    ([], {"CREATE_TABLE": "false"},  # (a new store: 0 bytes left, and "not a store", 65)
     "CREATE_TABLE=false, and there is no store at"),
    ([], {"BS_SQLITE_PATH": "/no-such-folder/s.sqlite3"},  # (was "not an event store", 65)
     "BS_SQLITE_PATH names a file in a folder that does not exist: /no-such-folder/s.sqlite3"),
    ([], {"BS_MAILBOX": ""}, "BS_MAILBOX is empty"),  # not the current folder
    ([], {"BS_MAILBOX": __file__}, "BS_MAILBOX must name a folder"),
    ([], {"BS_MAIL": "smtp", "BS_SMTP_HOST": ""}, "BS_SMTP_HOST"),
    ([], {"BS_MAIL": "smtp", "BS_SMTP_HOST": "h", "BS_SMTP_PORT": "70000"}, "BS_SMTP_PORT"),
    ([], {"BS_MAIL": "smtp", "BS_SMTP_HOST": "h", "BS_SMTP_STARTTLS": "maybe"},
     "BS_SMTP_STARTTLS"),  # (was silently off: a mail in clear)
    ([], {"BS_MAIL": "smtp", "BS_SMTP_HOST": "h", "BS_SMTP_TIMEOUT": "0"}, "BS_SMTP_TIMEOUT"),
    ([], {"BS_HASH_COST": "3"}, "BS_HASH_COST must be a whole number from 4 to 20"),
    ([], {"BS_ADDRESS_FAILURE_LIMIT": "0"},
     "BS_ADDRESS_FAILURE_LIMIT must be a whole number from 1 to 100000 (not 0)"),
    ([], {"BS_ADDRESS_WINDOW": "10"},  # (minutes meant: the unit is said)
     "BS_ADDRESS_WINDOW must be a whole number of seconds from 30 to 3600 (not 10)"),
    ([], {"BS_ADDRESS_WINDOW": "600.5"}, "BS_ADDRESS_WINDOW must be a whole number of seconds"),
    ([], {"BS_ADDRESS_WINDOW": ""}, "from 30 to 3600 (not empty)"),  # not silently 600
    # (accepted, they failed every keyed login's mail, said only in the log)
    ([], {"BS_MAILBOX": "/proc/no-such-folder"},
     "BS_MAILBOX: the folder /proc/no-such-folder cannot be made"),
    ([], {"BS_MAIL": "smtp", "BS_SMTP_HOST": "h", "BS_SMTP_TIMEOUT": "30"},
     "BS_SMTP_TIMEOUT (30 s) must be below BS_PORTAL_DEADLINE (8 s)"),
    # (equal, the page's deadline would cut the send short before the mail failure is said)
    ([], {"BS_MAIL": "smtp", "BS_SMTP_HOST": "h", "BS_SMTP_TIMEOUT": "8"},
     "BS_SMTP_TIMEOUT (8 s) must be below BS_PORTAL_DEADLINE (8 s)"),
])
def test_serve_names_a_bad_host_or_setting_before_touching_the_store(
    tmp_path: Path, args: list[str], env: dict[str, str], named: str
) -> None:
    code, output = _serve(tmp_path, "--port", "0", *args, **env)
    assert code == USAGE and named in output, output
    assert list(tmp_path.iterdir()) == []


def test_serve_names_its_options() -> None:
    result = CliRunner().invoke(serve, ["--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--dev-mailbox", "--forwarded-allow-ips"):
        assert option in result.output


@pytest.mark.parametrize("workers", [1, 64])
def test_a_served_station_runs_at_most_one_scrypt_per_core_at_once(
        monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """portal.server's PacedHasher: a worker's threadpool under load queues its digests
    for the same few threads (each digest works through 16 MB; many at once evict each
    other from the caches), and a digest still matches what the plain Hasher makes (D-7).
    serve's workers split the cores between them (at least one thread each)."""
    monkeypatch.setenv(WORKERS, str(workers))
    _scrypt_threads.cache_clear()
    running, most = 0, 0
    lock = threading.Lock()
    derive = Hasher._derive
    threads: set[str] = set()

    def counted(secret: str, salt: bytes, cost: int) -> bytes:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            threads.add(threading.current_thread().name)
        time.sleep(0.02)
        with lock:
            running -= 1
        return derive(secret, salt, cost)

    monkeypatch.setattr(Hasher, "_derive", staticmethod(counted))
    paced = PacedHasher(cost=4)
    with ThreadPoolExecutor(16) as pool:
        digests = list(pool.map(paced.digest, [PASSWORD] * 32))
    _scrypt_threads.cache_clear()  # the next user sizes it afresh
    assert most == max(1, min(16, len(os.sched_getaffinity(0)) // workers))  # all slots used
    assert len(threads) == most and all(t.startswith("scrypt") for t in threads)
    assert all(Hasher(cost=4).matches(PASSWORD, d) for d in digests)


@pytest.mark.parametrize("options", [["--host", "0.0.0.0"], ["--host", "dual"],
                                     ["--forwarded-allow-ips", "127.0.0.1"]])
def test_serve_shows_the_development_mailbox_to_this_machine_only(
        tmp_path: Path, options: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """/dev/mailbox needs no login and shows every key: served to the network (or to a
    proxy's clients), it would hand each login's key to anyone. A name of the loopback
    and of a LAN address (as /etc/hosts may give one; here a stand-in resolver) is the
    network too."""
    resolve = socket.getaddrinfo

    def with_dual(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "dual":
            return resolve(host, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 0))
                for address in ("127.0.0.1", "192.0.2.10")]

    monkeypatch.setattr(socket, "getaddrinfo", with_dual)
    store = tmp_path / "bs.sqlite3"
    result = CliRunner().invoke(serve, ["--dev-mailbox", "--port", "0", *options],
                                env={"BS_STORE": "sqlite", "BS_SQLITE_PATH": str(store)})
    assert result.exit_code == 2 and "Invalid value for '--dev-mailbox'" in result.output
    assert "served only on a loopback --host (127.0.0.1, ::1, localhost), not with " \
           "--forwarded-allow-ips" in result.output
    assert not store.exists()  # (refused before the store is touched)


def test_the_development_mailbox_is_served_by_the_option_only_not_by_a_setting_left_set(
        tmp_path: Path) -> None:
    """BS_PORTAL_DEV_MAILBOX=1 in the environment reached the workers, which served the page
    on any --host: the option's loopback check was never made."""
    with serve_process(tmp_path, "sqlite", BS_PORTAL_DEV_MAILBOX="1") as run:
        assert httpx.get(f"{run.url}/dev/mailbox").status_code == 404
    (tmp_path / "on").mkdir()
    with serve_process(tmp_path / "on", "sqlite", "--dev-mailbox") as run:
        assert httpx.get(f"{run.url}/dev/mailbox").status_code == 200
