"""What the portal hands to a browser and checks on the way back: CSRF tokens bound to the
browser's session (D-13), the login attempt's id (never a form field), the instant of a
session's last request (D-12), all signed; 確認 screens' confirmations and a failed login's
page, sealed. One secret, shared by every worker process, signs and seals them all."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import attrs
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment

from application.outcomes import Confirmation, Form
from domain.fields import FieldError

SESSION_COOKIE = "bs_session"  # the bearer token of a logged-in session (D-12)
BROWSER_COOKIE = "bs_browser"  # a random value binding pre-login forms (login, key entry)
ATTEMPT_COOKIE = "bs_attempt"  # the signed login attempt id of 通知キー照合
SEEN_COOKIE = "bs_seen"  # the session's last request, signed and bound to the session (D-12)
ERROR_COOKIE = "bs_login_error"  # a failed login's refusal and typed login ID, sealed
SHOWN_COOKIE = "bs_confirm"  # what 「確認」 answered, sealed, carried to the GET showing it
KEPT_LOGIN_ID = 64  # characters of a typed login ID offered again (a real one has ≤ 32)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@attrs.frozen
class LoginError:
    """What a failed login's page shows, as sealed for it."""

    refusal: str
    login_id: str
    retry_at: datetime | None


@attrs.frozen
class Shown:
    """What a form's 「確認」 answered, as sealed for the GET it is redirected to
    (Post/Redirect/Get: the browser's history holds pages it can show again, not forms it
    would resend): the 確認 screen, or the form's errors; and the input typed, for the
    form again (never a password: their names, to ask for them again)."""

    url: str  # the form's
    typed: dict[str, str]  # (refused input; accepted, the confirmation's values serve)
    retype: tuple[str, ...]
    confirmation: Confirmation | None = None  # the input accepted: the 確認 screen, or
    errors: tuple[FieldError, ...] = ()  # refused: why (never both)


class Signer:
    def __init__(self, secret: bytes):
        self._secret = secret
        # 確認's values are sealed, not only signed: a sub ID's temporary password travels
        # as its digest (D-7), which a browser must not read (an offline guess at it).
        key = hashlib.sha256(b"confirmation\x00" + secret).digest()
        self._sealer = AESCipher(Environment(env={"CIPHER_KEY": base64.b64encode(key).decode()}))

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.digest(self._secret, f"{purpose}\x00{value}".encode(), "sha256").hex()

    def login_error(self, refusal: str, login_id: str, browser: str, at: datetime,
                    retry_at: datetime | None = None) -> str:
        """A failed login's page, carried to the GET it is redirected to: the refusal's name,
        the login ID typed (one too long to be one is not offered again) and when to come
        back (D-10), sealed for this browser with when it failed: what was typed may be a
        password in the wrong field."""
        kept = login_id if len(login_id) <= KEPT_LOGIN_ID else ""
        return self._seal("login-error", {"refusal": refusal, "login_id": kept,
                                          "retry_at": retry_at.isoformat() if retry_at else "",
                                          "at": _seconds(at)}, browser)

    def login_error_of(self, sealed: str | None, browser: str | None, now: datetime,
                       max_age: timedelta) -> LoginError | None:
        """The failed login's page sealed for this browser, if younger than ``max_age``
        (a browser's Max-Age is not the server's word: a kept cookie would show the login
        ID typed to the next person at a shared browser for ever); else None."""
        data = self._unseal("login-error", sealed, browser)
        if data is None or not _younger(data.get("at"), now, max_age):
            return None
        retry_at = str(data.get("retry_at") or "")
        return LoginError(str(data["refusal"]), str(data["login_id"]),
                          datetime.fromisoformat(retry_at) if retry_at else None)

    def csrf(self, binding: str) -> str:
        """D-13: the token of every changing form, bound to the session (or, before login,
        to the browser's own random cookie)."""
        return self._mac("csrf", binding)

    def csrf_ok(self, binding: str | None, token: str | None) -> bool:
        return bool(binding and token) and _same(self.csrf(binding or ""), token or "")

    def sign(self, purpose: str, value: str, binding: str) -> str:
        return f"{value}.{self._mac(purpose, binding + chr(0) + value)}"

    def unsign(self, purpose: str, signed: str | None, binding: str | None) -> str | None:
        if not signed or not binding or "." not in signed:
            return None
        value, mac = signed.rsplit(".", 1)
        return value if _same(self._mac(purpose, binding + chr(0) + value), mac) else None

    def attempt(self, attempt_id: str, shown_at: datetime, browser: str) -> str:
        """通知キー照合's attempt, signed for this browser with when it was shown: a cookie
        kept past its age is refused here, not only dropped by a browser that keeps to
        Max-Age (a form replayed with it could be sent for ever)."""
        return self.sign("attempt", f"{attempt_id}_{_seconds(shown_at)}",
                         browser)  # (no space: a cookie's value)

    def attempt_of(self, signed: str | None, browser: str | None, now: datetime,
                   max_age: timedelta) -> str | None:
        """The attempt id ``attempt`` signed for this browser, if it is younger than
        ``max_age``; else None."""
        value = self.unsign("attempt", signed, browser)
        attempt, _, shown = (value or "").rpartition("_")
        if not (attempt and shown.isascii() and shown.isdigit() and len(shown) <= 12):
            return None
        return attempt if _younger(int(shown), now, max_age) else None

    def seen(self, instant: datetime, token: str) -> str:
        """D-12: the instant of a session's request, signed for that session alone, so that
        no worker needs to record each request: the browser brings the last one back."""
        return self.sign("seen", str((instant - _EPOCH) // timedelta(microseconds=1)), token)

    def seen_of(self, signed: str | None, token: str) -> datetime | None:
        """The instant a ``seen`` cookie vouches for; None when it is absent, forged, altered
        or another session's (then the store's own record of the session decides)."""
        value = self.unsign("seen", signed, token)
        if value is None or not (value.isascii() and value.isdigit()) or len(value) > 20:
            return None
        return _EPOCH + timedelta(microseconds=int(value))

    def confirmation(self, confirmation: Confirmation, binding: str) -> str:
        """A 確認 screen's confirmation for its OK form, sealed for its session."""
        return self._seal("confirmation", _fields_of(confirmation), binding)

    def confirmation_of(self, sealed: str | None, binding: str | None) -> Confirmation | None:
        """The confirmation, if this portal sealed it for this session; else None."""
        data = self._unseal("confirmation", sealed, binding)
        return None if data is None else _confirmation(data)

    def shown(self, shown: Shown, binding: str, at: datetime) -> str:
        """What 「確認」 answered, for the cookie the GET it redirects to reads: sealed for
        its session with when, compressed (a browser keeps a cookie of at most 4 kB)."""
        return self._seal("shown", {
            "url": shown.url, "typed": shown.typed, "retype": list(shown.retype),
            "confirmation": shown.confirmation and _fields_of(shown.confirmation),
            "errors": [attrs.astuple(error) for error in shown.errors],
            "at": _seconds(at)}, binding, packed=True)

    def shown_of(self, sealed: str | None, binding: str | None, now: datetime,
                 max_age: timedelta) -> Shown | None:
        """What 「確認」 answered, if this portal sealed it for this session less than
        ``max_age`` ago; else None."""
        data = self._unseal("shown", sealed, binding, packed=True)
        if data is None or not _younger(data.get("at"), now, max_age):
            return None
        return Shown(str(data["url"]), dict(data["typed"]), tuple(data["retype"]),
                     data["confirmation"] and _confirmation(data["confirmation"]),
                     tuple(FieldError(*error) for error in data["errors"]))

    def _seal(self, purpose: str, data: dict[str, Any], binding: str,
              packed: bool = False) -> str:
        """``data`` encrypted and authenticated (AES-GCM, the library's cipher), with a MAC
        of what it is bound to inside (never the session's id or the browser's value);
        ``packed``: compressed first. (A compressed seal's length tells something of its
        content; only the user's own input of a form behind its CSRF token is packed, where
        no one else can add text to compare lengths with.)"""
        inside = json.dumps(data | {"for": self._mac(purpose, binding)},
                            ensure_ascii=False).encode()
        plain = _ZLIB.compress(inside) if packed else inside
        return base64.urlsafe_b64encode(self._sealer.encrypt(plain)).decode()

    def _unseal(self, purpose: str, sealed: str | None, binding: str | None,
                packed: bool = False) -> dict[str, Any] | None:
        """What ``_seal`` sealed for this purpose and binding; None for anything else."""
        if not sealed or not binding:
            return None
        try:
            plain = self._sealer.decrypt(
                base64.urlsafe_b64decode(sealed.encode("utf-8", "surrogateescape")))
            data: dict[str, Any] = json.loads(_ZLIB.decompress(plain) if packed else plain)
        except (ValueError, zlib.error):  # not base64, altered, another secret's
            return None
        return data if _same(self._mac(purpose, binding), str(data.get("for"))) else None


_ZLIB = ZlibCompressor()  # (Japanese text and its labels: about half their size)


def _fields_of(confirmation: Confirmation) -> dict[str, Any]:
    return {"form": confirmation.form.name, "values": confirmation.values,
            "labels": confirmation.labels, "target_id": str(confirmation.target_id),
            "version": confirmation.version}


def _confirmation(data: dict[str, Any]) -> Confirmation:
    return Confirmation(Form[data["form"]], data["values"], data["labels"],
                        UUID(data["target_id"]), int(data["version"]))


def _seconds(instant: datetime) -> int:
    """An instant as a cookie carries it: whole seconds since the epoch."""
    return (instant - _EPOCH) // timedelta(seconds=1)


def _younger(seconds: object, now: datetime, max_age: timedelta) -> bool:
    """Whether what was signed or sealed at ``seconds`` (as ``_seconds`` wrote it) is still
    younger than ``max_age``: the server's own check of a cookie's age."""
    return type(seconds) is int and now < _EPOCH + timedelta(seconds=seconds) + max_age


def _same(expected: str, given: str) -> bool:
    """Constant-time equality of a MAC and what a browser sent, whatever it sent (a str
    comparison refuses non-ASCII text: a cookie or a field of garbage is simply wrong)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape"))


def new_browser_value() -> str:
    return secrets.token_urlsafe(32)
