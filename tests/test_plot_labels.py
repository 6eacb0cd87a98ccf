"""The plots' tick labels can be read: drawn at the size the PNG is written, no two visible
labels on an axis overlap (the time axis once ran 10分15分20分 and 45分60分90分 together)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.transforms import Bbox

from simulations import plots
from simulations.report import OUTCOMES, Report


def made(validity: float, longest: float, scenario: str = "office") -> Report:
    """A run whose visits logged in at times spread evenly, on a log scale, from 1 second to
    `longest` minutes, with something in every count the bar charts show."""
    visits, logged_in = 200, 190
    seconds = [(60 * longest) ** (i / (logged_in - 1)) for i in range(logged_in)]
    return Report(
        scenario=scenario, policy="", seed=1, days=30, hash_cost=4, people=50, visits=visits,
        logged_in=logged_in, support={"operator (main IDs)": 3}, attempts=visits,
        outcomes={o: 7 for o in OUTCOMES}, with_key=visits, without_key=0, keys_issued=visits,
        keys_reissued=11, seconds_to_login={}, events=1000, histogram=seconds,
        expiries_by_hour={f"{h:02d}": h % 5 for h in range(24)}, validity_minutes=validity,
        throttled=13, gave_up=2)


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[plt.Figure]]:
    """Every figure the plots save, kept (and drawn as saved) for a look at its labels."""
    figures: list[plt.Figure] = []
    save = plots._save

    def keep(fig: plt.Figure, path: Path) -> Path:
        figures.append(fig)
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", keep)
    yield figures


def overlapping_tick_labels(fig: plt.Figure) -> list[tuple[str, str]]:
    """The pairs of visible tick labels, on any axis of the figure, whose boxes overlap."""
    fig.set_dpi(110)  # as _save writes it, on the layout it gave the figure
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    pairs = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [(t.get_text(), t.get_window_extent(renderer))
                      for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            pairs += [(a, b) for i, (a, box) in enumerate(labels)
                      for b, other in labels[i + 1:] if overlap(box, other)]
    return pairs


def overlap(a: Bbox, b: Bbox) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


LONGEST = (0.4, 3, 25, 45, 100, 240, 1440)  # minutes


@pytest.mark.parametrize("longest", LONGEST)
def test_time_to_login_tick_labels_do_not_overlap_whatever_the_slowest_login(
        longest: float, drawn: list[plt.Figure], tmp_path: Path) -> None:
    reports = [made(5, longest), made(min(longest, 1440), longest)]
    plots.time_to_login(reports, tmp_path / "compare-time-to-login.png")
    plots.time_to_login(reports[:1], tmp_path / "time-to-login.png")
    for fig in drawn:
        ticks = [t.get_text() for t in fig.axes[0].xaxis.get_ticklabels() if t.get_text()]
        assert len(ticks) >= 3, ticks  # still a scale to read
        assert overlapping_tick_labels(fig) == []


@pytest.mark.parametrize("plot", [plots.compare, plots.single], ids=["compare", "single"])
def test_every_plot_a_run_writes_has_tick_labels_that_do_not_overlap(
        plot: Callable[..., list[Path]], drawn: list[plt.Figure], tmp_path: Path) -> None:
    """Every measure in the comparison's bars, every hour of the day in the expiries."""
    reports = [made(5, 90), made(10, 90), made(15, 90)]
    if plot is plots.compare:
        assert len(plots.measures_shown(reports)) == len(plots.MEASURES)
        plots.compare(reports, tmp_path)
    else:
        plots.single(reports[0], tmp_path)
    assert len(drawn) == 2
    for fig in drawn:
        assert overlapping_tick_labels(fig) == []


@pytest.mark.parametrize("at", [0.0, 15.0])
def test_logins_all_at_one_time_are_drawn_as_a_step_and_the_share_they_reached(
        at: float, drawn: list[plt.Figure], tmp_path: Path) -> None:
    """Every login at 0 s (the key mail always lost, no re-login): the legend said 30 of 90
    logged in, and no line was drawn; all at 15 s, only a vertical stroke."""
    report = attrs.evolve(made(10, 1), visits=90, logged_in=30, histogram=[at] * 30)
    plots.time_to_login([report], tmp_path / "time-to-login.png")
    (line,) = drawn[0].axes[0].get_lines()[:1]
    xs, ys = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    assert ys[-1] == pytest.approx(1 / 3) and xs[-1] == drawn[0].axes[0].get_xlim()[1]
    assert ys[0] == 0 and xs[0] == 0  # (from none logged in)


def test_compared_runs_that_coincide_show_each_curve(drawn: list[plt.Figure],
                                                     tmp_path: Path) -> None:
    """Runs whose visits logged in at the same times (a validity no key outlived) drew one
    curve over the other, and the legend named a run no one could see: each is drawn
    thinner than the one under it."""
    plots.time_to_login([made(v, 90 + v) for v in (5, 10, 15)], tmp_path / "compare.png")
    whole, top = drawn[0].axes
    curves = [line for line in whole.get_lines() if not str(line.get_label()).startswith("_")]
    assert len(curves) == 3 and all(np.array_equal(c.get_ydata(), curves[0].get_ydata())
                                    for c in curves)
    widths = [c.get_linewidth() for c in curves]
    assert widths == sorted(widths, reverse=True) and widths[-1] < widths[0] - 2
    assert widths[-1] >= 1.5  # (the top one still a line, not a hair)
    magnified = [line for line in top.get_lines() if np.asarray(line.get_xdata()).size > 2]
    assert [c.get_linewidth() for c in magnified] == widths  # the same curves, magnified:
    assert top.get_ylim() == pytest.approx((0.9, 1.005))  # the last tenth of the visits


def test_a_curve_is_magnified_only_beside_another_that_differs_and_reaches_half(
        drawn: list[plt.Figure], tmp_path: Path) -> None:
    """One run; runs that coincide (the panel said nothing the first did not); a run that
    reached a fifth of its visits (its floor fell to 0: the first panel again)."""
    low = attrs.evolve(made(10, 90), logged_in=40, histogram=made(10, 90).histogram[:40])
    for runs in ([made(10, 90)], [made(5, 90), made(10, 90)], [made(5, 30), low]):
        plots.time_to_login(runs, tmp_path / "time-to-login.png")
        assert len(drawn.pop().axes) == 1, runs
    plots.time_to_login([made(5, 30), made(10, 90)], tmp_path / "time-to-login.png")
    assert len(drawn.pop().axes) == 2


def test_a_bars_count_reads_as_the_tables_do_with_a_comma_in_its_thousands(
        drawn: list[plt.Figure], tmp_path: Path) -> None:
    """A bar read 「1587」 where the table beside it said 「1,587」."""
    reports = [attrs.evolve(made(v, 90), throttled=1587, keys_reissued=12_345) for v in (5, 10)]
    plots.compare(reports, tmp_path)
    labels = {t.get_text() for fig in drawn for ax in fig.axes for t in ax.texts}
    assert {"1,587", "12,345"} <= labels and "1587" not in labels


def test_a_comparison_of_dozens_of_runs_is_drawn_without_a_warning(
        tmp_path: Path, recwarn: pytest.WarningsRecorder) -> None:
    """simulate --compare of 60 values printed matplotlib's "Tight layout not applied" and
    the line of code behind it."""
    written = plots.compare([made(v, 90) for v in range(1, 61)], tmp_path)
    assert written and all(path.stat().st_size > 0 for path in written)
    assert [str(w.message) for w in recwarn] == []


def test_the_time_plot_says_over_which_visits_its_shares_are(
        drawn: list[plt.Figure], tmp_path: Path) -> None:
    """All visits, or (a credential stuffer's run, D-14) each group's own."""
    r = made(10, 60)
    stuffed = attrs.evolve(r, client_addresses=4, attacked_addresses=1, exposed_visits=20,
                           exposed_histogram=r.histogram[:15])
    plots.time_to_login([r], tmp_path / "all.png")
    plots.time_to_login([stuffed], tmp_path / "split.png", split=True)
    assert [fig.axes[0].get_ylabel() for fig in drawn] == [
        "ログインできた訪問の割合 (全訪問に対して)", "ログインできた割合 (それぞれの訪問に対して)"]


def test_more_hours_than_fit_a_label_each_are_labelled_every_other_hour(
        drawn: list[plt.Figure], tmp_path: Path) -> None:
    r = made(10, 60)
    hours = plots.hours_shown(r)
    assert len(hours) > plots.HOURS_LABELLED
    plots.expiries_by_hour(r, tmp_path / "expiries.png")
    assert [t.get_text() for t in drawn[0].axes[0].get_xticklabels()] == [
        f"{int(h)}時" for h in hours[::2]]


def test_the_comparison_s_bar_labels_run_ten_characters_a_line_their_rule_below(
        drawn: list[plt.Figure], tmp_path: Path) -> None:
    plots.compare_bars([made(5, 90), made(15, 90)], tmp_path / "bars.png")
    labels = [t.get_text() for t in drawn[0].axes[0].get_xticklabels()]
    lines = [line for label in labels for line in label.split("\n")]
    assert "ログインできなかった\n訪問" in labels and "待つよう言われて断念\n(D-14)" in labels
    assert all(len(line) <= 10 or line.startswith("(") for line in lines), labels
