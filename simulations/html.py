"""One self-contained HTML page for people to read and hand on: a single file with its styles,
scripts and images inline (PNG and WebP as data: URIs, charts as inline SVG), so it opens offline,
from a mail attachment or a file share, and prints well. Nothing here fetches anything.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

BASE_STYLE = """
:root{--ok:#1e7b34;--bad:#b3261e;--none:#777;--line:#c8c8c8}
body{font-family:"Noto Sans CJK JP","Hiragino Sans","Yu Gothic",Meiryo,sans-serif;
 max-width:72em;margin:1.5em auto;padding:0 1em;color:#222;line-height:1.5}
h1{font-size:1.5em;margin-bottom:.2em}h2{border-bottom:2px solid #369;padding-bottom:.15em}
table{border-collapse:collapse;margin:.4em 0}
td,th{border:1px solid var(--line);padding:.15em .6em;vertical-align:top}
th{background:#0a3c780d;text-align:left}/* (translucent: a scroll shadow shows through) */
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}figcaption{color:#555;font-size:.9em}
img,svg.picture{max-width:100%;height:auto;border:1px solid #ddd}select,input{max-width:100%}
svg.pictures{position:absolute}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em;border:1px solid #ddd;overflow-x:auto}
small,.meta{color:#555}
.note{border-left:4px solid #8a5a00;padding:.3em .8em;background:#fff8e6}
@media screen and (max-width:40em){
 table{display:block;overflow-x:auto;max-width:100%;  /* a table wider: shadows at its cut edges */
  background:linear-gradient(to right,#fff 30%,#fff0) left/2em 100% no-repeat local,
  linear-gradient(to left,#fff 30%,#fff0) right/2em 100% no-repeat local,
  linear-gradient(to right,#0003,#0000) left/.7em 100% no-repeat scroll,
  linear-gradient(to left,#0003,#0000) right/.7em 100% no-repeat scroll}
 thead th{white-space:nowrap}td{min-width:5em}td.num{min-width:0}
}
@media print{
 body{max-width:none;margin:0;font-size:10pt}
 details::details-content{content-visibility:visible;display:block}
 .no-print{display:none!important}
 figure,table,details,pre{break-inside:avoid}
 a{color:inherit;text-decoration:none}
}
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def table(head: Sequence[str], rows: Iterable[Sequence[str]], *, numeric_from: int | None = None,
          row_classes: Sequence[str] | None = None) -> str:
    """A table of already-escaped cells; columns from ``numeric_from`` on align right."""
    def cell(tag: str, i: int, value: str) -> str:
        numeric = numeric_from is not None and i >= numeric_from
        return f'<{tag}{" class=num" if numeric else ""}>{value}</{tag}>'

    head_row = "".join(cell("th", i, h) for i, h in enumerate(head))
    body = []
    for n, row in enumerate(rows):
        css = f' class="{row_classes[n]}"' if row_classes and row_classes[n] else ""
        body.append(f"<tr{css}>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>")
    return f"<table><thead><tr>{head_row}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def png_data_uri(png: bytes) -> str:
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("not a PNG image")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


MAX_WIDTH = 1280  # the portal's screenshots' width: kept whole, larger ones are shrunk


def small_webp(png: bytes) -> tuple[bytes, int, int]:
    """A screenshot made small enough to carry hundreds in one page, and its width and
    height: at most ``MAX_WIDTH`` pixels wide, on a palette of 64 colours, as lossless WebP.
    A screen's flat colours and text fit such a palette; kept pixel for pixel it stays crisp
    when shown whole and is a fifth smaller than a lossy WebP shrunk to 1100 pixels (a
    full-size PNG of every step made a 50 MB report)."""
    from PIL import Image  # (here: the pages without screenshots, the auditor's, need no PIL)

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.thumbnail((MAX_WIDTH, MAX_WIDTH * 4))
    out = io.BytesIO()
    image.quantize(64).convert("RGB").save(out, format="WEBP", lossless=True, quality=100,
                                           method=4)
    return out.getvalue(), image.width, image.height


@attrs.define
class Pictures:
    """A page's screenshots, each stored once however often it is shown (the page's styles
    size each showing): the first showing defines an SVG ``<image>`` and every showing
    ``<use>``s it. The same screen recurs in many scenarios: stored at each showing, a third
    of the features report was copies. No script: it reads and prints the same."""
    _ids: dict[bytes, tuple[str, int, int]] = attrs.field(factory=dict)
    _images: list[str] = attrs.field(factory=list)

    def show(self, png: bytes, label: str) -> str:
        key = hashlib.sha256(png).digest()
        if key not in self._ids:
            webp, w, h = small_webp(png)
            ident = f"picture-{len(self._ids)}"
            self._ids[key] = (ident, w, h)
            uri = "data:image/webp;base64," + base64.b64encode(webp).decode("ascii")
            self._images.append(f'<image id="{ident}" width="{w}" height="{h}" href="{uri}"/>')
        ident, w, h = self._ids[key]
        return (f'<svg class="picture" role="img" aria-label="{esc(label)}" width="{w}" '
                f'height="{h}" viewBox="0 0 {w} {h}"><use href="#{ident}"/></svg>')

    def stored(self) -> str:
        """The pictures themselves, for the page's end (its text so shows first)."""
        if not self._images:
            return ""
        return ('<svg class="pictures" width="0" height="0" aria-hidden="true"><defs>'
                + "".join(self._images) + "</defs></svg>")


def png_figure(path: Path, caption: str) -> str:
    """A PNG file embedded in the page (the page keeps no link to the file)."""
    return (f'<figure><img src="{png_data_uri(path.read_bytes())}" alt="{esc(caption)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def page(title: str, body: str, *, style: str = "", script: str = "") -> str:
    """The whole document; ``script`` only enhances: the page reads the same without it."""
    scripts = f"<script>{script}</script>" if script else ""
    return (f'<!doctype html><html lang="ja"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{esc(title)}</title><style>{BASE_STYLE}{style}</style></head>"
            f"<body>{body}{scripts}</body></html>")


Segment = tuple[str, int, str]  # name, count, colour


def stacked_bars(rows: Sequence[tuple[str, Sequence[Segment]]], title: str) -> str:
    """An inline SVG chart: each row's label, its bar (segments side by side), and the counts
    under the bar (so the chart reads in black and white too). Narrow, one thing a line, so
    that on a phone it shrinks little and its words stay legible."""
    width, label_height, bar_height, counts_height, gap = 400, 18, 16, 16, 10
    longest = max((sum(n for _, n, _ in segments) for _, segments in rows), default=0) or 1
    parts, y = [], 0
    for label, segments in rows:
        parts.append(f'<text x="0" y="{y + 13}" font-size="13">{esc(label)}</text>')
        x, y = 0.0, y + label_height
        for name, count, colour in segments:
            w = width * count / longest
            if w:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_height}" '
                             f'fill="{colour}"><title>{esc(name)} {count}</title></rect>')
            x += w
        counts = " / ".join(f"{name} {count}" for name, count, _ in segments)
        y += bar_height
        parts.append(f'<text x="0" y="{y + 13}" font-size="12">{esc(counts)}</text>')
        y += counts_height + gap
    return (f'<svg role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {max(y, 1)}" '
            f'width="{width}" style="max-width:100%;height:auto"><title>{esc(title)}</title>'
            f"{''.join(parts)}</svg>")
