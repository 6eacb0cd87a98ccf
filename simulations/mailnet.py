"""The simulated people's mail: the application mails real messages (the same key_mail the
product sends); this transport hands each one to its addressee's inbox, where the runner
delivers it after a delay drawn from the scenario (or loses it)."""

from __future__ import annotations

from email.message import EmailMessage

from application.messages import key_in


class MailNetwork:
    """A Mailer (application.ports) whose recipients are the simulation's people."""

    def __init__(self) -> None:
        self.sent: dict[str, list[EmailMessage]] = {}
        self.count = 0

    def send(self, message: EmailMessage) -> None:
        self.sent.setdefault(str(message["To"]), []).append(message)
        self.count += 1

    def take_key(self, to: str) -> str | None:
        """The key of the latest mail to ``to`` (the one just sent), read as a person would."""
        for message in reversed(self.sent.pop(to, [])):
            if "通知キー" in str(message["Subject"]):
                return key_in(message)
        return None
