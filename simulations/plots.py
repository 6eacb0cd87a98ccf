"""PNG plots where a person would rather look than read, labelled in Japanese.

The Japanese font is Debian's Noto Sans CJK (fonts-noto-cjk, which ``./go system-packages``
installs), found through matplotlib's font manager; without it the plots would show boxes
instead of text, so they are not drawn and JapaneseFontMissing says what to install.
"""

from __future__ import annotations

import functools
import math
import textwrap
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, PercentFormatter

from simulations.minute_axis import minute_axis
from simulations.report import Report
from simulations.run_folder import (
    COMPARE_OUTCOMES,
    COMPARE_TIME_TO_LOGIN,
    EXPIRIES_BY_HOUR,
    TIME_TO_LOGIN,
)
from simulations.varied import VALIDITY, Varied
from simulations.wording import percent

FONT_FAMILIES = ("Noto Sans CJK JP", "Noto Sans JP")
class JapaneseFontMissing(RuntimeError):
    pass


@functools.cache
def japanese_font() -> str:
    """The family name of the installed Noto Sans CJK JP, registered with matplotlib (its
    font cache may predate the package's installation)."""
    for family in FONT_FAMILIES:
        if _known(family):
            return family
    for path in font_manager.findSystemFonts():
        if Path(path).name.startswith(("NotoSansCJK", "NotoSansJP")):
            font_manager.fontManager.addfont(path)
    for family in FONT_FAMILIES:
        if _known(family):
            return family
    raise JapaneseFontMissing(
        "no Japanese font for the plots: install Debian's fonts-noto-cjk "
        "(./go system-packages, or apt-get install fonts-noto-cjk)")


def _known(family: str) -> bool:
    return any(f.name == family for f in font_manager.fontManager.ttflist)


@contextmanager
def _japanese() -> Iterator[None]:
    with matplotlib.rc_context({"font.family": [japanese_font()], "axes.unicode_minus": False}):
        yield


def single(r: Report, folder: Path) -> list[Path]:
    return [time_to_login([r], folder / TIME_TO_LOGIN, split=bool(r.attacked_addresses)),
            expiries_by_hour(r, folder / EXPIRIES_BY_HOUR)]


def compare(reports: list[Report], folder: Path, varied: Varied = VALIDITY) -> list[Path]:
    return [time_to_login(reports, folder / COMPARE_TIME_TO_LOGIN, varied=varied),
            compare_bars(reports, folder / COMPARE_OUTCOMES, varied)]


def time_to_login(reports: list[Report], path: Path, split: bool = False,
                  varied: Varied = VALIDITY) -> Path:
    """Share of all visits logged in by each time, one curve per run (named by the value
    of what was ``varied``), the key validity marked with a dashed line (of each curve's
    colour when the validity is what varies); ``split`` (one run with a credential
    stuffer, D-14): the visits behind its addresses and the others' too, each a share of
    its own. Runs compared get a second panel, the top of the shares magnified: there the
    slow visits (a key expired, a re-login) part the curves the whole scale shows as one."""
    with _japanese():
        drawn = [r for r in reports if r.histogram and r.visits]
        zoomed = not split and _worth_magnifying(drawn)
        fig, axes = plt.subplots(2 if zoomed else 1, 1, squeeze=False,
                                 figsize=(8, 7.5 if zoomed else 4.5),
                                 height_ratios=[3, 2] if zoomed else [1])
        ax = axes[0][0]
        longest = max([1.0, *(max(max(r.histogram) / 60, r.validity_minutes) for r in drawn)])
        end = longest * 1.1  # (the axis's: each curve runs to it at the share it reached)
        _curves(ax, drawn, end, varied, split)
        ax.set_xlabel("最初の「ログイン」からトップページまでの時間 (分、1分より先は対数目盛)")
        ax.set_ylabel("ログインできた割合 (それぞれの訪問に対して)" if split
                      else "ログインできた訪問の割合 (全訪問に対して)")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"ログインまでの時間: {reports[0].scenario}")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=9)  # (where it hides the least of the curves)
        else:
            _nothing(ax, "ログインした訪問はありません", keep_ticks=True)
        if zoomed:
            _magnified(axes[1][0], drawn, end, varied)
        return _save(fig, path)


def _curves(ax: plt.Axes, drawn: list[Report], end: float, varied: Varied, split: bool,
            labelled: bool = True) -> None:
    """Each run's curve (and, ``split``, its two groups'), its validity's dashed line, on a
    minute axis to ``end``, the shares in percent."""
    for i, r in enumerate(drawn):
        minutes = sorted(s / 60 for s in r.histogram)
        label = (f"{'全員、' if split else ''}{varied.label(varied.value(r))} "
                 f"(ログイン {r.logged_in:,}/{r.visits:,})") if labelled else "_"
        line = _share_by_time(ax, minutes, r.visits, label, end,
                              linewidth=_compared_line_width(i, len(drawn)))
        if split:
            for part, name, style in (
                    (r.exposed, "攻撃元と同じアドレスの利用者",
                     {"color": "tab:red", "linewidth": 2.2}),
                    (r.unexposed, "それ以外の利用者",
                     {"color": "tab:green", "linestyle": "-.", "linewidth": 1.2})):
                if part.count:
                    _share_by_time(ax, sorted(s / 60 for s in part.seconds), part.count,
                                   f"{name} ({part.logged_in:,}/{part.count:,})", end,
                                   **style)
        if varied is VALIDITY:  # (else every run has the same: marked once, below)
            _validity_line(ax, r.validity_minutes, line.get_color())
    if varied is not VALIDITY and drawn:
        _validity_line(ax, drawn[0].validity_minutes, "gray")
    minute_axis(ax, end)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(True, alpha=0.3)


def _worth_magnifying(drawn: list[Report]) -> bool:
    """Compared curves that differ, each run's reaching half its visits or more: their top
    is worth a panel (below half, the whole scale is the one to read)."""
    return (len({(r.visits, tuple(sorted(r.histogram))) for r in drawn}) > 1
            and all(r.logged_in / r.visits >= 0.5 for r in drawn))


def _magnified(ax: plt.Axes, drawn: list[Report], end: float, varied: Varied) -> None:
    """The compared curves again, the shares from the last tenth (or from below the lowest
    a run reached) to all."""
    floor = min([0.9, *(r.logged_in / r.visits - 0.02 for r in drawn)])
    _curves(ax, drawn, end, varied, split=False, labelled=False)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(max(0.0, math.floor(floor * 20 + 1e-9) / 20), 1.005)  # (to a 5% step)
    ax.set_title("上の図の上端を拡大 (ログインに時間のかかった訪問の差)", fontsize=10)
    ax.set_ylabel("ログインできた訪問の割合", fontsize=9)


def _validity_line(ax: plt.Axes, minutes: float, color: Any) -> None:
    ax.axvline(minutes, color=color, linestyle="--", linewidth=1)
    ax.annotate(VALIDITY.label(minutes), (minutes, 0.02), xycoords=("data", "axes fraction"),
                xytext=(-2, 0), textcoords="offset points",  # (beside the line, not on it)
                rotation=90, fontsize=8, color=color, ha="right", va="bottom")


def _compared_line_width(i: int, curves: int) -> float:
    """The ``i``th compared curve's width: each thinner than the one drawn before it, so
    runs that coincide (a validity no key outlived) show one inside the other, not one."""
    return 1.5 + 2.5 * (curves - 1 - i) / max(1, curves - 1)


def _share_by_time(ax: plt.Axes, minutes: list[float], visits: int, label: str,
                   end: float, **style: Any) -> Line2D:
    """One curve: the share of ``visits`` logged in by each time (``minutes``, sorted), a
    step at each login, from none at 0 to the share reached, held to ``end`` (so logins
    all at one time, 0 s too, show as a step and its level, not as a point)."""
    shares = [(i + 1) / visits for i in range(len(minutes))]
    (line,) = ax.step([0.0, *minutes, end], [0.0, *shares, shares[-1] if shares else 0.0],
                      where="post", label=label, **style)
    return line


def expiries_by_hour(r: Report, path: Path) -> Path:
    """Keys that expired before entry, by the hour (JST) of their login, over every hour
    people log in (runs of one scenario share the axis)."""
    with _japanese():
        fig, ax = plt.subplots(figsize=(8, 4))
        span = hours_shown(r)
        if span:
            counts = [r.expiries_by_hour.get(h, 0) for h in span]
            bars = ax.bar(range(len(span)), counts, color="#c0504d")
            ax.bar_label(bars, [expiry_label(n, r.keys_by_hour.get(h, 0)) for n, h in zip(
                counts, span, strict=True)], fontsize=7)  # (a busy hour, or a worse one?)
            ax.set_ylim(0, max(counts) * 1.2)  # (room for the tallest bar's two lines)
            every = 1 if len(span) <= HOURS_LABELLED else 2  # 24 labels would run together
            ax.set_xticks(range(0, len(span), every), [f"{int(h)}時" for h in span[::every]])
        else:
            _nothing(ax, "期限切れになった通知キーはありません")
        _counted(ax, "「ログイン」を押した時刻 (日本時間)",
                 "入力前に期限切れになった通知キー (件)\n(その時間帯に発行した通知キーの数と割合)",
                 f"時間帯別の期限切れ: {r.scenario} ({VALIDITY.label(r.validity_minutes)})")
        return _save(fig, path)


def expiry_label(expired: int, keys: int) -> str:
    """A bar's label: its count, of that hour's keys, and the share (1/3 is no worst hour)."""
    return f"{expired:,}" if not keys else f"{expired:,}/{keys:,}\n({percent(expired, keys)})"


HOURS_LABELLED = 16  # hours that fit a label each on the expiries' axis; more: every other


def hours_shown(r: Report) -> list[str]:
    """Every hour the report counts (those people log in, any other with an expiry), a
    quiet hour between busy ones too (its zero is a count); none when nothing expired."""
    hours = [int(h) for h in r.expiries_by_hour]
    if not any(r.expiries_by_hour.values()):
        return []
    return [f"{h:02d}" for h in range(min(hours), max(hours) + 1)]


MEASURES: dict[str, Callable[[Report], int]] = {
    "期限切れ": lambda r: r.outcomes["expired"],
    "再発行された通知キー": lambda r: r.keys_reissued,
    "サポートへの連絡 (LG-8)": lambda r: sum(r.support.values()),
    "ロック (D-4)": lambda r: r.outcomes["locked"],
    "送信上限で送らず (D-10)": lambda r: r.outcomes["key_withheld"],
    "ログインできなかった訪問": lambda r: r.not_logged_in,
    "利用者の拒否 (D-14)": lambda r: r.throttled,
    "待つよう言われて断念 (D-14)": lambda r: r.gave_up,
}


def measures_shown(reports: list[Report]) -> dict[str, Callable[[Report], int]]:
    return {name: m for name, m in MEASURES.items() if any(m(r) for r in reports)}


def compare_bars(reports: list[Report], path: Path, varied: Varied = VALIDITY) -> Path:
    """The counts that differ between policies; a measure that is zero everywhere is left out."""
    measures = measures_shown(reports)
    with _japanese():
        fig, ax = plt.subplots(figsize=(max(8.0, 1.6 * len(measures)), 4.5))  # (labels fit)
        if measures:
            width = 0.8 / len(reports)
            for i, r in enumerate(reports):
                xs = [j + i * width for j in range(len(measures))]
                bars = ax.bar(xs, [m(r) for m in measures.values()], width,
                              label=varied.label(varied.value(r)))
                ax.bar_label(bars, fmt="{:,.0f}", fontsize=8)
            ax.set_xticks([j + width * (len(reports) - 1) / 2 for j in range(len(measures))],
                          [_wrapped(name) for name in measures])
            ax.legend()
        else:
            _nothing(ax, "どの条件でも 0 件です")
        _counted(ax, "数えたもの (全期間)", "件数", f"{varied.name_ja}による違い: {reports[0].scenario}")
        return _save(fig, path)


def _wrapped(name: str) -> str:
    """A bar's label in lines of up to 10 characters, its rule below (so 7 fit)."""
    head, _, rule = name.partition(" (")
    return "\n".join(textwrap.wrap(head, 10) + ([f"({rule}"] if rule else []))


def _counted(ax: plt.Axes, xlabel: str, ylabel: str, title: str) -> None:
    """A bar chart of counts: its axes named, whole numbers on the count axis."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)


def _nothing(ax: plt.Axes, why: str, keep_ticks: bool = False) -> None:
    """An empty plot says why it is empty, in the middle (a time axis keeps its ticks)."""
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes)
    if not keep_ticks:
        ax.set_xticks([])


def _save(fig: plt.Figure, path: Path) -> Path:
    """The figure laid out to fit; one too crowded for that (a comparison of dozens of
    runs: its legend) grows its picture to hold everything, rather than a warning of
    matplotlib's on the terminal."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.tight_layout()
    crowded = [w for w in caught if "Tight layout not applied" in str(w.message)]
    for other in (w for w in caught if w not in crowded):  # (any other: said as it was)
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    fig.savefig(path, dpi=110, bbox_inches="tight" if crowded else None)
    plt.close(fig)
    return path
