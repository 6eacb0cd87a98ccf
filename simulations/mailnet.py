"""The simulated people's mail: the application mails real messages (the same key_mail the
product sends); this transport hands each one to its addressee's inbox, where the runner
delivers it after a delay drawn from the scenario (or loses it)."""

from __future__ import annotations

from application.messages import Mail, is_key_mail, key_in


class MailNetwork:
    """A Mailer (application.ports) whose recipients are the simulation's people."""

    def __init__(self) -> None:
        self.sent: dict[str, list[Mail]] = {}
        self.count = 0

    def send(self, mail: Mail) -> None:
        self.sent.setdefault(mail.to, []).append(mail)
        self.count += 1

    def take_key(self, to: str) -> str | None:
        """The key of the latest mail to ``to`` (the one just sent), read as a person would."""
        for mail in reversed(self.sent.pop(to, [])):
            if is_key_mail(mail):
                return key_in(mail)
        return None
