"""What the application needs from the outside, named by the application: a way to mail.
The adapters (application.adapters) implement it; the composition root picks one."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol


class MailError(Exception):
    """The mail could not be handed over; nothing recorded is lost."""


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...
