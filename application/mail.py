"""Key mail (LG-3) and setting notices (D-11): the messages, and two real transports.

The embedded default writes each mail as an .eml file a person can open; SMTP is used when
configured. A transport failure is a MailError with a clear reason.
"""

from __future__ import annotations

import email.base64mime
import email.policy
import functools
import smtplib
import uuid
from datetime import datetime, timedelta
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol

from application.screens import jst

SENDER = "bs-co@billingstation.ntt.com"  # LG-3


class MailError(Exception):
    """The mail could not be handed over; nothing recorded is lost."""


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class _Headers(HeaderRegistry):
    """The standard header classes, made once: the stock registry builds a new class for
    every header of every message, which was a third of a key mail's cost."""

    @functools.cache  # noqa: B019 (one registry, alive as long as the module)
    def __getitem__(self, name: str) -> type[BaseHeader]:
        return super().__getitem__(name)


POLICY = email.policy.default.clone(header_factory=_Headers())


@functools.lru_cache(maxsize=65536)
def _parsed(name: str, value: str) -> tuple[str, Any]:
    """A header parsed once: header objects are immutable, so messages can share them."""
    return POLICY.header_store_parse(name, value)


# A UTF-8 text body in base64, what set_content() chooses for Japanese text; its headers
# are the same for every mail, so they are parsed once too.
_TEXT = (("MIME-Version", "1.0"), ("Content-Type", 'text/plain; charset="utf-8"'),
         ("Content-Transfer-Encoding", "base64"))


def _message(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage(policy=POLICY)
    for name, value in (("From", f"ビリングステーション <{SENDER}>"), ("To", to),
                        ("Subject", subject)):
        message.set_raw(*_parsed(name, value))
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="billingstation.ntt.com")
    for name, value in _TEXT:
        message.set_raw(*_parsed(name, value))
    message.set_payload(email.base64mime.body_encode(body.encode()))
    return message


def key_mail(to: str, login_id: str, key: str, expires_at: datetime, valid_for: timedelta
             ) -> EmailMessage:
    return _message(
        to,
        "【ビリングステーション】通知キーのお知らせ",
        f"ログインID {login_id} のログインに必要な12桁の通知キーをお知らせします。\n\n"
        f"通知キー: {key}\n"
        f"有効期限: {jst(expires_at)} (日本時間) まで (発行から{valid_for.total_seconds() / 60:g}分間)\n\n"
        "通知キー照合画面に入力し、「OK」をクリックしてください。\n"
        "有効期限が切れた場合は、再度ログインすると新しい通知キーが発行されます。\n"
        "お心当たりのない場合は、このメールを破棄してください。\n",
    )


def notice_mail(to: str, login_id: str, what: str) -> EmailMessage:
    """D-11: a change to the second factor is told to the previous address."""
    return _message(
        to,
        "【ビリングステーション】ご登録内容変更のお知らせ",
        f"ログインID {login_id} の{what}。\n"
        "お心当たりのない場合は、担当者までご連絡ください。\n",
    )


def key_in(message: EmailMessage) -> str:
    """Reads the key from a key mail, as a person would."""
    body = message.get_content()
    for line in body.splitlines():
        if line.startswith("通知キー: "):
            return line.removeprefix("通知キー: ").strip()
    raise ValueError("not a key mail")


class MailboxFolder:
    """Writes each mail to ``folder/<n>-<random>-<recipient>.eml``, open it with any mail
    reader. ``n`` orders the mails (clocks may be frozen); the random part keeps two
    processes writing at once from overwriting each other."""

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            number = len(list(self.folder.glob("*.eml"))) + 1
            name = f"{number:06d}-{uuid.uuid4().hex[:8]}-{message['To']}.eml"
            (self.folder / name).write_bytes(bytes(message))
        except OSError as e:
            raise MailError(f"メールボックス {self.folder} に書き込めません: {e}") from e

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        """Every mail in the folder, oldest first (optionally only those to ``to``)."""
        from email import policy
        from email.parser import BytesParser

        parser = BytesParser(policy=policy.default)
        found = [
            parser.parsebytes(p.read_bytes())
            for p in sorted(self.folder.glob("*.eml"))
        ] if self.folder.exists() else []
        return [m for m in found if to is None or m["To"] == to]


class SMTPMailer:
    """Hands each mail to an SMTP server (STARTTLS and login when configured)."""

    def __init__(
        self, host: str, port: int = 25, user: str | None = None, password: str | None = None,
        starttls: bool = False, timeout: float = 10.0,
    ):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as e:
            raise MailError(f"SMTPサーバ {self.host}:{self.port} に送信できません: {e}") from e
