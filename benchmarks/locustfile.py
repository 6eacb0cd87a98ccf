"""The portal's load: people doing the manual's flows over HTTP, for ``locust`` (run by
benchmarks/portal/, headless; never imported by pytest: locust patches with gevent).

Each simulated person has a main ID without the notify key (logins without a key, a
お客様情報変更 確認/OK, a 副ID registration) and takes main IDs with the key on from a
shared pool, five logins each (D-10 allows five keys an hour per login ID): a login with
the key read from the mailbox folder the server writes, and a wrong key then the right one.

Settings (environment): BS_LOAD_ACCOUNTS, the JSON the benchmark wrote (password, plain
and keyed login IDs); BS_MAILBOX, the server's .eml folder; BS_LOAD_RESULT, where to write
what the people saw succeed (counts, and SHA-256 digests of the session ids they were
given, so the logs can be searched for them without writing one down).
"""

from __future__ import annotations

import contextlib
import email
import hashlib
import itertools
import json
import math
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

ACCOUNTS: dict[str, Any] = json.loads(Path(os.environ["BS_LOAD_ACCOUNTS"]).read_text())
MAILBOX = Path(os.environ["BS_MAILBOX"])
PASSWORD: str = ACCOUNTS["password"]
PLAIN = iter(ACCOUNTS["plain"])
KEYED = iter(ACCOUNTS["keyed"])
KEYS_PER_ACCOUNT = 5  # D-10
SEEN: Counter[str] = Counter()
SESSIONS: set[str] = set()
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
CONFIRMATION = re.compile(r'name="confirmation" value="([^"]+)"')
KEY_LINE = re.compile(r"通知キー[:：]\s*(\d{12})")
_sub_numbers = itertools.count(1)


class Flow(Exception):
    """A page that was not the one the flow expects (already counted as a failure)."""


def key_for(address: str, after: str) -> tuple[str, str]:
    """The newest key mail to ``address`` newer than ``after`` (a file name), and its name.
    The mailbox names each file ``<n>-<random>-<recipient>.eml``, ``n`` rising."""
    for _ in range(50):
        names = sorted(p.name for p in MAILBOX.glob(f"*-{address}.eml"))
        if names and names[-1] > after:
            found = KEY_LINE.search(_plain_text((MAILBOX / names[-1]).read_bytes()))
            if found:
                return found.group(1), names[-1]
        import gevent  # the server has written it before answering: this is a safety net

        gevent.sleep(0.02)
    raise Flow(f"no key mail to {address}")


def _plain_text(data: bytes) -> str:
    """The text/plain body of a mail, decoded. The standard library's compat32 parser: a
    tenth of ``policy.default``'s CPU per mail (the load tool shares the server's cores,
    and its CPU is counted in the benchmark's ratio)."""
    for part in email.message_from_bytes(data).walk():
        if part.get_content_type() == "text/plain":
            raw = part.get_payload(decode=True)
            if isinstance(raw, bytes):
                return raw.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


class Cookies:
    """The portal's cookies as a browser keeps those of one host: each host-only, Path=/,
    dropped at its Max-Age. In place of the standard library's cookie jar, whose general
    policy (domains, paths, ports, versions) cost a quarter of the load tool's CPU, which
    shares the portal's cores and is counted in the benchmark's ratio. (Speaks
    geventhttpclient's jar interface: it sends and keeps cookies along redirects.)"""

    def __init__(self) -> None:
        self.kept: dict[str, tuple[str, float]] = {}  # name: value, until (monotonic)

    def add_cookie_header(self, request: Any) -> None:
        now = time.monotonic()
        sent = "; ".join(f"{name}={value}" for name, (value, until) in self.kept.items()
                         if until > now)
        request.headers.discard("cookie")  # (a request sent again: its cookies as of now)
        if sent:
            request.add_unredirected_header("Cookie", sent)

    def extract_cookies(self, response: Any, request: Any) -> None:
        for header in response.headers.getlist("set-cookie"):
            pair, *attributes = header.split(";")
            name, _, value = pair.strip().partition("=")
            flags = {k.strip().lower(): v for k, _, v in (a.partition("=") for a in attributes)}
            age_given = flags.get("max-age", "").strip()
            age = int(age_given) if age_given.lstrip("-").isdigit() else None
            if age is not None and age <= 0:
                self.kept.pop(name, None)
            else:
                self.kept[name] = value, time.monotonic() + age if age else math.inf

    def value(self, name: str) -> str | None:
        """A cookie's value, under its name or its HTTPS name (``__Host-``)."""
        kept = self.kept.get(name) or self.kept.get(f"__Host-{name}")
        return kept[0] if kept else None


class Person(FastHttpUser):
    wait_time = constant(0)
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        try:
            self.plain: str = next(PLAIN)
        except StopIteration:
            raise StopUser() from None
        self.cookies = Cookies()
        self.client.cookiejar = self.client.client.cookiejar = self.cookies  # type: ignore[assignment]
        self.keyed: str | None = None
        self.keys_left = 0
        self.last_mail = ""
        self.changes = 0

    # -- steps ---------------------------------------------------------------------------
    def _page(self, method: str, path: str, name: str, must: str,
              data: dict[str, str] | None = None) -> str:
        with self.client.request(method, path, data=data, name=name,
                                 catch_response=True) as response:
            text = response.text or ""
            if response.status_code != 200 or must not in text:
                response.failure(f"{name}: status {response.status_code}, "
                                 f"{'expected page' if must in text else 'not the expected page'}")
                raise Flow(name)
            response.success()
            return text

    def _log_in(self, login_id: str, then: str) -> str:
        """ログイン; ``then`` is what the next page must show."""
        page = self._page("GET", "/login", "GET /login", 'name="csrf"')
        return self._page("POST", "/login", f"POST /login -> {then}", then, {
            "login_id": login_id, "password": PASSWORD, "csrf": _csrf(page)})

    def _confirmed(self, form: str, what: str, confirm_title: str, done_message: str,
                   data: dict[str, str]) -> str:
        """「確認」 on the form at ``form``, then 「OK」 on its 確認 screen: the 完了 page."""
        confirm = self._page("POST", form, f"POST 確認 {what}", confirm_title, data)
        return self._page("POST", f"{form}/ok", f"POST OK {what}", done_message,
                          {"confirmation": _confirmation(confirm), "csrf": _csrf(confirm)})

    def _top(self, page: str, flow: str) -> None:
        SEEN["logins completed"] += 1
        SEEN[flow] += 1
        session = self.cookies.value("bs_session")
        if session:
            SESSIONS.add(hashlib.sha256(session.encode()).hexdigest())
        self._page("POST", "/logout", "POST /logout", "ログイン", {"csrf": _csrf(page)})

    def _keyed_account(self) -> str | None:
        if self.keys_left == 0:
            self.keyed = next(KEYED, None)
            self.keys_left = KEYS_PER_ACCOUNT
            self.last_mail = ""
            if self.keyed is None:
                SEEN["keyed pool exhausted"] += 1
                return None
        self.keys_left -= 1
        return self.keyed

    # -- the manual's flows ---------------------------------------------------------------
    @task(3)
    def log_in_without_key(self) -> None:
        with contextlib.suppress(Flow):
            self._top(self._log_in(self.plain, "account-header"), "login without key")

    def _key_flow(self, wrong_first: bool) -> None:
        login_id = self._keyed_account()
        if login_id is None:
            self.log_in_without_key()
            return
        try:
            page = self._log_in(login_id, "key-prompt")
            SEEN["keys issued"] += 1
            key, self.last_mail = key_for(f"{login_id}@example.co.jp", self.last_mail)
            if wrong_first:
                wrong = f"{(int(key) + 1) % 10**12:012d}"
                page = self._page("POST", "/key", "POST /key (wrong)", "key-error",
                                  {"key": wrong, "csrf": _csrf(page)})
                SEEN["wrong keys"] += 1
            top = self._page("POST", "/key", "POST /key -> top", "account-header",
                             {"key": key, "csrf": _csrf(page)})
            self._top(top, "login with key, wrong first" if wrong_first else "login with key")
        except Flow:
            pass

    @task(3)
    def log_in_with_key(self) -> None:
        self._key_flow(wrong_first=False)

    @task(1)
    def wrong_key_then_right(self) -> None:
        self._key_flow(wrong_first=True)

    @task(1)
    def change_customer_information(self) -> None:
        """お客様情報変更: 確認, then OK."""
        try:
            top = self._log_in(self.plain, "account-header")
            self.changes += 1  # each OK changes the value (the same value records nothing)
            department = "経理部" if self.changes % 2 else "総務部"
            done = self._confirmed("/customer-information", "お客様情報変更", "お客様情報変更確認",
                                   "お客様情報変更を完了しました。",
                                   {"department": department, "csrf": _csrf(top)})
            SEEN["changes"] += 1
            self._top(done, "customer information changed")
        except Flow:
            pass

    @task(1)
    def register_sub_id(self) -> None:
        """権限設定 → 新規追加: 確認, then OK."""
        try:
            top = self._log_in(self.plain, "account-header")
            sub = f"{self.plain}s{next(_sub_numbers)}"
            done = self._confirmed("/permission-settings/new", "副ID 新規登録", "副ID 設定内容確認",
                                   "ログインユーザ情報変更を完了しました。", {
                                       "login_id": sub, "temporary_password": PASSWORD,
                                       "person_in_charge": "佐藤　花子", "phone": "0398765432",
                                       "email": f"{sub}@example.co.jp", "csrf": _csrf(top)})
            SEEN["sub IDs registered"] += 1
            self._top(done, "sub ID registered")
        except Flow:
            pass


def _csrf(page: str) -> str:
    found = CSRF.search(page)
    if not found:
        raise Flow("no CSRF token on the page")
    return found.group(1)


def _confirmation(page: str) -> str:
    found = CONFIRMATION.search(page)
    if not found:
        raise Flow("no confirmation on the page")
    return found.group(1)


@events.quitting.add_listener
def _write_result(environment: Any, **_: Any) -> None:
    Path(os.environ["BS_LOAD_RESULT"]).write_text(json.dumps(
        {"seen": dict(SEEN), "session_digests": sorted(SESSIONS)}, ensure_ascii=False))
