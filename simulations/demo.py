"""The manual's story, end to end, on a real store and a real mailbox, with time travel."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from application import bootstrap, screens
from application.adapters.mailbox import MailboxFolder
from application.billing_station import BillingStation
from application.japan_time import jst
from application.messages import key_in
from application.outcomes import KeyEntry, LoginScreen, TopPage
from application.samples import INFORMATION, MAIN_ID, PASSWORD, onboard_demo
from domain import clock


def run_demo(app: BillingStation, mailbox: MailboxFolder, say: Callable[[str], None]) -> None:
    """Plays LG-1..LG-7 and CI-3/CI-4 with the model's clock moved by hand, from
    2015/01/16 09:58 JST."""
    with clock.Simulated(datetime(2015, 1, 16, 0, 58, tzinfo=UTC)) as simulated:

        def step(title: str, minutes: float = 0) -> None:
            simulated.move_to(clock.now() + timedelta(minutes=minutes))
            say(f"\n── {jst(clock.now())} JST  {title}")

        def screen(shown: LoginScreen) -> LoginScreen:
            say(f"   [{screens.title(shown)}] {screens.message(shown)}")
            return shown

        def read_key() -> str:
            mail = mailbox.messages(INFORMATION["email"])[-1]
            say(f"   ✉ {mail['Subject']}  From: {mail['From']}  To: {mail['To']}")
            key = key_in(mail)
            for line in mail.get_content().splitlines()[2:4]:  # (the key itself never shown)
                say(f"     {line.replace(key, '●' * len(key))}")
            return key

        step("契約と主IDの登録 (オンボーディング)")
        session = onboard_demo(app)
        say(f"   主ID {MAIN_ID} を登録しました。通知キーの利用: 利用しない (CI-3)")

        step("初回ログイン: 通知キーの利用=利用しない、パスワードのみ (LG-1, LG-2)", 1)
        screen(app.log_in(MAIN_ID, PASSWORD))

        step("お客様情報変更: 通知キーの利用=利用する → 「確認」 → 「OK」 (CI-4)", 1)
        confirmation = app.confirm_customer_information(session, {"notify_key": "利用する"})
        say(f"   [{screens.title(confirmation)}] 通知キーの利用: {confirmation.values['notify_key']}")
        say(f"   {screens.message(app.submit_customer_information(session, confirmation))}")

        step("翌日、2回目のログイン: 通知キーが送付される (LG-3)", 24 * 60)
        entry = screen(app.log_in(MAIN_ID, PASSWORD))
        assert isinstance(entry, KeyEntry)
        key = read_key()

        step("2分後、通知キーを入力して「OK」: トップページ (LG-3, LG-7)", 2)
        top = screen(app.enter_key(entry.attempt_id, key))
        assert isinstance(top, TopPage)

        step("翌日のログイン: 通知キーが送付される", 24 * 60)
        entry = screen(app.log_in(MAIN_ID, PASSWORD))
        assert isinstance(entry, KeyEntry)
        stale = read_key()

        step("10分後に「OK」: 有効期限切れのエラー画面 (LG-5, D-5)", 10)
        screen(app.enter_key(entry.attempt_id, stale))

        step("再ログイン: 新しい通知キーが再発行される (LG-6)", 1)
        entry = screen(app.log_in(MAIN_ID, PASSWORD))
        assert isinstance(entry, KeyEntry)
        fresh = read_key()
        say(f"   再発行された通知キーは前のものと{'異なります' if fresh != stale else '同じです'}")

        step("新しい通知キーで「OK」: ログイン完了", 1)
        screen(app.enter_key(entry.attempt_id, fresh))

        step("通知キーのメールが届かない場合の連絡先 (LG-8)")
        say("   " + screens.contact(app.key_mail_contact(MAIN_ID)).replace("\n", "\n   "))


MADE_BY_THE_DEMO = ".billing-station-demo"  # what the last demo here left: its store and mails
STORE = "billing-station.sqlite3"


def _replaced(folder: Path) -> list[Path]:
    return [*folder.glob(f"{STORE}*"), *folder.glob("mailbox/*.eml")]


def _identity(path: Path) -> list[int] | None:
    """A file as the demo left it: which file (a new one is another), its size and time
    (None: no file to stat, a link to nothing)."""
    try:
        found = path.stat()
    except OSError:
        return None
    return [found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns]


def not_the_demos(folder: Path) -> list[Path]:
    """The store and mails in ``folder`` a demo would replace but the last demo there did
    not leave as they are: the portal and the audit use the same names (a portal served
    here since has written its own store, and its key mails), and a -wal or -shm file is a
    store in use."""
    try:
        left = json.loads((folder / MADE_BY_THE_DEMO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        left = {}
    if not isinstance(left, dict):  # (not a note a demo wrote)
        left = {}
    return [path for path in _replaced(folder) if not (
        path.name in left.get("mails", []) if path.suffix == ".eml"
        else path.name == STORE and _identity(path) is not None
        and left.get("store") == _identity(path))]


def mark_as_the_demos(folder: Path, mailbox: MailboxFolder) -> None:
    """Notes what this demo left in ``folder`` (after its store closed), so that the next
    demo there replaces exactly that."""
    store = folder / STORE
    (folder / MADE_BY_THE_DEMO).write_text(json.dumps({
        "about": "billing-station demo: the store and mails it left here",
        "store": _identity(store),
        "mails": sorted(p.name for p in mailbox.folder.glob("*.eml"))}) + "\n",
        encoding="utf-8")


def demo_app(folder: Path, settings: bootstrap.Settings) -> tuple[BillingStation, MailboxFolder]:
    """A fresh SQLite store and mailbox under ``folder`` (the previous demo's are removed;
    the caller has refused a folder holding ``not_the_demos``, and marks the folder when the
    demo is done); the hash cost and login URL as ``settings`` say, each checked before
    anything is made (a refusal left the folder behind, empty)."""
    hasher, _ = settings.hasher(), settings.login_url
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / STORE
    for stale in _replaced(folder):
        stale.unlink()
    mailbox = MailboxFolder(folder / "mailbox")
    app = bootstrap.application(settings, store=bootstrap.store_settings("sqlite", store),
                                mailer=mailbox, hasher=hasher)
    return app, mailbox
