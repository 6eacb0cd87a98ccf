"""The mails the application sends: the key mail (LG-3) and setting notices (D-11), as plain
values (``Mail``); how a transport renders one as MIME (``mime``); and how a person reads
the key back out of one. The transports are adapters (application.adapters)."""

from __future__ import annotations

import email.base64mime
import email.policy
import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import attrs

from application.japan_time import JST, jst, span
from domain import clock

SENDER = "bs-co@billingstation.ntt.com"  # LG-3


class _Headers(HeaderRegistry):
    """The standard header classes, made once: the stock registry builds a new class for
    every header of every message (about a third of a key mail's cost)."""

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


@attrs.frozen
class Mail:
    """A mail as the application writes it, from the sender (LG-3) at the model's time."""

    to: str
    subject: str
    body: str = attrs.field(repr=False)  # a key mail's body holds the key: never in a log
    sent_at: datetime = attrs.field(factory=clock.now)


class NotOneAddress(ValueError):
    """A recipient a mail's To would read as something other than that one address."""


def _to(address: str) -> tuple[str, Any]:
    """The To header of one address, as parsed once."""
    try:
        header = _parsed("To", address)
        one = [a.addr_spec for a in header[1].addresses] == [address]
    except Exception:  # (the parser's own errors: a line break in a name, as an encoded word
        one = False  # may hold, is a ValueError; a group, "a:;@b.cc", an AttributeError)
    if not one:
        raise NotOneAddress("宛先が1つのメールアドレスとして読めません")
    return header


def mime(mail: Mail) -> EmailMessage:
    """The mail as a transport sends or files it: UTF-8 text in base64, dated in JST; to its
    one address, or NotOneAddress (a store written by another hand may hold anything)."""
    message = EmailMessage(policy=POLICY)
    for name, value in (("From", f"ビリングステーション <{SENDER}>"), ("To", mail.to),
                        ("Subject", mail.subject)):
        message.set_raw(*(_to(value) if name == "To" else _parsed(name, value)))
    # Date (+0900, as a Japanese service) and Message-ID are made here, never from input,
    # so they are stored raw and parsed only if the transport reads them.
    message.set_raw("Date", format_datetime(mail.sent_at.astimezone(JST)))
    message.set_raw("Message-ID", make_msgid(domain="billingstation.ntt.com"))
    for name, value in _TEXT:
        message.set_raw(*_parsed(name, value))
    message.set_payload(email.base64mime.body_encode(mail.body.encode()))
    return message


def _footer(login_url: str) -> str:
    """What a real service's mail ends with: no replies, whom to ask, where to log in."""
    return (
        "\n――――――――――――――――――――\n"
        "このメールは送信専用です。ご返信いただいてもお答えできません。\n"
        "ご不明な点は、主IDの方はオペレータ担当へ、副IDの方は主IDのご担当者へお問い合わせください。\n"
        f"ビリングステーション ログイン画面: {login_url}\n"
    )


KEY_MAIL_SUBJECT = "【ビリングステーション】通知キーのお知らせ"


def key_mail(to: str, login_id: str, key: str, expires_at: datetime, valid_for: timedelta,
             login_url: str) -> Mail:
    """LG-3. The expiry is the instant the key stops working (D-5: at exactly that minute it
    has expired), worded so that nobody reads it as the last minute it still works. Dated
    as the key was issued, so that the Date a mail reader shows and the expiry are the
    validity apart (a mail dated when its digest was done looked valid 9 min 59 s)."""
    return Mail(
        to,
        KEY_MAIL_SUBJECT,
        f"ログインID {login_id} のログインに必要な12桁の通知キーをお知らせします。\n\n"
        f"通知キー: {key}\n"
        f"有効期限: {jst(expires_at, seconds=True)} (日本時間)\n"
        f"この時刻に失効します。それより前に入力してください (発行から"
        f"{span(valid_for.total_seconds())}間有効)。\n\n"
        "通知キー照合画面に入力し、「OK」をクリックしてください。\n"
        "有効期限が切れた場合は、再度ログインすると新しい通知キーが発行されます。\n"
        "お心当たりのない場合は、このメールを破棄してください。\n" + _footer(login_url),
        sent_at=expires_at - valid_for,
    )


def notice_mail(to: str, login_id: str, changes: Sequence[str], login_url: str) -> Mail:
    """D-11: a change to the second factor is told to the previous address, each of one
    OK's ``changes`` a sentence of the one mail."""
    return Mail(
        to,
        "【ビリングステーション】ご登録内容変更のお知らせ",
        "".join(f"ログインID {login_id} の{what}。\n" for what in changes)
        + "お心当たりのない場合は、担当者までご連絡ください。\n" + _footer(login_url),
    )


def is_key_mail(mail: Mail | EmailMessage) -> bool:
    """Is ``mail`` a key mail (LG-3), not a notice (D-11), as written or as received?"""
    return (mail.subject if isinstance(mail, Mail) else str(mail["Subject"])) == KEY_MAIL_SUBJECT


def key_in(mail: Mail | EmailMessage) -> str:
    """Reads the key from a key mail (as written, or as received), as a person would."""
    body = mail.body if isinstance(mail, Mail) else mail.get_content()
    for line in body.splitlines():
        if line.startswith("通知キー: "):
            return line.removeprefix("通知キー: ").strip()
    raise ValueError("not a key mail")
