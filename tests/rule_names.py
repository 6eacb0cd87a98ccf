"""Tests are named by the rules they prove: test_LG_5_…, test_D_2_and_D_4_… ."""

from __future__ import annotations

import re

_LEADING = re.compile(r"(CI|LG|SB|SC|D)_(\d+)_(?:and_)?")


def rules_named(test: str) -> list[str]:
    """The rule ids ``test``'s name begins with: test_D_2_and_D_4_keys… → D-2, D-4."""
    rest, found = test.removeprefix("test_"), []
    while leading := _LEADING.match(rest):
        found.append(f"{leading[1]}-{leading[2]}")
        rest = rest[leading.end():]
    return found
