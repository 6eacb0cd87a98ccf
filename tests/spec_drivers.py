"""Two drivers for the same specs (features/*.feature): a person at Billing Station, as the
steps of tests/test_features.py speak of them.

- ``ServiceDriver`` calls the application services, as the specs always did.
- ``BrowserDriver`` is a person at a real headless Chromium (Playwright) on the portal,
  served on loopback over the scenario's own SQLite store and mailbox: it clicks, types and
  reads what the screen shows (titles, messages, each field's error beside it, the 確認
  screen's lines, the top page's header), and keeps a screenshot of every step under
  reports/screenshots/<test>/ for the living documentation.

Both read keys from the mailbox, as a person reads their mail. ``pytest --driver=browser``
picks the browser (tests/conftest.py); the default is the services.
"""

from __future__ import annotations

import contextlib
import enum
import secrets
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import attrs
from playwright.sync_api import Browser, BrowserContext, Page, StorageState

from application import screens
from application.adapters.mailbox import MailboxFolder
from application.billing_station import BillingStation
from application.outcomes import (
    Completed,
    Confirmation,
    ErrorPage,
    Form,
    KeyEntry,
    Refused,
    Session,
    Throttled,
    TopPage,
)
from domain import clock
from domain.accounts import Account
from domain.crypto import new_token
from domain.fields import SHOWN_ONLY, InvalidInput
from domain.forms import CUSTOMER_INFORMATION, PERMISSIONS, SUB_ID_REGISTRATION, Plan
from domain.portal_sessions import PortalSession
from portal.app import create_app
from portal.config import PortalConfig
from portal.security import ATTEMPT_COOKIE, SESSION_COOKIE
from tests.portal_fixtures import SECRET, Camera, fresh_shots_folder, running
from tests.story import new_sub_id_labels

CUSTOMER_LABELS = {f.label: k for k, f in CUSTOMER_INFORMATION.items()}
SUB_ID_LABELS = {f.label: k for k, f in (SUB_ID_REGISTRATION | PERMISSIONS).items()} | {
    "所属組織": "organization"}
COMPANY, COMPANY_KANA = "デモ用ユーザ{:02d}", "デモヨウユーザ"  # the manual's demo's, numbered


class Kind(enum.Enum):
    """What kind of screen is shown."""

    TOP = "トップページ"
    LOGIN = "ログイン画面"
    KEY_ENTRY = "通知キー照合"
    ERROR = "エラー画面"
    REFUSED = "お断りの画面"  # services only: the browser shows it as an error page
    CONFIRMATION = "確認画面"
    COMPLETED = "完了画面"
    INVALID = "入力エラーのある入力画面"
    OTHER = "その他の画面"


@attrs.frozen
class ShownError:
    """A field's error as shown: its field's label, the message, and (services only) the
    rule it cites."""

    label: str
    message: str
    rule: str | None = None


class Driver(Protocol):
    """A person at Billing Station: what they do, and what the screen then shows."""

    mailbox: MailboxFolder
    store: Path  # the SQLite file of the event store

    # 前提: the world as it stands before the story (no screen for these in the manual)
    def onboard(self, number: str, plan: Plan, login_id: str, password: str,
                information: Mapping[str, str]) -> None: ...
    def mains(self) -> list[str]: ...
    def register_organization(self, name: str) -> None: ...
    def logged_in_once(self, login_id: str, password: str) -> bool: ...

    # もし: what the person does
    def log_in(self, login_id: str, password: str, address: str | None = None) -> None:
        """「ログイン」 from the person's own client address, or from ``address``."""

    def enter_key(self, key: str, first_screen: bool = False) -> None: ...
    def confirm_information(self, by_label: Mapping[str, str]) -> None: ...
    def ok(self) -> None: ...
    def open_customer_information(self, login_id: str) -> None: ...
    def open_permission_settings(self, login_id: str) -> None: ...
    def register_sub_id(self, main: str, form: Mapping[str, str]) -> None: ...
    def confirm_new_sub_id(self, form: Mapping[str, str]) -> None: ...
    def change_sub_id(self, login_id: str, label: str, value: str) -> None: ...

    # ならば: what the person sees
    def kind(self) -> Kind: ...
    def title(self) -> str: ...
    def message(self) -> str: ...
    def header(self) -> str: ...
    def errors(self) -> list[ShownError]: ...
    def kept(self, label: str) -> str: ...
    def confirmation_lines(self) -> list[str]: ...
    def information(self, main: str | None, label: str) -> str: ...
    def shown_only(self, main: str) -> dict[str, str]: ...
    def sub_id_information(self, login_id: str, label: str) -> str: ...
    def listed_sub_ids(self) -> list[str]: ...
    def new_sub_id_labels(self, main: str) -> list[str]: ...
    def contact(self) -> str: ...


# 前提, alike for both drivers -------------------------------------------------------------
class Givens:
    """What a story takes as given, set up through the services for either driver: customers
    onboarded (by the operator, not on a screen of the portal) and their main IDs' sessions."""

    def __init__(self, station: BillingStation) -> None:
        self.station = station
        self.main: dict[str, Session] = {}  # main login ID -> its session

    def onboard(self, number: str, plan: Plan, login_id: str, password: str,
                information: Mapping[str, str]) -> None:
        self.main[login_id] = self.station.onboard_customer(  # (a second customer's screens
            number, COMPANY.format(len(self.main) + 1), COMPANY_KANA, plan,  # read as its own)
            login_id, password, information)

    def mains(self) -> list[str]:
        return list(self.main)

    @property
    def first_main(self) -> Session:
        return next(iter(self.main.values()))


# The services ------------------------------------------------------------------------------
CLIENT_ADDRESS = "192.0.2.10"  # the person's (TEST-NET-1), as 127.0.0.1 is a browser's here
ELSEWHERE = "198.51.100.{}"  # other client addresses (TEST-NET-2), numbered from 1


class ServiceDriver(Givens):
    """The application services called directly: the screen is the outcome a use case
    returns (or the refusal it raises)."""

    def __init__(self, app: BillingStation, mailbox: MailboxFolder, store: Path) -> None:
        super().__init__(app)
        self.app, self.mailbox, self.store = app, mailbox, store
        self.sessions: dict[str, Session] = {}  # login ID -> its session, as it logged in
        self.screen: Any = None  # the last screen, message or error shown
        self.shown = 0  # screens shown so far (one may be the same object as the last:
        #                 【完了】 is an enum's member)
        self.confirmation: Confirmation | None = None
        self.attempt: KeyEntry | None = None
        self.attempts: list[KeyEntry] = []  # every 通知キー照合 screen shown
        self.last_login_id = ""  # who pressed 「ログイン」 last

    @property
    def confirmed(self) -> Confirmation:
        """The 確認 screen shown last (a step sequence without one is a broken spec)."""
        assert self.confirmation is not None, "no 確認 screen was shown"
        return self.confirmation

    def show(self, action: Any) -> Any:
        """Runs a screen action; what it shows (or refuses with) becomes the screen."""
        self.shown += 1
        try:
            self.screen = action()
        except (InvalidInput, Refused) as shown:
            self.screen = shown
        if isinstance(self.screen, TopPage):
            self.sessions[self.screen.session.login_id] = self.screen.session
        if isinstance(self.screen, Confirmation):
            self.confirmation = self.screen
        if isinstance(self.screen, KeyEntry):
            self.attempt = self.screen
            if self.screen.attempt_id not in [a.attempt_id for a in self.attempts]:
                self.attempts.append(self.screen)
        return self.screen

    def register_organization(self, name: str) -> None:
        self.app.register_organization(self.first_main, name)

    def logged_in_once(self, login_id: str, password: str) -> bool:
        return isinstance(self.app.log_in(login_id, password), TopPage)

    def log_in(self, login_id: str, password: str, address: str | None = None) -> None:
        """「ログイン」 as the portal takes it: from the one client address of the person
        (a browser's: D-14 counts its failures, whatever login IDs they name) or another."""
        self.last_login_id = login_id
        self.show(lambda: self.app.log_in_from(address or CLIENT_ADDRESS, login_id, password))

    def enter_key(self, key: str, first_screen: bool = False) -> None:
        if first_screen:
            self.attempt = self.attempts[0]  # back to the first 通知キー照合 screen
        assert self.attempt is not None, "no 通知キー照合 screen was shown"
        attempt = self.attempt
        self.show(lambda: self.app.enter_key(attempt.attempt_id, key))

    def confirm_information(self, by_label: Mapping[str, str]) -> None:
        form = {CUSTOMER_LABELS[label]: value for label, value in by_label.items()}
        self.show(lambda: self.app.confirm_customer_information(self.first_main, form))

    def ok(self) -> None:
        confirmation = self.confirmation
        assert confirmation is not None
        session = self.first_main
        submit = (self.app.submit_customer_information
                  if confirmation.form is Form.CUSTOMER_INFORMATION
                  else self.app.submit_new_sub_id)
        self.show(lambda: submit(session, confirmation))

    def open_customer_information(self, login_id: str) -> None:
        session = self.sessions[login_id]  # its own login, as it logged in
        self.show(lambda: self.app.customer_information(session))

    def open_permission_settings(self, login_id: str) -> None:
        session = self.sessions[login_id]
        self.show(lambda: self.app.permission_settings(session))

    def register_sub_id(self, main: str, form: Mapping[str, str]) -> None:
        session = self.main[main]
        self.show(lambda: self.app.confirm_new_sub_id(session, dict(form)))
        confirmation = self.confirmed
        self.show(lambda: self.app.submit_new_sub_id(session, confirmation))

    def confirm_new_sub_id(self, form: Mapping[str, str]) -> None:
        self.show(lambda: self.app.confirm_new_sub_id(self.first_main, dict(form)))

    def change_sub_id(self, login_id: str, label: str, value: str) -> None:
        session, form = self.first_main, {SUB_ID_LABELS[label]: value}
        confirmation = self.show(lambda: self.app.confirm_sub_id_change(session, login_id, form))
        if isinstance(confirmation, Confirmation):
            self.show(lambda: self.app.submit_sub_id_change(session, confirmation))

    def kind(self) -> Kind:
        for kind, shown in ((Kind.TOP, TopPage), (Kind.LOGIN, Throttled),
                            (Kind.KEY_ENTRY, KeyEntry),
                            (Kind.ERROR, ErrorPage), (Kind.REFUSED, Refused),
                            (Kind.CONFIRMATION, Confirmation), (Kind.COMPLETED, Completed),
                            (Kind.INVALID, InvalidInput)):
            if isinstance(self.screen, shown):
                return kind
        return Kind.OTHER

    def title(self) -> str:
        return screens.title(self.screen)

    def message(self) -> str:
        return screens.message(self.screen)

    def header(self) -> str:
        return screens.header(self.screen)

    def errors(self) -> list[ShownError]:
        assert isinstance(self.screen, InvalidInput), self.screen
        return [ShownError(e.label, e.message, e.rule) for e in self.screen.errors]

    def kept(self, label: str) -> str:
        kept: str = self.screen.form[CUSTOMER_LABELS[label]]
        return kept

    def confirmation_lines(self) -> list[str]:
        return screens.confirmation_lines(self.screen)

    def information(self, main: str | None, label: str) -> str:
        session = self.main[main] if main else self.first_main
        return str(self.app.customer_information(session).by_label()[label])

    def shown_only(self, main: str) -> dict[str, str]:
        screen = self.app.customer_information(self.main[main])
        inputs = {field.label for field in screen.fields.values()}
        return {label: value for label, value in screen.shown.items() if label not in inputs}

    def sub_id_information(self, login_id: str, label: str) -> str:
        return self.app.sub_id_information(self.first_main, login_id).by_label()[label]

    def listed_sub_ids(self) -> list[str]:
        return [row.login_id for row in self.app.permission_settings(self.first_main)]

    def new_sub_id_labels(self, main: str) -> list[str]:
        return new_sub_id_labels(self.app, self.main[main])

    def contact(self) -> str:
        """LG-8 from the 通知キー照合 screen shown: whom the person who logged in asks."""
        assert isinstance(self.screen, KeyEntry), "no 通知キー照合 screen is shown"
        return screens.contact(self.app.key_mail_contact(self.last_login_id))


# The browser -------------------------------------------------------------------------------
@contextlib.contextmanager
def served(station: BillingStation) -> Iterator[str]:
    """The portal on 127.0.0.1 (port 0) in a thread, over ``station`` (the scenario's own
    store: D-14's per-address count starts at zero for each scenario); its URL. As behind
    a trusted proxy: a window for another client address names it in X-Forwarded-For."""
    with running(create_app(station, PortalConfig(SECRET)), proxied=True) as url:
        yield url


# What a form page shows, field by field: its label (without the ※ of a required field),
# the value a person sees (a text input's value, the label of the checked radio button) and
# the error printed beside it. Also the read-only lines (BSお客様番号, BS基本サービス ...).
_READ_FORM = """() => {
  const text = e => e ? e.innerText.trim() : '';
  const fields = Array.from(document.querySelectorAll('main .field')).map(f => {
    const label = f.querySelector(':scope > label, :scope > legend');
    const checked = f.querySelector('input[type=radio]:checked');
    const input = f.querySelector('input:not([type=radio])');
    return {label: text(label).replace(/^※\\s*/, ''),
            value: checked ? text(checked.closest('label')) : (input ? input.value : ''),
            error: text(f.querySelector('.error'))};
  });
  const shown = Array.from(document.querySelectorAll('main dl.shown dt')).map(dt => (
    {label: text(dt), value: text(dt.nextElementSibling), error: ''}));
  const unplaced = Array.from(document.querySelectorAll('#error-summary p.error')).map(
    p => ({label: '', value: '', error: text(p)}));
  return fields.concat(shown, unplaced);
}"""
CONFIRMATION_TITLES = set(screens.CONFIRMATION_TITLES.values())


@attrs.define
class KeyScreen:
    """A 通知キー照合 screen as it was shown: its attempt's (signed) cookie, and the
    browser's cookies then, so the person can come back to that very screen."""

    attempt: str
    cookies: StorageState


class BrowserDriver(Givens):
    """A person at a headless Chromium on the served portal. Each login ID has its own
    browser window (its own cookies); a main ID's person in charge works in another one,
    already logged in (the portal session is started for the onboarding's session, as the
    services use it: no login is recorded, so a scenario's own first login stays the first,
    LG-4). Every step keeps a screenshot (``Camera``)."""

    def __init__(self, browser: Browser, url: str, station: BillingStation,
                 mailbox: MailboxFolder, store: Path, test: str) -> None:
        super().__init__(station)
        self.browser, self.url = browser, url
        self.mailbox, self.store, self.test = mailbox, store, test
        self.windows: dict[str, Page] = {}  # login ID (and address, if another) -> its window
        self.admin: dict[str, Page] = {}  # main login ID -> its person in charge's window
        self.contexts: list[BrowserContext] = []
        self.page: Page | None = None  # the window whose screen was shown last
        self.key_screens: list[KeyScreen] = []  # every 通知キー照合 screen shown
        self.key_screen: KeyScreen | None = None  # the one shown last
        self.camera: Camera | None = None  # made at the first screenshot; its folder now
        fresh_shots_folder(test)  # (an earlier run's screenshots are not this run's)

    @property
    def tab(self) -> Page | None:
        """The window shown last (tests/living_docs/collector.py records its text as evidence)."""
        return self.page

    def close(self) -> None:
        for context in self.contexts:
            context.close()

    # windows, screenshots ----------------------------------------------------------------
    def _window(self, cookies: StorageState | None = None, address: str | None = None) -> Page:
        """A window of its own cookies; from ``address`` (as its proxy names it), or from
        the loopback address of the browser itself."""
        headers = {"X-Forwarded-For": address} if address else None
        context = self.browser.new_context(base_url=self.url, locale="ja-JP",
                                           storage_state=cookies, extra_http_headers=headers)
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    def _shot(self, page: Page, step: str) -> None:
        if self.camera is None:
            self.camera = Camera(page, self.test)
        self.camera.page = page
        self.camera.shot(step)

    def _shown(self, page: Page, step: str) -> None:
        """``page`` now shows the screen the steps look at; a 通知キー照合 screen is noted."""
        self.page = page
        self._shot(page, step)
        if _on_key_screen(page):
            attempt = _cookie(page.context, ATTEMPT_COOKIE)
            assert attempt, "a 通知キー照合 screen without its attempt's cookie"
            seen = next((s for s in self.key_screens if s.attempt == attempt), None)
            if seen is None:
                seen = KeyScreen(attempt, page.context.storage_state())
                self.key_screens.append(seen)
            self.key_screen = seen

    def _submit(self, page: Page, button: str) -> None:
        with page.expect_navigation():
            page.get_by_role("button", name=button, exact=True).click()

    def _as_main(self, main: str, path: str, tab: bool = False) -> Page:
        """The main ID's window at ``path`` (its session started anew if it idled out); with
        ``tab``, another tab of that window, to look something up without leaving the screen
        the story is on (e.g. a 確認 screen not yet OK'd)."""
        window = self.admin.get(main)
        if window is None:
            window = self.admin[main] = self._window()
        page = window.context.new_page() if tab else window
        for _ in range(2):
            if _cookie(page.context, SESSION_COOKIE):
                page.goto(path)
                if urlsplit(page.url).path != "/login":  # (?ended=1: its session is gone)
                    return page
            token = _session_without_login(self.station, self.main[main])
            page.context.add_cookies([{"name": SESSION_COOKIE, "value": token,
                                       "url": self.url}])
        raise AssertionError(f"the main ID {main}'s session does not reach {path}")

    def _reading(self, main: str, path: str, step: str) -> Page:
        page = self._as_main(main, path, tab=True)
        self._shot(page, step)
        return page

    @property
    def _screen(self) -> Page:
        assert self.page is not None, "no screen was shown"
        return self.page

    # 前提 -----------------------------------------------------------------------------------
    def register_organization(self, name: str) -> None:
        """組織設定 is not among the portal's screens (SC-1): registered through the
        services, as a 前提."""
        self.station.register_organization(self.first_main, name)

    def logged_in_once(self, login_id: str, password: str) -> bool:
        self.log_in(login_id, password)
        return self.kind() is Kind.TOP

    # もし -------------------------------------------------------------------------------------
    def log_in(self, login_id: str, password: str, address: str | None = None) -> None:
        window = f"{login_id} from {address}" if address else login_id
        page = self.windows.get(window)
        if page is None:
            page = self.windows[window] = self._window(address=address)
        page.goto("/login")
        if urlsplit(page.url).path != "/login":  # still logged in here: /login shows the top
            self._submit(page, "ログアウト")  # page, so the person logs out first
        page.get_by_label("ログインID", exact=True).fill(login_id)
        page.get_by_label("パスワード", exact=True).fill(password)
        self._submit(page, "ログイン")
        self._shown(page, f"login-{login_id}")

    def enter_key(self, key: str, first_screen: bool = False) -> None:
        """「OK」 on a 通知キー照合 screen: the one shown last, still open in its window; or,
        once that window moved on (or for the first screen), the same screen opened again
        with the browser's cookies as they were when it was shown."""
        if first_screen:
            self.key_screen = self.key_screens[0]
        shown = self.key_screen
        assert shown is not None, "no 通知キー照合 screen was shown"
        page = next((p for p in self.windows.values() if _on_key_screen(p)
                     and _cookie(p.context, ATTEMPT_COOKIE) == shown.attempt), None)
        if page is None:
            page = self._window(shown.cookies)
            page.goto("/key")
        page.get_by_label("通知キー", exact=True).fill(key)
        self._submit(page, "OK")
        self._shown(page, "key")

    def _fill(self, page: Page, name: str, value: str) -> None:
        radios = page.locator(f"main input[type=radio][name='{name}']")
        if radios.count() == 0:
            page.locator(f"#f-{name}").fill(value)
            return
        choice = page.locator(f"main .field:has(input[name='{name}'])").get_by_label(
            value, exact=True)
        if choice.count() == 0:
            # Not among the choices shown (e.g. an organization no longer registered): the
            # page is stale, as when another window changed 組織設定; the server must refuse.
            radios.first.evaluate("(radio, value) => { radio.value = value; }", value)
            radios.first.check()
            return
        choice.check()

    def confirm_information(self, by_label: Mapping[str, str]) -> None:
        page = self._as_main(self.mains()[0], "/customer-information")
        for label, value in by_label.items():
            self._fill(page, CUSTOMER_LABELS[label], value)
        self._shot(page, "information-filled")
        self._submit(page, "確認")
        self._shown(page, "information-confirm")

    def ok(self) -> None:
        page = self._screen
        assert page.get_by_role("heading", level=1).inner_text() in CONFIRMATION_TITLES, \
            "no 確認 screen was shown"
        self._submit(page, "OK")
        self._shown(page, "ok")

    def open_customer_information(self, login_id: str) -> None:
        page = self.windows[login_id]  # its own login, as it logged in
        page.goto("/customer-information")  # not in a sub ID's menu: typed as a URL
        self._shown(page, "customer-information")

    def open_permission_settings(self, login_id: str) -> None:
        page = self.windows[login_id]
        page.goto("/permission-settings")
        self._shown(page, "permission-settings")

    def _new_sub_id(self, main: str, form: Mapping[str, str]) -> Page:
        page = self._as_main(main, "/permission-settings")
        with page.expect_navigation():
            page.get_by_role("link", name="新規追加", exact=True).click()
        for name, value in form.items():
            self._fill(page, name, value)
        self._shot(page, "sub-id-filled")
        self._submit(page, "確認")
        self._shown(page, "sub-id-confirm")
        return page

    def register_sub_id(self, main: str, form: Mapping[str, str]) -> None:
        self._new_sub_id(main, form)
        self.ok()

    def confirm_new_sub_id(self, form: Mapping[str, str]) -> None:
        self._new_sub_id(self.mains()[0], form)

    def change_sub_id(self, login_id: str, label: str, value: str) -> None:
        page = self._as_main(self.mains()[0], "/permission-settings")
        with page.expect_navigation():
            page.get_by_role("link", name=f"{login_id} を変更", exact=True).click()
        self._fill(page, SUB_ID_LABELS[label], value)
        self._shot(page, "sub-id-filled")
        self._submit(page, "確認")
        self._shown(page, "sub-id-confirm")
        if self.kind() is Kind.CONFIRMATION:
            self.ok()

    # ならば -----------------------------------------------------------------------------------
    def kind(self) -> Kind:
        page = self._screen
        title = self.title()
        if page.locator("#error-summary").count():
            return Kind.INVALID
        return {"トップページ": Kind.TOP, "ログイン": Kind.LOGIN, "通知キー照合": Kind.KEY_ENTRY,
                "エラー": Kind.ERROR,
                "完了": Kind.COMPLETED}.get(
            title, Kind.CONFIRMATION if title in CONFIRMATION_TITLES else Kind.OTHER)

    def title(self) -> str:
        return self._screen.get_by_role("heading", level=1).inner_text().strip()

    def message(self) -> str:
        page = self._screen
        if self.kind() is Kind.TOP:
            return self.header()
        texts = [page.locator(f"main #{id_}").inner_text().strip()
                 for id_ in ("message", "key-error", "key-prompt", "login-error")
                 if page.locator(f"main #{id_}").count()]
        return "\n".join(texts)

    def header(self) -> str:
        return self._screen.locator("#account-header").inner_text().strip()

    def _form(self, page: Page) -> list[dict[str, str]]:
        read: list[dict[str, str]] = page.evaluate(_READ_FORM)
        return read

    def errors(self) -> list[ShownError]:
        assert self.kind() is Kind.INVALID, self.title()
        return [ShownError(f["label"], f["error"]) for f in self._form(self._screen)
                if f["error"]]

    def kept(self, label: str) -> str:
        return self._screen.locator(f"#f-{CUSTOMER_LABELS[label]}").input_value()

    def confirmation_lines(self) -> list[str]:
        return [line.strip() for line in
                self._screen.locator("main ul.confirmation li").all_inner_texts()]

    def _value(self, page: Page, label: str) -> str:
        values = {f["label"]: f["value"] for f in self._form(page) if f["label"]}
        page.close()
        assert label in values, f"no {label} on the screen: {sorted(values)}"
        return values[label]

    def information(self, main: str | None, label: str) -> str:
        page = self._reading(main or self.mains()[0], "/customer-information", "information")
        return self._value(page, label)

    def shown_only(self, main: str) -> dict[str, str]:
        """Each label and value the screen reads (_READ_FORM) that no control of its form
        takes: not a field's label as well, nor an item whose name a control sends."""
        page = self._reading(main, "/customer-information", "information")
        try:
            read = self._form(page)
            sent = set(page.eval_on_selector_all("main form [name]", "els => els.map(e => e.name)"))
        finally:
            page.close()
        labels = [f["label"] for f in read]
        names = {label: name for name, label in SHOWN_ONLY.items()}
        return {f["label"]: f["value"] for f in read if f["label"] and labels.count(f["label"]) == 1
                and names.get(f["label"], CUSTOMER_LABELS.get(f["label"])) not in sent}

    def sub_id_information(self, login_id: str, label: str) -> str:
        page = self._reading(self.mains()[0], "/permission-settings", "permission-settings")
        with page.expect_navigation():
            page.get_by_role("link", name=f"{login_id} を変更", exact=True).click()
        self._shot(page, "sub-id")
        return self._value(page, label)

    def listed_sub_ids(self) -> list[str]:
        page = self._reading(self.mains()[0], "/permission-settings", "permission-settings")
        ids = [t.strip() for t in page.locator("main tbody tr td:first-child").all_inner_texts()]
        page.close()
        return ids

    def new_sub_id_labels(self, main: str) -> list[str]:
        page = self._reading(main, "/permission-settings/new", "sub-id-new")
        labels = [f["label"] for f in self._form(page)] + [
            t.strip() for t in page.locator("main fieldset.permissions > legend").all_inner_texts()]
        page.close()
        return labels

    def contact(self) -> str:
        """LG-8 as a person meets it: on the 通知キー照合 screen shown, the link
        「通知キーのメールが届かない場合」 and the contact on the page it opens."""
        page = self._screen
        assert _on_key_screen(page), "no 通知キー照合 screen is shown"
        with page.expect_navigation():
            page.get_by_role("link", name="通知キーのメールが届かない場合", exact=True).click()
        self._shot(page, "contact")
        return page.locator("main #contact").inner_text().strip()


def _on_key_screen(page: Page) -> bool:
    """The 通知キー照合 screen (an error page answering its POST has the same URL)."""
    return page.url.split("?")[0].endswith("/key") and page.get_by_role(
        "heading", level=1, name="通知キー照合", exact=True).count() == 1


def _cookie(context: BrowserContext, name: str) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == name), None)


def _session_without_login(station: BillingStation, session: Session) -> str:
    """A portal session for a main ID's person in charge, saved as a 前提: no login is
    recorded (the portal opens its sessions only with a login, application.login.Opening)."""
    token = new_token(secrets)
    account = station.get(session.account_id, Account)
    station.save(PortalSession.start(token, session.account_id, session.login_id,
                                     account.last_login_at, clock.now()))
    return token
