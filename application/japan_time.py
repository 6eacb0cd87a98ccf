"""D-8: instants are stored in UTC and shown in Japan time, as the manual shows them; the
screens, the mails, the audit and the reports all show them so, and spans of time in one
wording."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")


def jst(moment: datetime, seconds: bool = False) -> str:
    """2015/01/16 09:58, as the manual shows 前回ログイン (audits add the seconds)."""
    t = moment.astimezone(JST)  # (strftime's parsing cost more than the conversion)
    shown = f"{t.year:04d}/{t.month:02d}/{t.day:02d} {t.hour:02d}:{t.minute:02d}"
    return f"{shown}:{t.second:02d}" if seconds else shown


def span(seconds: float, minute: str = "分", second: str = "秒") -> str:
    """A span as a person reads it: 10分, or 90秒 when it is no whole minutes (a key mail's
    90 s read "1.5分間", a tampered event's 5 s "0.0833333 minutes"); the terminal's units
    (" min", " s") given."""
    whole = round(seconds)
    return f"{whole // 60:,}{minute}" if whole % 60 == 0 else f"{whole:,}{second}"
