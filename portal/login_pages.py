"""ログイン, 通知キー照合 and ログアウト (LG-1..LG-7, SC-3, SC-4, D-12..D-15). The attempt id
lives in a signed cookie, never in a form."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from application import screens
from application.login import Opening
from application.outcomes import ErrorPage, KeyEntry, LoginScreen, Refusal, Throttled, TopPage
from application.station import AttemptNotFound
from domain import clock
from domain.login_attempt import KEY_AWAITED, LoginAttempt
from portal.addresses import address_or_unknown
from portal.confirm_pages import refused_form
from portal.cookies import cookie, drop_cookie, set_cookie
from portal.security import (
    ATTEMPT_COOKIE,
    BROWSER_COOKIE,
    ERROR_COOKIE,
    SEEN_COOKIE,
    SESSION_COOKIE,
    SHOWN_COOKIE,
    new_browser_value,
)
from portal.web import checked_form, log, member, portal, redirect, render, run

# A failed login's page, reloaded or come back to: not for the next person at the browser
ERROR_MAX_AGE = timedelta(minutes=5)


async def home(request: Request) -> Response:
    return redirect("/top" if await member(request) else "/login")


async def login_page(request: Request) -> Response:
    """ログイン; with a live session, the top page instead (its login form would only end
    that session by accident)."""
    if await member(request):
        return redirect("/top")
    notices = {"out": screens.LOGGED_OUT, "ended": screens.SESSION_ENDED}
    return render(request, "login.html", {"notice": next(
        (said for query, said in notices.items() if query in request.query_params), None)})


async def log_in(request: Request) -> Response:
    form = await checked_form(request)
    if form is None:  # D-13: nothing is checked, nothing recorded
        return refused_form(request)
    address = client_address(request)
    login_id = form.get("login_id", "")
    shown = await run(portal(request).station.log_in_from, address, login_id,
                      form.get("password", ""), _opening(request))
    if isinstance(shown, Throttled):  # D-14
        log.warning("login refused unchecked from %s (D-14)", address)
        return _error_page_next(request, _THROTTLED, login_id)
    log.info("login from %s: %s", address, _logged(shown))
    return _after(request, shown, login_id)


def client_address(request: Request) -> str:
    """The address D-14 counts: the peer's, or behind a trusted proxy the one its
    X-Forwarded-For names; anything there that is no plain IP address (a proxy passing on
    what a client typed) is counted as one address, "unknown" (never kept as typed)."""
    return address_or_unknown(request.client.host if request.client else "")


def _logged(shown: LoginScreen) -> str:
    """What a login came to, for the operator's log (never who or with what)."""
    if isinstance(shown, TopPage):
        return "logged in (top page)"
    if isinstance(shown, KeyEntry):
        return "key mailed (通知キー照合)"
    return f"refused: {shown.refusal.name} ({shown.refusal.value})"


def _after(request: Request, shown: LoginScreen, login_id: str = "") -> Response:
    """The screen after 「ログイン」 or a key's 「OK」, each by a redirect to GET: a reload
    of it sends nothing again (the password again would be another failure for D-14). An
    error's page offers the login form again with the login ID typed (never the password)."""
    if isinstance(shown, TopPage):
        return _session_started(request, shown)
    if isinstance(shown, KeyEntry):
        to_key = redirect("/key")
        signed = portal(request).signer.attempt(str(shown.attempt_id), clock.now(),
                                                _browser(request, to_key))
        set_cookie(request, to_key, ATTEMPT_COOKIE, signed, max_age=_attempt_max_age(request))
        drop_cookie(request, to_key, ERROR_COOKIE)  # (「戻る」 to it: the login form, not it)
        return to_key
    assert isinstance(shown, ErrorPage)
    return _error_page_next(request, shown.refusal.name, login_id, shown.retry_at)


_THROTTLED = "THROTTLED"  # D-14's refusal, not a login's: no password was checked


def _error_page_next(request: Request, refusal: str, login_id: str,
                     retry_at: datetime | None = None) -> Response:
    """A redirect to the failed login's page, its refusal, the login ID typed and D-10's
    time to come back sealed in a cookie for this browser (never the password)."""
    to_error = redirect("/login/error")
    sealed = portal(request).signer.login_error(refusal, login_id, _browser(request, to_error),
                                                clock.now(), retry_at)
    set_cookie(request, to_error, ERROR_COOKIE, sealed, max_age=ERROR_MAX_AGE)
    drop_cookie(request, to_error, ATTEMPT_COOKIE)
    return to_error


def _browser(request: Request, response: Response) -> str:
    """The browser's binding value; one that logged in before without it gets a new one."""
    browser = cookie(request, BROWSER_COOKIE)
    if not browser:
        browser = new_browser_value()
        set_cookie(request, response, BROWSER_COOKIE, browser)
    return browser


async def login_error(request: Request) -> Response:
    """The failed login's page (ログイン or 通知キー照合 refused, D-9, or D-14's wait: 429),
    by GET."""
    if await member(request):
        return redirect("/top")
    found = portal(request).signer.login_error_of(cookie(request, ERROR_COOKIE),
                                                  cookie(request, BROWSER_COOKIE),
                                                  clock.now(), ERROR_MAX_AGE)
    refusal = Refusal.__members__.get(found.refusal) if found else None
    if found is None or (refusal is None and found.refusal != _THROTTLED):
        return redirect("/login")  # (also after BS_PORTAL_SECRET changed: a restart without it)
    if refusal is None:  # D-14: the login screen, saying to wait
        return render(request, "login.html", {"error": screens.THROTTLED,
                                              "login_value": found.login_id}, status_code=429)
    return render(request, "error.html", {"message": screens.refusal_text(refusal, found.retry_at),
                                          "login_again": found.login_id})


def _opening(request: Request) -> Opening:
    """D-12: a completed login opens its session, under a new id, in the login's own
    transaction; the browser's earlier session, if any, ends there."""
    return Opening(replacing=cookie(request, SESSION_COOKIE))


def _session_started(request: Request, top: TopPage) -> Response:
    if top.token is None:
        raise RuntimeError("a portal login opened no session")  # Guard: a 500 page
    response = redirect("/top")
    set_cookie(request, response, SESSION_COOKIE, top.token)
    drop_cookie(request, response, ATTEMPT_COOKIE)
    drop_cookie(request, response, SEEN_COOKIE)  # the old session's, if any
    drop_cookie(request, response, ERROR_COOKIE)
    return response


def signed_attempt(request: Request) -> str | None:
    """The attempt id of this browser's signed attempt cookie, if it is still young."""
    return portal(request).signer.attempt_of(
        cookie(request, ATTEMPT_COOKIE), cookie(request, BROWSER_COOKIE), clock.now(),
        _attempt_max_age(request))


def _attempt_max_age(request: Request) -> timedelta:
    """通知キー照合's cookie lasts as long as an entry is told its key expired (LG-5: the
    key's validity, then KEY_AWAITED); after it, the attempt is long over."""
    return portal(request).station.policy.validity + KEY_AWAITED


# 通知キー照合 again after an entry, by GET, with its message: ``?wrong=N`` after a wrong key,
# N the wrong keys the attempt still takes (D-4), ``?earlier=1`` after an earlier mail's key
# (D-2), ``?digits=1`` after what is not 12 digits, an empty key too (D-6; the server says
# it, in Japanese, not the browser), ``?busy=1`` after an entry that lost every race to
# other writes of its attempt or account (nothing recorded: the key may be entered again);
# each value signed for
# the attempt and its query's name, so that a link, a bookmark or a name changed by hand
# shows no message of an entry that attempt never had.
RETRY_QUERIES = {Refusal.KEY_WRONG: "wrong", Refusal.KEY_SUPERSEDED: "earlier",
                 Refusal.NOT_A_KEY: "digits", Refusal.BUSY: "busy"}


async def key_page(request: Request) -> Response:
    """通知キー照合; after an entry that asks again (RETRY_QUERIES) with its message: a
    reload of it enters nothing (a reload of the POST's page would enter the key again,
    towards D-4's lock)."""
    attempt = signed_attempt(request)
    if attempt is None:
        return redirect("/login")
    asked = next(((refusal, request.query_params[query]) for refusal, query
                  in RETRY_QUERIES.items() if query in request.query_params), None)
    error = None
    if asked is not None:
        refusal, signed = asked
        value = portal(request).signer.unsign(f"key-retry {RETRY_QUERIES[refusal]}", signed,
                                              attempt)
        if value is not None:  # (the portal's own: 1 to 99)
            left = int(value) if refusal is Refusal.KEY_WRONG else None
            error = screens.key_error(refusal, left)
    return render(request, "key.html", {"prompt": screens.KEY_PROMPT, "error": error})


async def enter_key(request: Request) -> Response:
    """「OK」 on 通知キー照合: the key only in this POST's body (D-15). From a tab whose
    login another tab completed (its token was the browser's before the session): the top
    page. With no attempt (its cookie past the key's validity and KEY_AWAITED, dropped as
    another tab ended the attempt, or another browser's): the key cannot be used, as an
    attempt over says (it showed a bare login screen)."""
    form = await checked_form(request)
    attempt = signed_attempt(request)
    if form is None:
        return redirect("/top") if await member(request) else refused_form(request)
    if attempt is None:
        return _error_page_next(request, Refusal.KEY_UNUSABLE.name, "")
    try:
        shown = await run(portal(request).station.enter_key, UUID(attempt), form.get("key", ""),
                          _opening(request))
    except AttemptNotFound:  # (signed by this portal, of a store since replaced)
        return _error_page_next(request, Refusal.KEY_UNUSABLE.name, "")
    log.info("key entry: %s", type(shown).__name__ if not isinstance(shown, KeyEntry)
             else f"KeyEntry (again, {(shown.error or Refusal.KEY_WRONG).name})")
    if isinstance(shown, KeyEntry):  # a wrong key (D-4), an earlier one (D-2), none (D-6), busy
        query = RETRY_QUERIES[shown.error or Refusal.KEY_WRONG]
        signed = portal(request).signer.sign(f"key-retry {query}", str(shown.tries_left or 1),
                                             attempt)
        return redirect(f"/key?{query}={signed}")
    if isinstance(shown, ErrorPage):  # its login form offers the attempt's login ID again
        found = await run(portal(request).station.find, UUID(attempt), LoginAttempt)
        return _after(request, shown, found.login_id if found else "")
    return _after(request, shown)


async def log_out(request: Request) -> Response:
    """ログアウト (SC-4): the session ends in the store; its cookie is dropped. Without its
    token (D-13) nothing ends, and the page says so, with the session's ログアウト again
    (it went back to the top page, as if the click had been lost)."""
    form = await checked_form(request)
    if form is None:
        found = await member(request)  # (none: ended already, in another tab: logged out)
        return refused_form(request, *found) if found else redirect("/login?out=1")
    token = cookie(request, SESSION_COOKIE)
    if token:
        await run(portal(request).station.end_session, token)
    response = redirect("/login?out=1")
    for name in (SESSION_COOKIE, SEEN_COOKIE, SHOWN_COOKIE):  # (a 確認's, if any)
        drop_cookie(request, response, name)
    return response


ROUTES = [
    Route("/", home),
    Route("/login", login_page),
    Route("/login", log_in, methods=["POST"]),
    Route("/login/error", login_error),
    Route("/key", key_page),
    Route("/key", enter_key, methods=["POST"]),
    Route("/logout", log_out, methods=["POST"]),
]
