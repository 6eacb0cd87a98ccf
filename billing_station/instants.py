"""The instants the auditor's commands take (as-of's INSTANT, a period's --from and --to):
ISO 8601 or as the screens show them, in JST unless an offset is given."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import click

from application.japan_time import JST

FORMATS = ("2015-01-16, 2015/01/16, 2015-01-16 10:00, 2015/01/16 10:00 or "
           "2015-01-16T10:00:00+09:00 (its seconds and offset optional: JST unless an "
           "offset is given; a date alone is its midnight)")
# What FORMATS lists (seconds, their fraction, an offset or Z optional), and nothing else
# datetime.fromisoformat would also take (2015-W03, 20150116, an hour alone).
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
                      r"(?:Z|[+-]\d{2}:\d{2})?)?", re.ASCII)


class Instant(click.ParamType):
    """An instant: ISO 8601 or as the screens show it (2015/01/16 10:00)."""

    name = "INSTANT"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        typed = str(value).strip().replace("/", "-")
        try:
            if not _INSTANT.fullmatch(typed):
                raise ValueError(typed)
            moment = datetime.fromisoformat(typed)
        except ValueError:
            self.fail(f"{value!r} is not an instant: use {FORMATS}", param, ctx)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=JST)
        try:
            moment.astimezone(JST)  # shown in JST: it must be one
        except OverflowError:
            self.fail(f"{value!r} is no instant of years 1 to 9999 in JST", param, ctx)
        return moment


def _checked_period(ctx: click.Context, param: click.Parameter, until: datetime | None
                    ) -> datetime | None:
    since = ctx.params.get("since")
    if since is not None and until is not None and not since < until:
        raise click.BadParameter(("the period is empty" if since == until else
                                  "the period ends before it begins")
                                 + ": --to must be after --from (--to is exclusive)", ctx, param)
    return until


PERIOD = [
    click.option("--from", "since", type=Instant(), is_eager=True,
                 help=f"Start of the period (inclusive): {FORMATS}."),
    click.option("--to", "until", type=Instant(), callback=_checked_period,
                 help="End of the period (exclusive), in the same formats."),
]


def period(command: Any) -> Any:
    for option in reversed(PERIOD):
        command = option(command)
    return command
