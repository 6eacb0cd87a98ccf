"""What the application needs from the outside, named by the application: a way to mail.
The adapters (application.adapters) implement it; the composition root picks one."""

from __future__ import annotations

from typing import Protocol

from application.messages import Mail


class MailError(Exception):
    """The mail could not be handed over; nothing recorded is lost."""


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...
