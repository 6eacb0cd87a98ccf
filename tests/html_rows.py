"""A page's table rows as a person reads them: each row's first cell, and the cells after it
(tags and the spaces around them dropped, an indent's too; entities kept), so that a test
can say which number each row shows."""

from __future__ import annotations

import re


def table_rows(page: str) -> dict[str, list[str]]:
    """Each body row by the text of its first cell; a label twice is an error (a row shown under
    another's label would otherwise hide behind it)."""
    rows: dict[str, list[str]] = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, flags=re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        if cells:
            assert cells[0] not in rows, f"two rows labelled {cells[0]!r}"
            rows[cells[0]] = cells[1:]
    return rows
