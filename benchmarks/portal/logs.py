"""The run's logs: read whole, and searched for any secret the people had."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # the shape of a session id


def secrets_in_logs(logs: list[Path], mailbox: Path, session_digests: set[str],
                    passwords: list[str]) -> list[str]:
    """What of a secret a log holds: the password, any key mailed in the run (read from
    the mailbox), any session id the people were given (found by its SHA-256)."""
    text = "\n".join(p.read_text(errors="replace") for p in logs if p.exists())
    found = [f"password {p[:2]}…" for p in passwords if p in text]
    keys = set()
    for mail in mailbox.glob("*.eml"):
        keys.update(re.findall(r"通知キー: (\d{12})", mail.read_bytes().decode(errors="replace")))
    found += [f"key {k[:2]}…" for k in keys if k in text]
    found += ["a session id" for token in set(TOKEN.findall(text))
              if hashlib.sha256(token.encode()).hexdigest() in session_digests]
    return found


def lines(*logs: Path) -> list[str]:
    return [line for log in logs if log.exists()
            for line in log.read_text(errors="replace").splitlines()]
