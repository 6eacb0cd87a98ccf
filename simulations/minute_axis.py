"""The time axis of the time-to-login plots: minutes from 0, linear to the first minute
and logarithmic beyond, its ticks the likeliest to be looked for that do not run into one
another at the size the figure is drawn."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.textpath import text_to_path
from matplotlib.ticker import FuncFormatter, Locator, NullLocator

# The time axis's ticks (minutes), the likeliest to be looked for first: _MinuteTicks shows
# one only where its label clears the labels of those before it here.
MINUTE_TICKS = (0, 1, 10, 60, 5, 30, 1440, 120, 240, 0.5, 2, 15, 480, 3, 20, 45, 90, 180,
                720, 360)


def minute_axis(ax: Axes, end: float) -> None:
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(0, end)
    ax.xaxis.set_major_locator(_MinuteTicks(ax))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(_minutes_label))


class _MinuteTicks(Locator):
    """MINUTE_TICKS within the axis, taken in their order, each kept only if its label stays
    half a character clear of every label kept before it, at the size the figure is drawn
    (on the log part, 10分 15分 20分 or 45分 60分 90分 would run together)."""

    def __init__(self, ax: Axes) -> None:
        self.ax = ax

    def __call__(self) -> list[float]:
        vmin, vmax = self.ax.get_xlim()
        return self.tick_values(vmin, vmax)

    def tick_values(self, vmin: float, vmax: float) -> list[float]:
        lo, hi = sorted((vmin, vmax))
        prop = self.ax.xaxis.majorTicks[0].label1.get_fontproperties()
        pixels = self.ax.figure.dpi / 72
        gap = prop.get_size_in_points() * pixels / 2
        kept: list[tuple[float, float, float]] = []  # minutes, centre and half width (px)
        for minutes in (t for t in MINUTE_TICKS if lo <= t <= hi):
            centre = self.ax.transData.transform((minutes, 0))[0]
            width, _, _ = text_to_path.get_text_width_height_descent(
                _minutes_label(minutes, 0), prop, ismath=False)
            half = width * pixels / 2
            if all(abs(centre - c) >= half + h + gap for _, c, h in kept):
                kept.append((minutes, centre, half))
        return sorted(t for t, _, _ in kept)


def _minutes_label(minutes: float, _: int) -> str:
    if minutes == 0:
        return "0"
    return f"{minutes * 60:g}秒" if minutes < 1 else f"{minutes:g}分"
