"""The served portal under attack, over real HTTP (uvicorn on 127.0.0.1, on PostgreSQL
where configured, as CI does, else SQLite). tests/test_portal.py holds the first checks of
D-12..D-15; these go further: every changing form, every main-ID URL, every response's
headers and cookies, planted session ids, idle sessions, stuffing from several addresses,
enumeration by page, cookies and time (tests/test_portal_http_limits.py: requests that
are too big, malformed or slow). Different client addresses are real: each client binds
its own 127.0.0.x (tests/attackers.py)."""

from __future__ import annotations

import re
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import freezegun
import httpx
import pytest
from starlette.routing import Route

from application import screens
from application.outcomes import Refusal
from application.screens import THROTTLED
from domain.portal_sessions import IDLE_TIMEOUT
from portal.app import MAX_BODY, create_app
from portal.config import PortalConfig
from portal.security import LoginError, Shown, Signer

pytest.register_assert_rewrite("tests.portal_fixtures", "tests.attackers")  # before their import

from tests.attackers import client, customer, last, logged_in, recorded_since  # noqa: E402
from tests.portal_fixtures import (  # noqa: E402
    SECRET,
    Served,
    async_login,
    confirmation_shown,
    csrf_of,
    http_log_in,
    in_process,
    sub_id_of,
)
from tests.story import PASSWORD, sub_id_form  # noqa: E402

pytest_plugins = ["tests.attackers"]


def post_routes(portal: Served) -> set[str]:
    """Every path the served app takes a POST on."""
    app = create_app(portal.station, PortalConfig(SECRET))
    return {r.path for r in app.routes if isinstance(r, Route) and "POST" in (r.methods or ())}


SUB_ID_FORM = {"login_id": "x", "temporary_password": "Temp0rary-pass",
               "person_in_charge": "佐藤　花子", "phone": "0398765432",
               "email": "x@example.co.jp", "memo": "攻撃"}


def forms(sub_id: str) -> dict[str, dict[str, str]]:
    """Every changing form, by its path, with values that would change something."""
    return {
        "/login": {"login_id": "atk-none", "password": PASSWORD},
        "/key": {"key": "000000000000"},
        "/logout": {},
        "/customer-information": {"department": "攻撃部", "notify_key": "利用する"},
        "/customer-information/ok": {"confirmation": "x.y"},
        "/permission-settings/new": SUB_ID_FORM,
        "/permission-settings/new/ok": {"confirmation": "x.y"},
        "/permission-settings/change/ok": {"confirmation": "x.y"},
        "/permission-settings/sub-ids/{login_id}": SUB_ID_FORM | {"login_id": sub_id},
    }


def test_D_13_every_changing_form_without_its_token_is_refused_and_records_nothing(
        portal: Served) -> None:
    main = customer(portal)
    sub = sub_id_of(portal, main)
    every = forms(sub)
    assert set(every) == post_routes(portal), "a changing form this test does not try"
    browser = logged_in(portal, main)
    keyed = customer(portal, notify_key=True)
    with client(portal) as entering:  # a browser on 通知キー照合, its attempt bound to it
        assert http_log_in(entering, keyed).headers["location"] == "/key"
        for path, form in every.items():
            who = entering if path in ("/login", "/key") else browser
            url = path.replace("{login_id}", sub)
            for token in (None, "0" * 64, csrf_of(client(portal).get("/login").text)):
                before = last(portal)
                data = form | ({"csrf": token} if token else {})
                response = who.post(url, data=data)
                assert response.status_code == 403, (path, response.status_code)
                assert "画面の有効期限が切れました。" in response.text
                assert recorded_since(portal, before) == [], path
    assert browser.get("/top").status_code == 200  # the session was not logged out
    assert "ログアウト" in browser.post("/logout").text  # (its page offers it again)
    information = portal.station.customer_information(portal.session(main)).by_label()
    assert information["部署名"] != "攻撃部" and information["通知キーの利用"] == "利用しない"


def set_cookies(response: httpx.Response) -> list[str]:
    return [v for k, v in response.headers.multi_items() if k == "set-cookie"]


def test_D_12_every_cookie_of_a_whole_login_is_httponly_samesite_and_path_wide(
        portal: Served) -> None:
    keyed = customer(portal, notify_key=True)
    seen: list[str] = []
    with client(portal) as browser:
        browser.event_hooks["response"] = [lambda r: seen.extend(set_cookies(r))]
        assert http_log_in(browser, keyed).headers["location"] == "/key"
        key_page = browser.get("/key")
        browser.post("/key", data={"key": "000000000000", "csrf": csrf_of(key_page.text)})
        done = browser.post("/key", data={"key": portal.key(f"{keyed}@example.co.jp"),
                                          "csrf": csrf_of(key_page.text)})
        assert done.headers["location"] == "/top"
        top = browser.get("/top")
        browser.post("/logout", data={"csrf": csrf_of(top.text)})
    names = {c.split("=", 1)[0] for c in seen}
    assert {"bs_browser", "bs_attempt", "bs_session", "bs_seen"} <= names
    for cookie in seen:
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie, cookie
        assert "Secure" not in cookie  # plain HTTP on loopback; HTTPS: test_https_…


def test_D_12_a_planted_session_id_is_never_adopted_at_login(portal: Served) -> None:
    """Session fixation: an attacker plants a session id in the victim's browser before
    the victim logs in; the login issues another, and the planted one opens nothing."""
    login_id = customer(portal)
    planted = "A" * 43
    with client(portal) as victim:
        victim.cookies.set("bs_session", planted)
        assert victim.get("/top").headers["location"] == "/login?ended=1"
        response = http_log_in(victim, login_id)
        assert response.headers["location"] == "/top"
        issued = next(c.split(";")[0].split("=", 1)[1] for c in set_cookies(response)
                      if c.startswith("bs_session="))
        assert issued != planted and portal.station.member(issued) is not None
    assert portal.station.member(planted) is None
    with client(portal) as attacker:
        attacker.cookies.set("bs_session", planted)
        assert attacker.get("/top").headers["location"] == "/login?ended=1"


def test_D_12_a_session_idle_30_minutes_is_over_on_every_worker_page(portal: Served) -> None:
    login_id = customer(portal)
    browser = logged_in(portal, login_id)
    now = datetime.now(UTC)
    with freezegun.freeze_time(now + timedelta(minutes=29, seconds=50), tick=True):
        assert browser.get("/top").status_code == 200  # a request starts the 30 minutes again
    with freezegun.freeze_time(now + timedelta(minutes=59, seconds=51), tick=True):
        for path, said in (("/top", "?ended=1"), ("/customer-information", ""),
                           ("/permission-settings", "")):  # (its cookie dropped by the first)
            response = browser.get(path)
            assert response.status_code == 303 and response.headers["location"] == f"/login{said}"
    assert browser.get("/top").headers["location"] == "/login"  # ended, not revived
    browser.close()


def _session_of(portal: Served) -> str:
    """A new main ID's session id, from a login over HTTP."""
    with client(portal) as browser:
        logged = http_log_in(browser, customer(portal))
        assert logged.headers["location"] == "/top"
        return browser.cookies["bs_session"]


def _top_with(portal: Served, token: str, seen: str | None = None) -> httpx.Response:
    """/top with exactly these cookies (no jar), as a browser, or a forger, sends them."""
    cookies = f"bs_session={token}" + (f"; bs_seen={seen}" if seen else "")
    with client(portal) as browser:
        return browser.get("/top", headers={"Cookie": cookies})


def _seen_cookie(response: httpx.Response) -> str:
    cookie = next(c for c in set_cookies(response) if c.startswith("bs_seen="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    return cookie.split(";")[0].split("=", 1)[1]


def test_D_12_only_a_genuine_signed_last_request_keeps_a_session_past_30_minutes(
        portal: Served) -> None:
    """The instant of a session's last request travels in a cookie signed for that session
    (no worker records each request): a forged, altered, another session's or an older
    cookie makes no session younger, and a genuine one does, exactly."""
    now = datetime.now(UTC)
    genuine, forged, altered, foreign, older, other = (_session_of(portal) for _ in range(6))
    after = last(portal)
    cookies: dict[str, str] = {}
    with freezegun.freeze_time(now + timedelta(minutes=5), tick=True):
        cookies["older"] = _seen_cookie(_top_with(portal, older))
    with freezegun.freeze_time(now + timedelta(minutes=10), tick=True):
        for name, token in [("genuine", genuine), ("altered", altered)]:
            cookies[name] = _seen_cookie(_top_with(portal, token))
    with freezegun.freeze_time(now + timedelta(minutes=25), tick=True):
        cookies["newer"] = _seen_cookie(_top_with(portal, older, cookies["older"]))
        cookies["other"] = _seen_cookie(_top_with(portal, other))
    assert recorded_since(portal, after) == [] and last(portal) == after  # nothing stored
    for value in cookies.values():
        assert re.fullmatch(r"\d+\.[0-9a-f]{64}", value)  # an instant and its MAC, no id
    ten = cookies["genuine"].split(".")[0]
    later = str(int(ten) + 19 * 60 * 10**6)  # as if at 29 minutes
    with freezegun.freeze_time(now + timedelta(minutes=39, seconds=50), tick=True):
        assert _top_with(portal, genuine, cookies["genuine"]).status_code == 200
        for token, value in [(forged, f"{later}.{'0' * 64}"),
                             (altered, f"{later}.{cookies['altered'].split('.')[1]}"),
                             (foreign, cookies["other"]),
                             (older, cookies["older"])]:
            shown = _top_with(portal, token, value)
            assert shown.status_code == 303 and shown.headers["location"] == "/login?ended=1"
            assert "bs_seen=" in "".join(set_cookies(shown))  # dropped with the session
    assert _top_with(portal, older, cookies["newer"]).headers["location"] == "/login?ended=1"  # ended
    with freezegun.freeze_time(now + timedelta(minutes=40, seconds=1), tick=True):
        assert _top_with(portal, genuine, cookies["genuine"]).headers["location"] == "/login?ended=1"


def test_D_12_an_error_page_or_a_redirect_is_a_request_too(portal: Served) -> None:
    """A session whose only requests for 30 minutes got error pages (an unknown URL, a
    form without its token) or redirects (/, /login) is still in use: each answer carries
    its instant."""
    now, token = datetime.now(UTC), _session_of(portal)
    seen = ""
    for minutes, method, path, status in [(20, "GET", "/no-such-page", 404),
                                          (45, "POST", "/customer-information", 403),
                                          (70, "GET", "/", 303), (95, "GET", "/login", 303)]:
        with freezegun.freeze_time(now + timedelta(minutes=minutes), tick=True), \
                client(portal) as browser:
            cookie = f"bs_session={token}" + (f"; bs_seen={seen}" if seen else "")
            answer = browser.request(method, path, headers={"Cookie": cookie},
                                     data={"csrf": "forged"} if method == "POST" else None)
            assert answer.status_code == status, path
            seen = _seen_cookie(answer)
    with freezegun.freeze_time(now + timedelta(minutes=120), tick=True):
        assert _top_with(portal, token, seen).status_code == 200


def test_D_12_a_failed_page_of_a_live_session_carries_its_request_and_a_logout_none(
        portal: Served) -> None:
    """Guard, outside every page, gives a live session's answer its signed last request:
    also a page that failed (the store gone: a 503 with Retry-After; anything else: a 500).
    A logout's answer only drops the cookie (no fresh one beside the drop)."""
    from eventsourcing.persistence import OperationalError

    from portal.web import members_only

    app = create_app(portal.station, PortalConfig(SECRET))
    for path, error in [("/fails/store", OperationalError("the store went away")),
                        ("/fails/bug", ValueError("a bug"))]:
        async def failing(*_: object, error: Exception = error) -> None:
            raise error
        app.router.routes.append(Route(path, members_only(failing)))
    login_id = customer(portal)
    answers: list[httpx.Response] = []

    @in_process(app, "http://portal.example", "192.0.2.78")
    async def _(browser: httpx.AsyncClient) -> None:
        await async_login(browser, login_id)
        top = await browser.get("/top")
        answers.extend([await browser.get("/fails/store"), await browser.get("/fails/bug"),
                        await browser.post("/logout", data={"csrf": csrf_of(top.text)})])

    store_gone, bug, logout = answers
    assert store_gone.status_code == 503 and store_gone.headers["retry-after"]
    assert bug.status_code == 500
    for answer in (store_gone, bug):
        assert re.fullmatch(r"\d+\.[0-9a-f]{64}", _seen_cookie(answer))
    seen = [c for c in set_cookies(logout) if c.startswith("bs_seen=")]
    assert len(seen) == 1 and ("Max-Age=0" in seen[0] or 'bs_seen="";' in seen[0])


def test_D_12_SC_4_logout_ends_the_session_whatever_its_signed_last_request_says(
        portal: Served) -> None:
    with client(portal) as browser:
        http_log_in(browser, customer(portal))
        token = browser.cookies["bs_session"]
        top = browser.get("/top")
        seen = _seen_cookie(top)
        browser.post("/logout", data={"csrf": csrf_of(top.text)})
    assert portal.station.member(token) is None
    assert _top_with(portal, token, seen).headers["location"] == "/login?ended=1"


def test_D_14_D_4_D_10_credential_stuffing_limited_per_address_and_per_login_id(
        portal: Served) -> None:
    target = customer(portal, notify_key=True)
    email = f"{target}@example.co.jp"
    with client(portal) as stuffer:
        for n in range(20):
            failed = http_log_in(stuffer, f"victim{n:02d}", "Guessed-pass1")
            assert screens.REFUSALS[Refusal.LOGIN_FAILED] in _shown(stuffer, failed).text
        mails = len(portal.mailbox.messages(email))
        refused = http_log_in(stuffer, target)  # the right password, not even checked
        waiting = _shown(stuffer, refused)
        assert waiting.status_code == 429 and THROTTLED in waiting.text
        assert "bs_session" not in stuffer.cookies and "bs_attempt" not in stuffer.cookies
        assert len(portal.mailbox.messages(email)) == mails  # no key mailed
    with client(portal) as guesser:  # another address: D-4 holds per attempt
        assert http_log_in(guesser, target).headers["location"] == "/key"
        token = csrf_of(guesser.get("/key").text)
        for n in range(5):
            shown = guesser.post("/key", data={"key": f"{n:012d}", "csrf": token})
        assert screens.REFUSALS[Refusal.LOGIN_FAILED] in _shown(guesser, shown).text  # D-4, D-9
        late = guesser.post("/key", data={"key": portal.key(email), "csrf": token})
        assert late.status_code == 303 and "bs_session" not in guesser.cookies
    for n in range(4):  # D-10: keys 2..5 of the hour, from four more addresses
        with client(portal) as person:
            assert http_log_in(person, target).headers["location"] == "/key", n
    mails = len(portal.mailbox.messages(email))
    with client(portal) as sixth:
        withheld = http_log_in(sixth, target)
        until = screens.KEY_LIMIT_UNTIL.split("{}")
        assert until[0] in _shown(sixth, withheld).text and until[1] in _shown(sixth, withheld).text
        assert "bs_attempt" not in sixth.cookies
    assert len(portal.mailbox.messages(email)) == mails


def _shown(browser: httpx.Client, answer: httpx.Response) -> httpx.Response:
    """The page a POST's answer shows: a refused login's comes by a redirect to GET."""
    assert answer.status_code == 303, answer.status_code
    return browser.get(answer.headers["location"])


def _page_of(response: httpx.Response) -> str:
    """The page without its token and without the login form's inputs (they keep the
    login ID the person typed, and focus where typing goes on)."""
    page = re.sub(r'name="csrf" value="[0-9a-f]+"', 'name="csrf" value=""', response.text)
    return re.sub(r'<input id="(login_id|password)"[^>]*>', "", page)


def _cookie_shapes(response: httpx.Response) -> list[str]:
    """Each Set-Cookie without its value and its expiry date."""
    return sorted(re.sub(r"expires=[^;]*", "expires=…", re.sub(r"^(\w+)=[^;]*", r"\1=…", c))
                  for c in set_cookies(response))


def test_D_9_unknown_id_wrong_password_and_locked_attempt_read_and_cost_the_same(
        portal: Served) -> None:
    known = customer(portal)
    keyed = customer(portal, notify_key=True)
    timings: dict[str, list[float]] = {"unknown": [], "wrong password": []}
    answers: dict[str, httpx.Response] = {}  # to the POST, and the page it leads to
    shown: dict[str, httpx.Response] = {}
    for n in range(30):  # 9 rounds (18 failures) an address: D-14 stays out of the way
        with client(portal, f"127.0.1.{n // 9 + 1}") as prober:
            token = csrf_of(prober.get("/login").text)
            for kind, login_id in (("unknown", f"nobody{n:03d}"), ("wrong password", known)):
                began = time.perf_counter()
                answer = prober.post("/login", data={"login_id": login_id, "csrf": token,
                                                     "password": "Wrong-pass-123"})
                timings[kind].append(time.perf_counter() - began)
                answers[kind], shown[kind] = answer, _shown(prober, answer)
    with client(portal) as locker:
        http_log_in(locker, keyed)
        token = csrf_of(locker.get("/key").text)
        for n in range(5):
            answers["locked attempt"] = locker.post("/key", data={"key": f"{n:012d}",
                                                                  "csrf": token})
        shown["locked attempt"] = _shown(locker, answers["locked attempt"])
    heads = {k: (a.status_code, a.headers.get("location")) for k, a in answers.items()}
    assert set(heads.values()) == {(303, "/login/error")}, heads
    pages = {k: _page_of(v) for k, v in shown.items()}
    assert len(set(pages.values())) == 1
    assert screens.REFUSALS[Refusal.LOGIN_FAILED] in shown["unknown"].text
    assert _cookie_shapes(answers["unknown"]) == _cookie_shapes(answers["wrong password"])
    assert _cookie_shapes(answers["wrong password"]) == _cookie_shapes(answers["locked attempt"])
    medians = {k: statistics.median(v) for k, v in timings.items()}
    ratio = max(medians.values()) / min(medians.values())
    print("\nD-9 over HTTP, median of 30: " + ", ".join(
        f"{k} {v * 1000:.1f} ms" for k, v in medians.items()) + f" (ratio {ratio:.2f})")
    assert ratio < 2.0


MAIN_ONLY_GETS = ["/customer-information", "/customer-information/confirm",
                  "/permission-settings", "/permission-settings/new",
                  "/permission-settings/new/confirm", "/permission-settings/sub-ids/{sub}",
                  "/permission-settings/sub-ids/{sub}/confirm"]


def test_CI_1_SB_2_a_sub_id_on_every_main_id_url_and_form_is_refused_and_records_nothing(
        portal: Served) -> None:
    main = customer(portal)
    sub = sub_id_of(portal, main)
    sibling = f"{main}s2"
    portal.station.submit_new_sub_id(portal.session(main), portal.station.confirm_new_sub_id(
        portal.session(main), SUB_ID_FORM | {"login_id": sibling,
                                             "email": f"{sibling}@example.co.jp"}))
    owner = logged_in(portal, main)  # the main ID's own signed confirmations, to replay
    confirm = confirmation_shown(owner, "/customer-information", {
        "department": "攻撃部", "csrf": csrf_of(owner.get("/top").text)})
    stolen = re.search(r'name="confirmation" value="([^"]+)"', confirm.text)
    assert stolen
    browser = client(portal)
    assert http_log_in(browser, sub).headers["location"] == "/top"
    token = csrf_of(browser.get("/top").text)
    for path in MAIN_ONLY_GETS:
        response = browser.get(path.replace("{sub}", sibling))
        assert response.status_code == 403, path
    posts = {path: form for path, form in forms(sibling).items()
             if path not in ("/login", "/key", "/logout")}
    for path, form in posts.items():
        before = last(portal)
        url = path.replace("{login_id}", sibling)
        for confirmation in (form.get("confirmation"), stolen.group(1)):
            data = form | {"csrf": token} | (
                {"confirmation": confirmation} if confirmation else {})
            response = browser.post(url, data=data)
            assert response.status_code == 403, (path, response.status_code)
        assert recorded_since(portal, before) == [], path
    information = portal.station.customer_information(portal.session(main)).by_label()
    assert information["部署名"] != "攻撃部"
    browser.close()
    owner.close()


def test_D_15_an_attempt_id_cannot_be_used_from_another_session(portal: Served) -> None:
    victim_id = customer(portal, notify_key=True)
    attacker = logged_in(portal, customer(portal))
    with client(portal) as victim:
        assert http_log_in(victim, victim_id).headers["location"] == "/key"
        key = portal.key(f"{victim_id}@example.co.jp")
        signed = victim.cookies["bs_attempt"]
        attempt, _ = signed.rsplit(".", 1)
        before = last(portal)
        token = csrf_of(attacker.get("/top").text)
        for forged in (signed, f"{attempt}.{'0' * 64}", f"{attempt}.", attempt):
            attacker.cookies.set("bs_attempt", forged)
            response = attacker.post("/key", data={"key": key, "csrf": token})
            assert response.status_code == 303 and response.headers["location"] == "/login/error"
        assert recorded_since(portal, before) == []  # the victim's attempt is untouched
        done = victim.post("/key", data={"key": key, "csrf": csrf_of(victim.get("/key").text)})
        assert done.headers["location"] == "/top"  # and still the victim's to complete
    attacker.close()


def max_age(response: httpx.Response, name: str) -> int:
    """The Max-Age of the cookie ``name`` the response sets."""
    found = [re.search(r"Max-Age=(\d+)", c, flags=re.I) for c in response.headers.get_list(
        "set-cookie") if c.startswith(f"{name}=")]
    assert len(found) == 1 and found[0], response.headers.get_list("set-cookie")
    return int(found[0].group(1))


def test_a_failed_login_s_page_and_a_confirmation_last_as_long_as_they_may(
        portal: Served) -> None:
    """A failed login's page (the login ID typed) for 5 minutes, not for the next person
    at a shared browser; a 確認 screen as long as its session may (D-12's 30 idle minutes;
    a shorter age would send a reload of it back to the form, and 「戻る」 to an empty one).
    Either could change unseen before."""
    with client(portal) as browser:
        failed = browser.post("/login", data={"login_id": "nobody01", "password": "wrong",
                                              "csrf": csrf_of(browser.get("/login").text)})
        assert max_age(failed, "bs_login_error") == 5 * 60
    login_id = customer(portal)
    browser = logged_in(portal, login_id)
    form = browser.get("/permission-settings/new")
    posted = browser.post("/permission-settings/new", data=sub_id_form(
        f"{login_id}s1", temporary_password=PASSWORD) | {"csrf": csrf_of(form.text)})
    assert posted.status_code == 303
    assert max_age(posted, "bs_confirm") == IDLE_TIMEOUT.total_seconds() == 30 * 60
    browser.close()


def _send_again(browser: httpx.Client, kept: dict[str, str]) -> None:
    """The cookies ``kept``, as a client that keeps them past their Max-Age sends them."""
    for name, value in kept.items():
        browser.cookies.delete(name)
        browser.cookies.set(name, value)


def test_a_kept_failed_login_s_page_or_confirmation_is_refused_past_its_age(
        portal: Served) -> None:
    """Their ages were a browser's Max-Age only: a client keeping the failed login's cookie
    showed the login ID typed (maybe a password in the wrong field) for ever. Each is sealed
    with its instant and checked: 5 minutes, and a 確認 screen's 30 (its session alive)."""
    with client(portal) as browser:
        failed = browser.post("/login", data={"login_id": "typed-by-1", "password": "wrong",
                                              "csrf": csrf_of(browser.get("/login").text)})
        now = datetime.now(UTC)  # (just after the cookie was sealed)
        kept = {"bs_login_error": browser.cookies["bs_login_error"]}
        for late, shown in ((timedelta(minutes=4, seconds=50), True),
                            (timedelta(minutes=5, seconds=1), False)):
            with freezegun.freeze_time(now + late, tick=True):
                _send_again(browser, kept)
                page = browser.get(failed.headers["location"])
                assert (page.status_code, "typed-by-1" in page.text) == (
                    (200, True) if shown else (303, False)), late
    login_id = customer(portal)
    browser = logged_in(portal, login_id)
    posted = browser.post("/permission-settings/new", data=sub_id_form(
        f"{login_id}s1", temporary_password=PASSWORD) | {
            "csrf": csrf_of(browser.get("/permission-settings/new").text)})
    now = datetime.now(UTC)
    kept = {"bs_confirm": browser.cookies["bs_confirm"]}
    for late, shown in ((timedelta(minutes=20), True), (timedelta(minutes=30, seconds=1), False)):
        with freezegun.freeze_time(now + late, tick=True):
            _send_again(browser, kept)
            page = browser.get(posted.headers["location"])
            assert (page.status_code, f"{login_id}s1" in page.text) == (
                (200, True) if shown else (303, False)), late
            assert browser.get("/top").status_code == 200  # (the session lives on)
    browser.close()


def test_a_page_sealed_before_pages_carried_their_instant_is_none_not_an_error() -> None:
    """A failed login's or a 確認's cookie sealed by the release before (the secret kept
    over a restart) has no instant: the login form or the form, not a 500."""
    signer, age = Signer(b"s" * 32), timedelta(minutes=5)
    now = datetime.now(UTC).replace(microsecond=0)
    old = signer._seal("login-error", {"refusal": "PASSWORD_WRONG", "login_id": "typed",
                                       "retry_at": ""}, "browser")
    assert signer.login_error_of(old, "browser", now, age) is None
    new = signer.login_error("PASSWORD_WRONG", "typed", "browser", now - age + timedelta(seconds=1))
    assert signer.login_error_of(new, "browser", now, age) == LoginError(
        "PASSWORD_WRONG", "typed", None)
    aged = signer.login_error("PASSWORD_WRONG", "typed", "browser", now - age)
    assert signer.login_error_of(aged, "browser", now, age) is None  # (its age reached)
    old = signer._seal("shown", {"url": "/f", "typed": {}, "retype": [], "confirmation": None,
                                 "errors": []}, "session", packed=True)
    assert signer.shown_of(old, "session", now, age) is None
    assert signer.shown_of(signer.shown(Shown("/f", {}, ()), "session", now), "session", now,
                           age) == Shown("/f", {}, ())


def test_D_15_a_kept_attempt_cookie_is_refused_past_its_age(portal: Served) -> None:
    """The attempt cookie's age was a browser's Max-Age only: a client keeping it could
    send 通知キー照合's form for ever. Its age is signed in it, and checked: it lasts as long
    as an entry is told its key expired (the key's 10 minutes and KEY_AWAITED after). At 15
    minutes it had ended, and the right key entered then showed a bare login screen, not
    the manual's expiry error (LG-5: the portal tester's probe)."""
    with client(portal) as browser:
        keyed = customer(portal, notify_key=True)
        assert http_log_in(browser, keyed).headers["location"] == "/key"
        token, key = csrf_of(browser.get("/key").text), portal.key(f"{keyed}@example.co.jp")
        kept = dict(browser.cookies)
        before = last(portal)
        for late, said in ((timedelta(minutes=15, seconds=1), screens.KEY_EXPIRED),
                           (timedelta(minutes=70, seconds=1), screens.KEY_UNUSABLE)):
            with freezegun.freeze_time(datetime.now(UTC) + late, tick=True):
                _send_again(browser, kept)
                if said == screens.KEY_UNUSABLE:  # (past its age, the cookie is no attempt)
                    assert browser.get("/key").headers["location"] == "/login"
                entered = browser.post("/key", data={"key": key, "csrf": token})  # (the right
                assert entered.status_code == 303  # key, late)
                assert said in browser.get(entered.headers["location"]).text
                assert recorded_since(portal, before) == ["LoginAttempt.KeyExpired"]


def test_LG_5_D_4_a_key_entered_in_a_second_tab_is_told_what_became_of_its_attempt(
        portal: Served) -> None:
    """Two tabs of one browser on 通知キー照合 (the portal tester's probe): the attempt
    locked, or its login completed, in the first, the second's key showed a bare login
    screen, or 「画面の有効期限が切れました。」 without the live session's header. Now the
    first says the key cannot be used (and records nothing: the attempt's cookie went with
    its end), the second goes to the top page; 「戻る」 to 通知キー照合 after the attempt's
    end goes to the login screen."""
    with client(portal) as browser:
        locked = customer(portal, notify_key=True)
        assert http_log_in(browser, locked).headers["location"] == "/key"
        second_tab = csrf_of(browser.get("/key").text)
        for _ in range(5):  # D-4: the first tab's wrong keys lock the attempt
            answer = browser.post("/key", data={"key": "000000000000",
                                                "csrf": csrf_of(browser.get("/key").text)})
        assert answer.headers["location"] == "/login/error"
        assert browser.get("/key").headers["location"] == "/login"  # (its end said already)
        key, before = portal.key(f"{locked}@example.co.jp"), last(portal)
        entered = browser.post("/key", data={"key": key, "csrf": second_tab})
        assert recorded_since(portal, before) == []
        assert screens.refusal_text(Refusal.KEY_UNUSABLE) in browser.get(
            entered.headers["location"]).text
        keyed = customer(portal, notify_key=True)
        assert http_log_in(browser, keyed).headers["location"] == "/key"
        second_tab = csrf_of(browser.get("/key").text)
        done = browser.post("/key", data={"key": portal.key(f"{keyed}@example.co.jp"),
                                          "csrf": csrf_of(browser.get("/key").text)})
        assert done.headers["location"] == "/top"
        before = last(portal)
        again = browser.post("/key", data={"key": portal.key(f"{keyed}@example.co.jp"), "csrf": second_tab})
        assert again.status_code == 303 and again.headers["location"] == "/top"
        assert recorded_since(portal, before) == []


@pytest.mark.parametrize("query", ["wrong=%C2%B2", "wrong=%E2%91%A0", "digits=%C2%B2",
                                   "earlier=%C2%B2", "wrong=" + "9" * 5000, "wrong=0100"])
def test_D_4_a_number_in_the_key_page_s_query_that_is_no_count_shows_none(
        portal: Served, query: str) -> None:
    """²  and ① pass str.isdigit, which int() refuses: a 500 page, from a link anyone can
    send to a person on 通知キー照合 (its cookies go with a top-level GET)."""
    with client(portal) as browser:
        assert http_log_in(browser, customer(portal, notify_key=True)).headers[
            "location"] == "/key"
        shown = browser.get(f"/key?{query}")
    assert shown.status_code == 200 and "システムエラー" not in shown.text
    assert "あと" not in shown.text  # (no count of tries left but one the portal gave)


def test_D_4_a_key_page_s_message_of_an_earlier_attempt_is_not_shown_on_the_next(
        portal: Served) -> None:
    """The count of tries left was read from the URL: a bookmark of 通知キー照合 after a wrong
    key (or a link) showed 「あと4回誤ると…」 on a fresh attempt (a newcomer's probe). The
    value is signed for the attempt it was given to."""
    login_id = customer(portal, notify_key=True)
    with client(portal) as browser:
        assert http_log_in(browser, login_id).headers["location"] == "/key"
        wrong = browser.post("/key", data={"key": "000000000000",
                                           "csrf": csrf_of(browser.get("/key").text)})
        bookmarked = wrong.headers["location"]
        assert "あと4回" in browser.get(bookmarked).text
        assert http_log_in(browser, login_id).headers["location"] == "/key"  # a new attempt
        assert "あと" not in browser.get(bookmarked).text
        empty = browser.post("/key", data={"key": "", "csrf": csrf_of(browser.get("/key").text)})
        digits = empty.headers["location"]  # ("not 12 digits": its value signed as such)
        assert digits.startswith("/key?digits=1.")
        assert "あと" not in browser.get(digits.replace("digits=", "wrong=")).text


HEADERS = {"x-frame-options": "DENY", "referrer-policy": "no-referrer",
           "cache-control": "no-store", "x-content-type-options": "nosniff"}


def test_D_15_every_response_carries_the_security_headers_and_no_inline_script(
        portal: Served) -> None:
    login_id = customer(portal, notify_key=True)
    with client(portal) as browser:
        responses = [browser.get("/login"), browser.get("/help/forgot"),
                     browser.get("/help/key-mail"), browser.get("/help/notes"),
                     browser.get("/static/portal.css"),
                     browser.get("/no-such-page"), browser.put("/login"),
                     browser.post("/login", data={"login_id": "x"}),
                     browser.post("/login", content=b"x" * (MAX_BODY + 1),
                                  headers={"content-type": "application/x-www-form-urlencoded"}),
                     http_log_in(browser, login_id), browser.get("/key")]
        key_page = responses[-1]
        responses.append(browser.post("/key", data={"key": "1", "csrf": csrf_of(key_page.text)}))
        responses.append(browser.post("/key", data={
            "key": portal.key(f"{login_id}@example.co.jp"), "csrf": csrf_of(key_page.text)}))
        for path in ("/top", "/customer-information", "/permission-settings",
                     "/permission-settings/new", "/not-modelled/download"):
            responses.append(browser.get(path))
    statuses = {r.status_code for r in responses}
    assert {200, 303, 403, 404, 405, 413} <= statuses
    assert responses[6].headers["allow"] == "GET, HEAD, POST"  # (PUT /login: what it takes)
    with client(portal) as browser:
        assert browser.post("/static/portal.css").headers["allow"] == "GET, HEAD"
        static = browser.get("/static", headers={"host": "evil.example"})
        slashed = [browser.request(method, path, headers={"host": "evil.example"})
                   for method, path in (("GET", "/top/"), ("GET", "/login//"),
                                        ("POST", "/logout/"), ("GET", "/no-such-page/"))]
    assert static.status_code == 404 and "location" not in static.headers  # (no Host echoed)
    assert [(r.status_code, r.headers.get("location")) for r in slashed] == [
        (308, "/top"), (308, "/login"), (308, "/logout"), (404, None)]  # (relative)
    for response in [*responses, static, *slashed]:
        where = f"{response.request.method} {response.request.url.path}"
        for name, value in HEADERS.items():
            assert response.headers.get(name) == value, (where, name)
        assert "strict-transport-security" not in response.headers  # (plain HTTP: HTTPS's)
        policy = response.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'" and "unsafe" not in policy, where
        assert directives["frame-ancestors"] == "'none'", where
        if "text/html" in response.headers.get("content-type", ""):
            assert "<script" not in response.text and not re.search(
                r"\son[a-z]+\s*=", response.text), where


def test_D_9_a_form_in_a_charset_the_client_names_is_read_as_unicode(portal: Served) -> None:
    """Starlette decodes a multipart form in the charset its client names: unicode_escape
    made a lone surrogate of ``\\ud800``, which sealing the failed login's cookie could not
    encode (a 500 after the attempt was recorded), and a password of one was refused
    without its digest (an answer eight times sooner for a login ID that exists)."""
    login_id = customer(portal)
    for typed_id, password in ((b"\\ud800nobody", b"x"), (login_id.encode(), b"\\ud800Wrong")):
        with client(portal) as browser:
            token = csrf_of(browser.get("/login").text).encode()
            parts = {b"login_id": typed_id, b"password": password, b"csrf": token}
            body = b"".join(b'--b\r\nContent-Disposition: form-data; name="' + name +
                            b'"\r\n\r\n' + value + b"\r\n" for name, value in parts.items())
            answer = browser.post("/login", content=body + b"--b--\r\n", headers={
                "content-type": "multipart/form-data; boundary=b; charset=unicode_escape"})
            assert answer.status_code == 303 and answer.headers["location"] == "/login/error"
            shown = browser.get("/login/error")
            assert shown.status_code == 200 and "ログインIDまたはパスワードが" in shown.text


def test_https_every_cookie_is_secure_and_host_only_and_every_answer_asks_for_https(
        portal: Served, tmp_path: Path) -> None:
    """Behind HTTPS (the scheme the ASGI server reports), every cookie is Secure (D-12) and
    named ``__Host-``, so no sibling domain can plant one (a browser value whose CSRF token
    the planter knows: login CSRF, D-13); every answer carries HSTS; a login works so."""
    login_id = customer(portal)
    cookies: list[str] = []
    app = create_app(portal.station, PortalConfig(SECRET))
    answers: list[httpx.Response] = []

    @in_process(app, "https://portal.example", "192.0.2.77")
    async def _(https: httpx.AsyncClient) -> None:
        page = await https.get("/login")
        done = await https.post("/login", data={"login_id": login_id, "password": PASSWORD,
                                                "csrf": csrf_of(page.text)})
        cookies.extend(set_cookies(page) + set_cookies(done))
        answers.extend([page, done, await https.get("/top"), await https.get("/no-such-page")])

    @in_process(app, "https://portal.example", "192.0.2.78")
    async def _(planted: httpx.AsyncClient) -> None:
        planted.cookies.set("bs_browser", "planted", domain="portal.example")
        answers.append(await planted.post("/login", data={
            "login_id": login_id, "password": PASSWORD,
            "csrf": app.state.portal.signer.csrf("planted")}))

    assert len(cookies) >= 2 and all("Secure" in c and "HttpOnly" in c for c in cookies)
    assert all(c.startswith("__Host-") and "Path=/" in c and "Domain" not in c for c in cookies)
    done, top, planted = answers[1], answers[2], answers[4]
    assert done.headers["location"] == "/top" and "ログアウト" in top.text
    assert planted.status_code == 403 and "ログアウト" not in planted.text  # (no login)
    assert all(answer.headers["strict-transport-security"] == "max-age=31536000"
               for answer in answers)
