"""PNG plots where a person would rather look than read. Labels are English: the machines
this runs on may have no Japanese font."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from simulations.report import Report


def single(r: Report, folder: Path) -> list[Path]:
    return [_time_to_login([r], folder / "time-to-login.png"),
            _expiries_by_hour(r, folder / "expiries-by-hour.png")]


def compare(reports: list[Report], folder: Path) -> list[Path]:
    return [_time_to_login(reports, folder / "compare-time-to-login.png"),
            _compare_bars(reports, folder / "compare-outcomes.png")]


def _time_to_login(reports: list[Report], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for r in reports:
        minutes = sorted(s / 60 for s in r.histogram)
        if minutes:  # over all visits: the curve levels off at the share that got in
            ax.plot(minutes, [(i + 1) / r.visits for i in range(len(minutes))],
                    label=r.policy.split(",")[0])
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("minutes from the first 'log in' to the top page")
    ax.set_ylabel("share of visits logged in")
    ax.set_title(f"Time to log in: {reports[0].scenario}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    return _save(fig, path)


def _expiries_by_hour(r: Report, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4))
    hours = [f"{h:02d}" for h in range(24)]
    ax.bar(hours, [r.expiries_by_hour.get(h, 0) for h in hours], color="#c0504d")
    ax.set_xlabel("hour of the login (JST)")
    ax.set_ylabel("keys expired before entry")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Expired keys by hour of day: {r.scenario} ({r.policy.split(',')[0]})")
    return _save(fig, path)


def _compare_bars(reports: list[Report], path: Path) -> Path:
    measures = {
        "keys expired": lambda r: r.outcomes["expired"],
        "keys re-issued": lambda r: r.keys_reissued,
        "support contacts": lambda r: sum(r.support.values()),
        "locked": lambda r: r.outcomes["locked"],
    }
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(reports)
    for i, r in enumerate(reports):
        xs = [j + i * width for j in range(len(measures))]
        ax.bar(xs, [m(r) for m in measures.values()], width, label=r.policy.split(",")[0])
    ax.set_xticks([j + width * (len(reports) - 1) / 2 for j in range(len(measures))],
                  list(measures))
    ax.set_title(f"Policies compared: {reports[0].scenario}")
    ax.legend()
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
