"""Mail through an SMTP server, when one is configured."""

from __future__ import annotations

import smtplib

from application.messages import Mail, mime
from application.ports import MailError


class SMTPMailer:
    """Hands each mail to an SMTP server (STARTTLS and login when configured)."""

    def __init__(
        self, host: str, port: int = 25, user: str | None = None, password: str | None = None,
        starttls: bool = False, timeout: float = 10.0,
    ):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.timeout = starttls, timeout

    def send(self, mail: Mail) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(mime(mail))
        except (OSError, smtplib.SMTPException) as e:
            raise MailError(f"SMTPサーバ {self.host}:{self.port} に送信できません: {e}") from e
