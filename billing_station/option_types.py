"""Option types whose refusals read as the options' help does: click's IntRange said
"'abc' is not a valid integer range" of ``--days abc``."""

from __future__ import annotations

import click


class WholeNumber(click.IntRange):
    """A whole number within bounds: "'abc' is not a whole number"; out of bounds, click's
    own "0 is not in the range 1<=x<=3660"."""

    name = "whole number"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        try:
            number = int(value)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a whole number", param, ctx)
        return int(super().convert(number, param, ctx))

    def _describe_range(self) -> str:
        """No bounds, no range in the help (click's said "[x<=None]")."""
        return super()._describe_range() if (self.min, self.max) != (None, None) else ""
