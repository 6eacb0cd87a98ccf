"""D-8: instants are stored in UTC and shown in Japan time, as the manual shows them; the
screens, the mails, the audit and the reports all show them so."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")


def jst(moment: datetime, seconds: bool = False) -> str:
    """2015/01/16 09:58, as the manual shows 前回ログイン (audits add the seconds)."""
    t = moment.astimezone(JST)  # (strftime's parsing cost more than the conversion)
    shown = f"{t.year:04d}/{t.month:02d}/{t.day:02d} {t.hour:02d}:{t.minute:02d}"
    return f"{shown}:{t.second:02d}" if seconds else shown
