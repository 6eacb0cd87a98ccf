"""Mail through an SMTP server, when one is configured."""

from __future__ import annotations

import smtplib
import time
from typing import Any

from application.messages import Mail, NotOneAddress, mime
from application.ports import MailError


class SMTPMailer:
    """Hands each mail to an SMTP server (STARTTLS and login when configured), the whole
    conversation within ``timeout`` seconds: a server slower than that is a failed mail, so
    the screen can say so before the portal's request deadline."""

    def __init__(
        self, host: str, port: int = 25, user: str | None = None, password: str | None = None,
        starttls: bool = False, timeout: float = 5.0,
    ):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, mail: Mail) -> None:
        try:
            message = mime(mail)  # (before a connection: one that cannot be sent is no call)
        except NotOneAddress as e:
            raise MailError(str(e)) from e
        try:
            smtp = _Bounded(self.host, self.port, self.timeout)
            try:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message, to_addrs=[mail.to])  # (its one To, and no other)
            finally:
                _say_goodbye(smtp)
        except (OSError, smtplib.SMTPException) as e:
            raise MailError(f"SMTPサーバ {self.host}:{self.port} に送信できません: {e}") from e


def _say_goodbye(smtp: smtplib.SMTP) -> None:
    """QUIT, whatever its answer: by then the server has taken the mail or not, so a goodbye
    other than 221 or past the deadline is no failed mail (smtplib's ``with`` raised both)."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


class _Bounded(smtplib.SMTP):
    """smtplib's client with one deadline for the whole conversation: smtplib's own timeout
    is per step, so a server answering each step just in time would take several times it."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self._until = time.monotonic() + timeout
        super().__init__(host, port, timeout=timeout)

    def send(self, s: Any) -> None:  # (typeshed's Buffer | str; Buffer is Python 3.12's)
        self._bound()
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        self._bound()
        return super().getreply()

    def _bound(self) -> None:
        left = self._until - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        if self.sock is not None:
            self.sock.settimeout(left)
