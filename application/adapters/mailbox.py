"""The embedded mail transport: each mail an .eml file a person can open."""

from __future__ import annotations

import fcntl
import re
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from application.messages import Mail, NotOneAddress, mime
from application.ports import MailError


def _file_part(recipient: str) -> str:
    """The recipient as part of a file name: a valid address may hold "/" or be 255
    characters long (CI-2), so only safe characters, and at most 64 of them."""
    return re.sub(r"[^A-Za-z0-9@._+-]", "_", recipient)[:64]


def _number(path: Path) -> int:
    """A mail's number, from its file name (0 for a file not named by this folder)."""
    first = path.name.split("-", 1)[0]
    return int(first) if first.isdigit() else 0


class MailboxFolder:
    """Writes each mail to ``folder/<n>-<random>-<recipient>.eml``, open it with any mail
    reader. ``n`` orders the mails (clocks may be frozen), counted in ``folder/.sequence``
    under a lock, so processes writing at once take turns and no send lists the folder;
    the random part keeps a copied or restored folder's names apart."""

    def __init__(self, folder: Path):
        self.folder = folder

    def send(self, mail: Mail) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            number = self._next_number()
            name = f"{number:06d}-{uuid.uuid4().hex[:8]}-{_file_part(mail.to)}.eml"
            (self.folder / name).write_bytes(bytes(mime(mail)))
        except NotOneAddress as e:
            raise MailError(str(e)) from e
        except OSError as e:
            raise MailError(f"メールボックス {self.folder} に書き込めません: {e}") from e

    def _next_number(self) -> int:
        with open(self.folder / ".sequence", "a+", encoding="ascii") as sequence:
            fcntl.flock(sequence, fcntl.LOCK_EX)  # released when the file closes
            sequence.seek(0)
            last = sequence.read().strip()
            number = (int(last) if last.isdigit()  # else a folder from before the counter
                      else max(map(_number, self.folder.glob("*.eml")), default=0)) + 1
            sequence.seek(0)
            sequence.truncate()
            sequence.write(str(number))
        return number

    def files(self) -> list[Path]:
        """Every mail's file, oldest first: by its number (by name, 1000000-… would come
        before 999999-…); a folder named like one is none."""
        return sorted((p for p in self.folder.glob("*.eml") if p.is_file()),
                      key=lambda p: (_number(p), p.name)) if self.folder.is_dir() else []

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        """Every mail in the folder, oldest first (optionally only those to ``to``)."""
        return [m for m in map(read, self.files()) if to is None or m["To"] == to]


def read(path: Path) -> EmailMessage:
    """One mail's file, as a mail reader reads it."""
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)  # (policy.default's message class)
    return message
