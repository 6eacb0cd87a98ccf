"""A simulation's reports as people read them: report.html and compare.html are single
self-contained Japanese pages with the numbers and the plots; shares never round to 100%;
the time to log in is over all visits; the plots are labelled in Japanese."""

from __future__ import annotations

import itertools
import json
import re
import warnings
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner

from application.audit import Outcome
from application.outcomes import ContactRoute
from billing_station.cli import main
from simulations import plots, report_html, report_text
from simulations.checks import POLICY_KEYS, policy_range
from simulations.compare_html import compare_page
from simulations.experiments import write
from simulations.report import ROUTES, Report, over_all_visits, report
from simulations.report_html import OUTCOME_LABELS, RunFigures, report_page
from simulations.report_text import side_by_side, text
from simulations.run_folder import RUN_FOLDERS
from simulations.runner import Simulation
from simulations.scenario import Behaviour, Delay, Policy, Population, Scenario, load
from simulations.varied import VARIED, Varied
from simulations.wording import counted_as, percent
from tests.docs_shots import screenshot_path
from tests.html_rows import table_rows
from tests.test_plot_labels import made

NOW = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)
SMALL = Scenario("small", days=3, seed=5, hash_cost=4,
                 population=Population(customers=8, notify_key_share=1.0),
                 behaviour=Behaviour(mail_delay=Delay(200, 700), mistype_rate=0.1))


def run(scenario: Scenario, folder: Path) -> Report:
    simulation = Simulation(scenario, folder)
    simulation.run()
    result = report(simulation)
    simulation.close()
    return result


@pytest.fixture(scope="module")
def slow_mail(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Path]:
    """The shipped slow-mail scenario (keys expire, people call), shrunk to a few customers
    and days."""
    folder = tmp_path_factory.mktemp("slow-mail")
    shipped = load("slow-mail")
    scenario = attrs.evolve(shipped, days=3,
                            population=attrs.evolve(shipped.population, customers=12))
    return run(scenario, folder), folder


def self_contained(page: str) -> bool:
    """Nothing is loaded from elsewhere: no URL, no linked style, every image inside. A
    link a person may follow to a page beside it (a run's report.html) is no load."""
    return (not re.search(r"https?:", page)
            and not re.search(r'src="(?!data:)', page)
            and not re.search(r'(?<!<a )href="(?!#)', page)
            and "<link" not in page)


# The numbers ----------------------------------------------------------------------------
def test_a_share_that_is_not_all_never_reads_100_or_0_percent() -> None:
    assert percent(8073, 8074) == "99.99%"
    assert percent(1, 8074) == "0.01%"
    assert percent(99_999, 100_000) == "99.999%"
    assert percent(8074, 8074) == "100%" and percent(0, 8074) == "0%"
    assert percent(1, 3) == "33.3%"


def test_time_to_log_in_is_over_all_visits_so_failures_do_not_make_it_faster() -> None:
    fast_but_failing = over_all_visits([10.0] * 85, visits=100)  # 15 never got in
    slow_but_all_in = over_all_visits([10.0] * 85 + [600.0] * 15, visits=100)
    assert fast_but_failing == {"p50": 10.0, "p90": None, "p99": None}
    assert slow_but_all_in == {"p50": 10.0, "p90": 600.0, "p99": 600.0}
    assert over_all_visits([], visits=0) == {}
    tenth = over_all_visits([float(n) for n in range(1, 11)], visits=10)  # (ranks 5, 9, 9.9)
    assert tenth == {"p50": 5.0, "p90": 9.0, "p99": 10.0}  # nearest rank: 9.9 is the 10th


def test_the_text_says_what_is_inside_what(slow_mail: tuple[Report, Path]) -> None:
    r, _ = slow_mail
    lines = text(r)
    assert f"logged in {r.logged_in:,} of {r.visits:,} ({percent(r.logged_in, r.visits)})" in lines
    assert f"issued {r.keys_issued:,} (of which re-issued" in lines
    assert r.attempts != r.visits  # (so a share of the wrong whole would show)
    assert f"completed {r.outcomes['completed']:,} of {r.attempts:,} (" in lines
    assert f"Time to log in, over all {r.visits:,} visits" in lines


def test_a_comparison_names_its_columns_and_its_time_measure(tmp_path: Path) -> None:
    reports = [run(SMALL.with_policy(key_validity_minutes=m), tmp_path / str(m)) for m in (5, 15)]
    table = side_by_side(reports)
    assert "5 min: validity 5 min" in table and "over all visits" in table
    widest = max(80, len(table.splitlines()[0]))  # (its footnote ran 210 characters on)
    assert all(len(line) <= widest for line in table.splitlines() if ": validity" not in line)
    assert table.splitlines()[0].split()[-4:] == ["5", "min", "15", "min"]  # what differs
    page = compare_page(reports, plots.compare(reports, tmp_path), now=NOW)
    assert ('<th class=num><a href="validity-5/report.html" title="この条件の詳しい報告">有効期限 5分'
            '</a></th><th class=num><a href="validity-15/report.html" title="この条件の詳しい報告">'
            "有効期限 15分</a></th>") in page  # (each column's heading opens its run's report)
    assert "policy 1" not in page and "1回目" not in page
    assert self_contained(page) and page.count("data:image/png;base64,") == 2
    short, long = reports
    assert short.outcomes["expired"] > long.outcomes["expired"]  # slow mail, short validity
    assert f"<td class=num>{short.outcomes['expired']:,}</td>" in page
    lines = table.splitlines()  # each column's outcomes add up to its attempts, listed above
    first = next(i for i, line in enumerate(lines) if line.startswith("login attempts"))
    outcomes = list(itertools.takewhile(lambda line: line.startswith("  "), lines[first + 1:]))
    assert [line.split()[0] for line in outcomes][:1] == ["completed"] and len(outcomes) >= 4
    columns = [[int(n.replace(",", "")) for n in line.split()[-2:]] for line in outcomes]
    assert [sum(c) for c in zip(*columns, strict=True)] == [r.attempts for r in reports] == [
        int(n.replace(",", "")) for n in lines[first].split()[-2:]]
    assert "　通知キーの期限切れ (LG-5)</t" in page and "ログイン試行 (「ログイン」の押下)</t" in page


def test_compare_varies_every_number_of_a_scenarios_policy() -> None:
    assert list(VARIED) == POLICY_KEYS
    assert [VARIED["max_wrong_entries"].shown(n) for n in (1, 2)] == [
        "1 wrong entry", "2 wrong entries"]


@pytest.mark.parametrize("varied", VARIED.values(), ids=list(VARIED))
def test_each_number_compare_varies_heads_its_columns_from_the_runs_own_policy(
        varied: Varied, tmp_path: Path) -> None:
    """Each key --compare takes is a scenario's [policy] key within a scenario file's
    bounds, stated by its report: at its highest, a run's column, curve and folder name it
    in full, and compare.txt, compare.html and the plots name it."""
    _, low, high = policy_range(varied.key)
    assert varied.key in attrs.fields_dict(Policy) and varied.field in attrs.fields_dict(Report)
    reports = [attrs.evolve(made(10, 60), client_addresses=4 if varied.d14 else 0,
                            **{varied.field: value})  # type: ignore[arg-type]
               for value in (low, high)]
    table = side_by_side(reports, varied).splitlines()
    assert table[0].split()[-2 * len(varied.shown(high).split()):] == (
        varied.shown(low).split() + varied.shown(high).split())
    assert varied.shown(high) == f"{high:.0f}{varied.unit}"  # (not 1e+05)
    if varied.paired:  # D-14's limit means nothing without its window, and back
        paired = VARIED[varied.paired]
        assert table[0].startswith(varied.english.format(paired.shown(paired.value(reports[0]))))
    assert any(line.startswith("  key withheld (D-10)") for line in table)  # what D-10 does
    assert any(line.startswith("slowest login") for line in table)
    assert RUN_FOLDERS.fullmatch(varied.folder_of(high)) and varied.folder_of(high) != (
        varied.folder_of(high - 1))
    page = compare_page(reports, plots.compare(reports, tmp_path, varied), now=NOW,
                        varied=varied)
    assert f"<h1>{varied.name_ja}の比較: " in page
    assert f'{varied.folder_of(high)}/report.html" title="この条件の詳しい報告">' \
           f"{varied.label(high)}</a></th>" in page
    assert f"{varied.folder_of(low)}/report.html" in page


# The page -------------------------------------------------------------------------------
def test_report_html_is_one_japanese_page_with_the_numbers_and_plots(
        slow_mail: tuple[Report, Path]) -> None:
    r, folder = slow_mail
    written = write(r, folder, RunFigures(2.5, 100))
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert folder / "report.html" in written and self_contained(page)
    assert page.count('<img src="data:image/png;base64,') == 2
    sections = {part.split("</h2>")[0]: part for part in page.split("<h2>")[1:]}
    assert "ログインまでの時間 (全訪問に対する累積割合" in sections["ログインまでの時間"]  # each
    assert "<figcaption>時間帯別の期限切れ" in sections["時間帯別の期限切れ"]  # plot with its numbers
    for label in ("主な数値", "ログインできた訪問", "ログインまでの時間", "有効期限 10分",
                  "うち再発行", "全訪問に対する値です", "テキスト版 (report.txt: 英語、数値は上と同じ)"):
        assert label in page
    assert f"<td class=num>{r.visits:,}</td>" in page
    assert report_html.NO_KEY not in page  # (keys were issued: nothing to explain)
    policy = load("slow-mail").policy
    assert (f"有効期限 {policy.key_validity_minutes:g}分、誤入力 {policy.max_wrong_entries}回まで、"
            f"1時間に {policy.max_keys_per_hour}通まで") in page
    assert f"{percent(r.logged_in, r.visits)} ({r.logged_in:,}/{r.visits:,})" in page
    assert f"<td class=num>{r.keys_issued:,}</td>" in page
    for outcome in Outcome:
        if r.outcomes[outcome.value]:
            assert OUTCOME_LABELS[outcome] in page


def distinct(**changes: Any) -> Report:
    """A run whose counts differ from each other, so that a row showing another row's count,
    or a share of another whole, shows a number of its own no more."""
    counts: dict[str, Any] = {
        "visits": 200, "logged_in": 150, "with_key": 97, "without_key": 53, "attempts": 260,
        "support": {ROUTES[ContactRoute.OPERATOR]: 3, ROUTES[ContactRoute.MAIN_ID_PERSON]: 5},
        "seconds_to_login": {"p50": 30.0, "p90": 400.0, "p99": 900.0}}
    return attrs.evolve(made(10, 60), **(counts | changes))


def test_report_html_shows_each_count_in_its_own_row(tmp_path: Path) -> None:
    r = distinct()
    rows = table_rows(report_page(r, tmp_path, [], RunFigures(2.5, 100)))
    assert rows["ログインできなかった訪問"] == ["50", f"{percent(50, 200)} (50/200)"]
    assert rows["うち オペレータ担当へ (主ID)"] == ["3", ""]  # LG-8's two routes
    assert rows["うち 主IDの担当者へ (副ID)"] == ["5", ""]
    assert rows["保存の速さ"] == ["400 イベント/秒"]  # 1,000 events in 2.5 s


def test_a_duration_reads_in_minutes_and_two_digit_seconds() -> None:
    assert [report_html.duration_ja(s) for s in (5, 59.6, 65, 3600, None)] == [
        "5秒", "1分00秒", "1分05秒", "60分00秒", "ログインできず"]


def test_a_scenario_s_name_and_line_are_text_on_the_page() -> None:
    r = distinct(scenario="a<b&c", description="<i>x</i>")
    assert report_html.described(r) == "a&lt;b&amp;c 「&lt;i&gt;x&lt;/i&gt;」"


def test_report_html_names_up_to_three_shards_stores_each(tmp_path: Path) -> None:
    stores = [tmp_path / f"shard-0{n}-of-04" / "simulation.sqlite3" for n in range(1, 5)]
    for shown in (2, 3):
        page = report_page(distinct(), tmp_path, [], stores=stores[:shown])
        assert stores_named(page) == [f"shard-0{n}-of-04/simulation.sqlite3"
                                      for n in range(1, shown + 1)]
    page = report_page(distinct(), tmp_path, [], stores=stores)
    assert "4 個 (shard-01-of-04/simulation.sqlite3 〜 shard-04-of-04/simulation.sqlite3、" in page


def test_D_14_a_stuffing_run_s_time_plot_says_over_which_visits_each_curve_is(
        tmp_path: Path) -> None:
    plot = tmp_path / plots.TIME_TO_LOGIN
    plot.write_bytes(b"\x89PNG\r\n\x1a\n")
    for r, caption in ((distinct(), report_html.PLOT_CAPTIONS),
                       (distinct(client_addresses=4, attacked_addresses=1),
                        report_html.SPLIT_CAPTIONS)):
        assert f"<figcaption>{caption[plots.TIME_TO_LOGIN]}</figcaption>" in report_page(
            r, tmp_path, [plot])


def test_compare_html_shows_each_run_s_counts_in_their_rows() -> None:
    reports = [distinct(validity_minutes=5, client_addresses=4, attacked_addresses=1,
                        gave_up=9, exposed_visits=20, exposed_histogram=[1.0] * 10 + [300.0] * 8),
               distinct(validity_minutes=15, logged_in=180, with_key=120, client_addresses=4,
                        gave_up=4)]
    page = compare_page(reports, [], now=NOW)
    rows = table_rows(page)
    assert rows["ログインできなかった訪問"] == [f"{200 - r.logged_in} ({percent(200 - r.logged_in, 200)})"
                                       for r in reports]
    assert rows["通知キーで完了したログイン"] == ["97", "120"]
    assert rows[report_html.GAVE_UP] == [f"{n} ({percent(n, 200)})" for n in (9, 4)]  # of visits
    assert rows["攻撃元と同じアドレスの利用者: ログインまで p90 †"][0] == (
        report_html.duration_ja(reports[0].exposed.seconds_to_login["p90"])) != (
        report_html.duration_ja(reports[0].exposed.seconds_to_login["p50"]))
    assert f"† {report_html.GROUP_TIME_NOTE}" in page
    common = re.search(r'<p class="meta">(.*?)</p>', page, flags=re.S)
    assert common and "誤入力 5回まで" in common.group(1)  # the policy's numbers not varied
    assert "有効期限 5分" not in common.group(1)


def test_compare_html_without_a_stuffer_has_no_note_for_one() -> None:
    assert "†" not in compare_page([distinct(validity_minutes=5), distinct()], [], now=NOW)


def test_compare_html_numbers_runs_whose_varied_values_repeat() -> None:
    heads = re.findall(r'title="この条件の詳しい報告">(.*?)</a>',
                       compare_page([distinct(), distinct()], [], now=NOW))
    assert [head.split(" ")[0] for head in heads] == ["1回目", "2回目"]


def test_report_txt_names_up_to_three_and_says_seconds_in_two_digits() -> None:
    assert report_text.listed(["A", "B", "C"]) == "A, B, C"  # (not the middle one hidden)
    assert report_text.listed(["A", "B", "C", "D"]) == "A to D"
    assert [report_text.duration(s) for s in (5, 65, None)] == ["5s", "1m05s", "not logged in"]


def test_compare_txt_shows_the_keys_re_issued_beside_the_keys_issued() -> None:
    table = side_by_side([distinct(validity_minutes=5),
                          distinct(validity_minutes=15, keys_reissued=30)])
    line = next(x for x in table.splitlines() if x.startswith("  of which re-issued"))
    assert line.split()[-2:] == ["11", "30"]


def test_every_outcome_has_a_japanese_label() -> None:
    assert set(OUTCOME_LABELS) == set(Outcome)


def test_bar_charts_leave_out_what_is_empty(slow_mail: tuple[Report, Path]) -> None:
    r, _ = slow_mail
    quiet = attrs.evolve(r, expiries_by_hour={"09": 2, "11": 1})
    assert plots.hours_shown(quiet) == ["09", "10", "11"]
    assert plots.hours_shown(attrs.evolve(r, expiries_by_hour={})) == []
    assert plots.hours_shown(attrs.evolve(r, expiries_by_hour={"09": 0, "10": 0})) == []
    # every hour people log in, 9時 to 17時 (hours_jst = [9, 18]), a quiet one as 0
    assert list(r.expiries_by_hour)[:9] == [f"{h:02d}" for h in range(9, 18)]
    no_locks = attrs.evolve(r, outcomes={**r.outcomes, "locked": 0})
    assert "ロック (D-4)" not in plots.measures_shown([no_locks])


def test_each_hour_s_expiries_are_said_as_a_share_of_its_keys(
        slow_mail: tuple[Report, Path]) -> None:
    """The analyst's probe: expiries by hour in counts only could not tell a worse hour
    from a busier one. Each hour's keys are counted from the store too."""
    r, folder = slow_mail
    assert sum(r.keys_by_hour.values()) == r.keys_issued
    assert list(r.keys_by_hour) == list(r.expiries_by_hour)  # (the same hours, 0 too)
    hour = max(r.expiries_by_hour, key=lambda h: r.expiries_by_hour[h])
    expired, keys = r.expiries_by_hour[hour], r.keys_by_hour[hour]
    assert f"{hour}時 " in text(r) and f" {expired:,} of {keys:,} keys ({percent(expired, keys)})" \
        in text(r)
    assert f"<td class=num>{keys:,}</td><td class=num>{percent(expired, keys)}</td>" in \
        report_page(r, folder, [])
    assert plots.expiry_label(expired, keys) == f"{expired:,}/{keys:,}\n({percent(expired, keys)})"


def test_an_hour_s_small_share_of_expiries_reads_as_more_than_none() -> None:
    """One expiry in 447 keys is not 0% on the plot's bar, nor on the page or the text."""
    assert plots.expiry_label(1, 447) == "1/447\n(0.2%)"
    assert plots.expiry_label(0, 447) == "0/447\n(0%)" and plots.expiry_label(2, 0) == "2"


def test_a_run_without_visits_still_reports(tmp_path: Path) -> None:
    weekend = attrs.evolve(SMALL, start=date(2026, 4, 11), days=1)  # a Saturday
    r = run(weekend, tmp_path)
    assert r.visits == 0 and r.seconds_to_login == {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no empty legend, no division by zero
        write(r, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<td class=num>0</td>" in page and "期限切れはありません" in page


def test_D_1_a_run_with_no_key_mailed_says_why(tmp_path: Path) -> None:
    """One day of IDs that all use the notify key: every login is its ID's first (LG-4, D-1),
    so no key is mailed. The reports showed the keys' zeros without a word, read as a fault."""
    first_day = run(attrs.evolve(SMALL, days=1), tmp_path)
    assert first_day.keys_issued == 0 and first_day.outcomes["completed"] > 0
    write(first_day, tmp_path)
    assert report_text.NO_KEY + report_text.ONE_DAY in text(first_day)  # (and what to do)
    assert report_html.NO_KEY + report_html.ONE_DAY in (tmp_path / "report.html").read_text(
        encoding="utf-8")
    assert report_text.ONE_DAY not in text(attrs.evolve(first_day, days=2))
    assert report_text.NO_KEY not in text(attrs.evolve(first_day, keys_issued=1))
    assert max(len(line) for line in text(first_day).splitlines()) <= 110  # (on a terminal)


def test_the_plots_use_the_installed_japanese_font() -> None:
    assert plots.japanese_font() == "Noto Sans CJK JP"


def test_without_a_japanese_font_the_plots_say_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plots.font_manager.fontManager, "ttflist", [])
    monkeypatch.setattr(plots.font_manager, "findSystemFonts", lambda: [])
    plots.japanese_font.cache_clear()
    try:
        with pytest.raises(plots.JapaneseFontMissing, match="fonts-noto-cjk"):
            plots.japanese_font()
    finally:
        plots.japanese_font.cache_clear()


def test_cli_simulate_writes_report_html_and_compare_html(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text('description = "小さな確認"\ndays = 2\nhash_cost = 4\n[population]\n'
                        "customers = 4\n", encoding="utf-8")
    one = CliRunner().invoke(main, ["simulate", str(scenario), "--out", str(tmp_path / "one")])
    assert one.exit_code == 0, one.output
    assert self_contained((tmp_path / "one" / "report.html").read_text(encoding="utf-8"))
    both = CliRunner().invoke(main, ["simulate", str(scenario), "--compare", "5,15",
                                     "--out", str(tmp_path / "two")])
    assert both.exit_code == 0, both.output
    page = (tmp_path / "two" / "compare.html").read_text(encoding="utf-8")
    assert "有効期限 5分" in page and "有効期限 15分" in page and self_contained(page)
    assert "シナリオ tiny 「小さな確認」" in page  # (the scenario's own words, in each page)
    assert "シナリオ tiny 「小さな確認」" in (tmp_path / "one" / "report.html").read_text(
        encoding="utf-8")
    assert "\nAbout: 小さな確認\n" in (tmp_path / "one" / "report.txt").read_text(encoding="utf-8")
    links = re.findall(r'<a href="([^"]+)">', page)
    assert links == ["validity-5/report.html", "validity-15/report.html"]
    assert all((tmp_path / "two" / link).is_file() for link in links)  # each one followed
    for link, value in zip(links, ("5分", "15分"), strict=True):  # each run's page its own title
        run = (tmp_path / "two" / link).read_text(encoding="utf-8")  # and a way back
        assert f"<title>シミュレーション報告: tiny (有効期限 {value})</title>" in run
        assert '<a href="../compare.html">比較 (compare.html) へ戻る</a>' in run
    assert "へ戻る" not in (tmp_path / "one" / "report.html").read_text(encoding="utf-8")


def stores_named(page: str) -> list[str]:
    """The stores report.html names, from the folder that holds its run's folder."""
    line = re.search(r"イベントストア: (.*?)</small>", page)
    assert line is not None
    return re.findall(r"[^\s(、]*simulation\.sqlite3", line.group(1))


def test_report_html_names_the_stores_the_run_left(tmp_path: Path) -> None:
    """One process: its store; shards: each shard's, never a store that is not there."""
    scenario = tmp_path / "tiny.toml"
    scenario.write_text("days = 1\nhash_cost = 4\n[population]\ncustomers = 4\n")
    for out, shards in (("one", "1"), ("two", "2")):
        result = CliRunner().invoke(main, ["simulate", str(scenario), "--shards", shards,
                                           "--out", str(tmp_path / out), "--no-verify"])
        assert result.exit_code == 0, result.output
        named = stores_named((tmp_path / out / "report.html").read_text(encoding="utf-8"))
        left = sorted(str(p.relative_to(tmp_path / out))  # from the page's folder
                      for p in tmp_path.glob(f"{out}/**/*.sqlite3"))
        assert named == left and len(left) == int(shards)


def test_a_one_day_run_of_one_login_id_says_so_in_the_singular(
        slow_mail: tuple[Report, Path]) -> None:
    r, _ = slow_mail
    assert text(attrs.evolve(r, days=1, people=1, end=r.start)).startswith(
        f"Scenario {r.scenario}: 1 day ({r.start} to {r.start}), seed {r.seed}, 1 login ID\n")
    assert text(r).startswith(f"Scenario {r.scenario}: 3 days ({r.start} to ")


def test_a_report_txt_says_its_scenario_s_description_on_one_line_or_none(
        slow_mail: tuple[Report, Path]) -> None:
    r, _ = slow_mail
    assert text(attrs.evolve(r, description="二行の\n説明")).splitlines()[1] == "About: 二行の 説明"
    assert "About:" not in text(attrs.evolve(r, description=""))


def test_a_report_names_the_days_it_simulated(slow_mail: tuple[Report, Path],
                                             tmp_path: Path) -> None:
    """An analyst checks it against `history --from --to`: the dates, not only a count."""
    r, folder = slow_mail[0], tmp_path
    write(r, folder)
    assert (r.start, r.dates) == ("2026-04-06", "2026-04-06 to 2026-04-08")
    written = json.loads((folder / "report.json").read_text())
    assert (written["start"], written["end"]) == ("2026-04-06", "2026-04-08")
    assert "3日間 (2026/04/06〜2026/04/08)" in (folder / "report.html").read_text()


def test_the_report_says_whose_hash_cost_ran(tmp_path: Path) -> None:
    """A scenario without hash_cost runs at production's cost, and the report says that,
    not that the scenario chose it."""
    path = tmp_path / "costly.toml"
    path.write_text("days = 1\n[population]\ncustomers = 1\nsub_ids_per_customer = [0, 0]\n")
    unset = run(load(path), tmp_path / "unset")
    assert "Hashing: scrypt N=2^14 (production's cost: the scenario sets no hash_cost)" in (
        text(unset).splitlines())
    assert "ハッシュ: scrypt N=2^14 (本番と同じ値。シナリオに hash_cost の指定なし)" in (
        report_page(unset, tmp_path, []))
    chosen = run(SMALL, tmp_path / "set")
    assert "Hashing: scrypt N=2^4 (the scenario's hash_cost; production uses 2^14)" in (
        text(chosen).splitlines())
    assert "ハッシュ: scrypt N=2^4 (シナリオの hash_cost。本番は 2^14)" in (
        report_page(chosen, tmp_path, []))


# In a browser ---------------------------------------------------------------------------


def test_in_chromium_the_key_numbers_are_visible(chromium: Any, slow_mail: tuple[Report, Path]) -> None:
    r, folder = slow_mail
    pictures = plots.single(r, folder)
    html_file = folder / "shown.html"
    html_file.write_text(report_page(r, folder, pictures, RunFigures(2.5, 100), now=NOW),
                         encoding="utf-8")
    page = chromium.new_page(viewport={"width": 1100, "height": 1900})
    page.goto(html_file.as_uri())
    figures = page.locator("section.key table")
    visits = figures.locator("tr", has_text="訪問 (ログインしたい人の来訪)")
    assert visits.is_visible() and f"{r.visits:,}" in visits.inner_text()
    logged_in = figures.locator("tr", has_text="ログインできた訪問")
    assert f"{percent(r.logged_in, r.visits)} ({r.logged_in:,}/{r.visits:,})" in logged_in.inner_text()
    plot = page.locator("img").first
    assert plot.is_visible() and plot.evaluate("img => img.naturalWidth") > 500  # decoded
    page.screenshot(path=str(screenshot_path("simulation-report.png", folder)))
    page.close()


def test_counts_read_in_the_singular_for_one() -> None:
    """"1 login attempts", "1 worker(s)": one count, one spelling."""
    assert [counted_as(1, "day"), counted_as(2, "day"), counted_as(1_000, "shard"),
            counted_as(2, "process"), counted_as(0, "key")] == [
        "1 day", "2 days", "1,000 shards", "2 processes", "0 keys"]
