"""D-14 simulated: people behind shared client addresses, a credential stuffer behind some of
them. What the per-address limit costs the people who share an address with a stuffer, that
it costs no one else, that the stuffer's checked passwords stay within it (the audit judges
each), and that shards keep an address whole."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import matplotlib.pyplot as plt
import numpy
import pytest
from click.testing import CliRunner

from application import audit
from application.audit.verify import JUDGED_D14
from application.outcomes import Throttled
from application.screens import THROTTLED
from billing_station.cli import main
from domain import clock
from domain.login_attempt import LoginAttempt
from simulations import plots, runner
from simulations.compare_html import compare_page
from simulations.population import CustomerPlan, client_address, customer_plans
from simulations.report import Report, report
from simulations.report_html import GAVE_UP, duration_ja, report_page
from simulations.report_text import duration, side_by_side, text
from simulations.runner import Simulation
from simulations.scenario import Attack, Behaviour, Population, Scenario, ScenarioError, load
from simulations.shards import customer_index, parts, shard_count
from simulations.wording import counted_as, percent
from tests.docs_shots import screenshot_path

# 4 addresses of 3 customers each; a stuffer behind the first, trying 5 a minute
STUFFED = Scenario("stuffed", days=3, seed=14, hash_cost=4,
                   population=Population(customers=12, sub_ids_per_customer=(0, 2),
                                         customers_per_address=3),
                   behaviour=Behaviour(password_typo_rate=0.1),
                   attack=Attack(addresses=1, tries_per_hour=300))
QUIET = attrs.evolve(STUFFED, attack=Attack())  # the same people, no stuffer


@attrs.frozen
class Run:
    report: Report
    verifier: audit.Verifier  # what verify counted on the run's store (it found nothing)
    stuffers_attempts: int  # attempts in the store under a stuffer's login IDs (c00000x…)
    limits: set[tuple[int, int]]  # D-14's (limit, window in seconds) the attempts recorded


def simulated(scenario: Scenario, folder: Path) -> Run:
    simulation = Simulation(scenario, folder)
    simulation.run()
    verifier = audit.Verifier()
    try:
        assert list(verifier.check(audit.replay(simulation.app))) == []
        stuffers = sum(record.login_id.startswith("?")
                       for record in audit.history(audit.replay(simulation.app)))
        limits = {(e.failure_limit, e.failure_window_seconds)
                  for e in audit.replay(simulation.app)
                  if isinstance(e, LoginAttempt.LoginRequestedFrom)}
        return Run(report(simulation), verifier, stuffers, limits)
    finally:
        simulation.close()


def marked_as_stuffeds(scenario: Scenario) -> Iterator[CustomerPlan]:
    """QUIET's people, those behind the first address tallied apart as STUFFED's are (the
    mark changes what is counted, not what anyone does)."""
    for plan in customer_plans(scenario):
        for person in [plan.main, *(sub for sub, _ in plan.subs)]:
            person.exposed = plan.index < 3
        yield plan


def test_D_14_a_stuffer_behind_an_address_costs_its_people_and_no_one_else(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = simulated(STUFFED, tmp_path / "attacked")
    attacked, verifier = run.report, run.verifier
    monkeypatch.setattr(runner, "customer_plans", marked_as_stuffeds)
    quiet = simulated(QUIET, tmp_path / "quiet").report
    # the stuffer: refused unchecked past the limit, the rest checked (and failed) ...
    assert attacked.tries > 3 * 24 * 200 and attacked.tries_refused > attacked.tries / 2
    assert attacked.tries_checked == run.stuffers_attempts > 0
    # ... every password checked from an address judged by the audit, which found the
    # limit held (no violation above)
    assert verifier.counts[JUDGED_D14] == attacked.attempts
    # the people behind its address: refused unchecked, slower in, some not at all
    assert attacked.throttled > 0 and 0 < attacked.throttled_visits <= attacked.exposed_visits
    assert attacked.gave_up > 0 and attacked.support == quiet.support  # (no one to call)
    assert attacked.exposed.count == quiet.exposed.count > 0  # (the same people came)
    assert attacked.exposed.logged_in < quiet.exposed.logged_in
    slow, usual = (r.exposed.seconds_to_login["p50"] for r in (attacked, quiet))
    assert slow is not None and usual is not None and slow > usual + 5 * 60
    # everyone else: exactly the visits they had without the stuffer
    assert attacked.unexposed.count == quiet.unexposed.count > 0
    assert sorted(attacked.unexposed.seconds) == sorted(quiet.unexposed.seconds)
    assert quiet.throttled == quiet.tries == 0


def test_D_14_people_behind_one_address_share_its_count_without_a_stuffer(
        tmp_path: Path) -> None:
    run = simulated(QUIET, tmp_path)
    quiet, verifier = run.report, run.verifier
    assert run.stuffers_attempts == 0 and quiet.client_addresses == 4
    assert quiet.outcomes["password_rejected"] > 0
    assert verifier.counts[JUDGED_D14] == quiet.attempts  # every login from an address
    assert quiet.throttled == 0  # a few typos an hour are far below 20 in 10 minutes


def test_D_14_a_scenarios_own_limit_is_the_one_applied_recorded_and_judged(
        tmp_path: Path) -> None:
    """What a stricter policy does: the scenario's limit and window are the portal's in the
    run, each check records them, and the audit judges every password by them."""
    strict = STUFFED.with_policy(address_failure_limit=10, address_window_minutes=20)
    run, usual = simulated(strict, tmp_path / "strict"), simulated(STUFFED, tmp_path / "usual")
    assert run.limits == {(10, 1200)} and usual.limits == {(20, 600)}
    assert run.verifier.counts[JUDGED_D14] == run.report.attempts
    # 10 in any 20 minutes, 30 an hour at most, where 20 in 10 minutes let 120 be checked:
    # the stuffer has fewer checked, and the people behind its address are refused more
    assert run.report.tries_checked < usual.report.tries_checked
    assert run.report.throttled > usual.report.throttled
    assert "after 10 failed logins within 20 minutes;" in text(run.report)
    assert run.report.policy.endswith("5 keys/h, 10 failed logins/20 min per address")
    assert "20分間に10回失敗すると" in report_page(run.report, tmp_path, [])
    assert "after 20 failed logins within 10 minutes;" in text(usual.report)
    assert (run.report.address_failure_limit, run.report.address_window_minutes) == (10, 20)


STUFFED_TOML = """days = 2
seed = 14
hash_cost = 4
[population]
customers = 12
sub_ids_per_customer = [0, 2]
customers_per_address = 3
[behaviour]
password_typo_rate = 0.1
[attack]
addresses = 1
tries_per_hour = 300
"""  # STUFFED for 2 days, as a scenario file


def test_D_14_limits_compared_side_by_side_each_run_in_its_folder_and_audited(
        tmp_path: Path) -> None:
    """simulate --compare address_failure_limit=2,20: a run of each, recorded and judged
    under its own limit, the stricter refusing more of the people behind the stuffer's
    address and checking fewer of its passwords."""
    (tmp_path / "stuffed.toml").write_text(STUFFED_TOML)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["simulate", str(tmp_path / "stuffed.toml"), "--compare",
                                       "address_failure_limit=2,20", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.count("no violations") == 2  # (each run's store audited)
    strict, usual = (json.loads((out / f"address-limit-{n}" / "report.json").read_text())
                     for n in (2, 20))
    assert (strict["address_failure_limit"], usual["address_failure_limit"]) == (2, 20)
    assert strict["throttled"] > usual["throttled"]
    assert strict["tries_checked"] < usual["tries_checked"]
    table = (out / "compare.txt").read_text().splitlines()
    assert table[1].split() == ["D-14", "limit", "in", "10", "min", "2", "failures", "20",
                                "failures"]  # (the window the limits shared)
    assert f"logins refused (D-14){strict['throttled']:>17,}{usual['throttled']:>16,}" in table
    unexposed = percent(strict["unexposed"]["logged_in"], strict["unexposed"]["visits"])
    assert unexposed == percent(usual["unexposed"]["logged_in"], usual["unexposed"]["visits"])
    assert f"everyone else: in{unexposed:>21}{unexposed:>16}" in table  # (no stuffer behind)
    checked = [percent(r["tries_checked"], r["tries"]) for r in (strict, usual)]
    assert f"stuffer tries checked {checked[0]:>16}{checked[1]:>16}" in table
    assert table[-1].endswith("5 keys/h, 20 failed logins/10 min per address")
    page = (out / "compare.html").read_text(encoding="utf-8")
    sharded = CliRunner().invoke(main, ["simulate", str(tmp_path / "stuffed.toml"), "--compare",
                                        "address_failure_limit=2,20", "--shards", "2",
                                        "--out", str(tmp_path / "sharded")])
    assert sharded.exit_code == 0, sharded.output  # each run in 2 shards, audited as one
    assert sharded.output.count("audit of 2 shard stores in ") == 2
    assert (tmp_path / "sharded" / "compare.txt").read_text() == "\n".join(table) + "\n"
    assert "<h1>接続元IPアドレスの失敗の上限 (D-14)の比較: stuffed</h1>" in page
    assert ">1アドレスの失敗 2回まで</a></th>" in page
    assert "address-limit-20/report.html" in page and "リスト型攻撃の試行: 照合して失敗" in page
    assert (out / "compare-outcomes.png").is_file()


def test_the_report_says_what_the_stuffer_cost_in_text_and_on_the_page(tmp_path: Path) -> None:
    attacked = simulated(STUFFED, tmp_path).report
    exposed, others = attacked.exposed, attacked.unexposed
    assert attacked.visits == attacked.logged_in + sum(attacked.support.values()) + (
        attacked.gave_up)  # (the visits D-14 made give up call no one)
    said = text(attacked)
    assert (f"; gave up, told to wait (D-14) with no re-login left {attacked.gave_up:,} of "
            f"{attacked.visits:,}") in said
    assert (f"Client addresses (D-14): 4, each shared by up to 3 customers, each refused "
            f"unchecked after 20 failed logins within 10 minutes; the people's logins "
            f"refused unchecked {attacked.throttled:,}, in {attacked.throttled_visits:,} visits "
            f"({attacked.gave_up:,} of them gave up") in said
    assert ("Credential stuffing: a stuffer behind 1 address (100.64.0.0), 300 tries an "
            f"hour each: {attacked.tries:,} tries; refused unchecked {attacked.tries_refused:,} "
            f"of {attacked.tries:,}") in said
    for name, group in (("behind a stuffer's address:", exposed), ("everyone else:", others)):
        times = {p: duration(t) for p, t in group.seconds_to_login.items()}
        assert re.search(f"{name} +{group.count:,} visits, logged in {group.logged_in:,} of "
                         f"{group.count:,} \\([0-9.]+%\\), time to log in p50 {times['p50']}, "
                         f"p90 {times['p90']}, p99 {times['p99']}\n", said), name
    page = report_page(attacked, tmp_path, [])
    assert "接続元IPアドレスごとの制限 (D-14)" in page and f"「{THROTTLED}」" in page
    assert f'照合せずに拒否</td><td class=num>{attacked.tries_refused:,}</td>' in page
    assert f'照合して失敗 (ログイン試行に含む)</td><td class=num>{attacked.tries_checked:,}' in page
    assert "(100.64.0.0)" in page
    assert (f"<tr><td>{GAVE_UP}</td><td class=num>{attacked.gave_up:,}</td><td class=num>"
            f"{percent(attacked.gave_up, attacked.visits)} ({attacked.gave_up:,}/"
            f"{attacked.visits:,})</td></tr>") in page
    for name, group in (("攻撃元と同じアドレスの利用者", exposed), ("それ以外の利用者", others)):
        cells = [f"{group.count:,}", f"{percent(group.logged_in, group.count)} "
                 f"({group.logged_in:,}/{group.count:,})",
                 *(duration_ja(t) for t in group.seconds_to_login.values())]
        assert f"<tr><td>{name}</td>" + "".join(f"<td class=num>{c}</td>" for c in cells) + (
            "</tr>") in page, name
    numbers = json.loads(attacked.as_json())  # (for tools: the split, as the text gives it)
    assert numbers["exposed"]["visits"] == attacked.exposed.count
    assert numbers["unexposed"]["logged_in"] == attacked.unexposed.logged_in
    assert numbers["attacked"] == ["100.64.0.0"] and numbers["tries_per_hour"] == 300
    assert f"うちリスト型攻撃の試行 {attacked.tries_checked:,}件" in page
    compared = side_by_side([attacked, attacked])  # --compare: D-14's rows too
    assert f"logins refused (D-14){attacked.throttled:>17,}" in compared
    shown = percent(exposed.logged_in, exposed.count)
    assert f"behind a stuffer: in{shown:>18}{shown:>16}" in compared
    p90 = duration(exposed.seconds_to_login["p90"])
    assert f"behind a stuffer: p90†{p90:>16}{p90:>16}" in compared
    assert "利用者の「ログイン」のうち接続元IPアドレスの制限で拒否したもの" in compare_page(
        [attacked, attacked], [])
    curves = legend(attacked, tmp_path)  # the time to log in: everyone, then the two apart
    assert list(curves) == [
        f"全員、有効期限 10分 (ログイン {attacked.logged_in}/{attacked.visits})",
        f"攻撃元と同じアドレスの利用者 ({exposed.logged_in}/{exposed.count})",
        f"それ以外の利用者 ({others.logged_in}/{others.count})"]
    for (_, reached), group in zip(list(curves.values())[1:], (exposed, others), strict=True):
        assert reached == pytest.approx(group.logged_in / group.count)  # (of its own)


def legend(r: Report, folder: Path) -> dict[str, tuple[float, float]]:
    """The curves of the run's time-to-login plot, as its legend names them, each with its
    last point (minutes, share logged in)."""
    drawn: list[plt.Figure] = []

    def keep(fig: plt.Figure, path: Path) -> Path:
        drawn.append(fig)
        return path

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(plots, "_save", keep)
        plots.single(r, folder)
    ax = drawn[0].axes[0]
    curves = {str(line.get_label()): (float(numpy.asarray(line.get_xdata())[-1]),
                                      float(numpy.asarray(line.get_ydata())[-1]))
              for line in ax.get_lines() if not str(line.get_label()).startswith("_")}
    for fig in drawn:
        plt.close(fig)
    return curves


def test_a_stuffer_tries_within_the_scenarios_days_only(tmp_path: Path) -> None:
    simulation = Simulation(STUFFED, tmp_path)
    simulation.run()
    times = [record.requested_at for record in audit.history(audit.replay(simulation.app))
             if record.login_id.startswith("?")]
    simulation.close()
    assert "2026-04-06T00:" in times[0] and "2026-04-08T23:" in times[-1]  # JST, whole days
    assert all("2026-04-06" <= t[:10] <= "2026-04-08" for t in times)


def test_a_run_without_addresses_reports_nothing_of_d_14(tmp_path: Path) -> None:
    plain = attrs.evolve(QUIET, population=attrs.evolve(QUIET.population,
                                                        customers_per_address=0))
    run = simulated(plain, tmp_path)
    r, verifier = run.report, run.verifier
    assert r.client_addresses == 0 and verifier.counts[JUDGED_D14] == 0
    assert "D-14" not in text(r) and "D-14" not in report_page(r, tmp_path, [])
    assert "D-14" not in side_by_side([r]) and "接続元" not in compare_page([r], [])
    assert len(legend(r, tmp_path)) == 1


def test_an_address_is_shared_by_no_more_customers_than_there_are(tmp_path: Path) -> None:
    few = attrs.evolve(QUIET, days=1, population=attrs.evolve(QUIET.population, customers=2,
                                                               customers_per_address=10))
    said = text(simulated(few, tmp_path).report)
    assert "Client addresses (D-14): 1, each shared by up to 2 customers," in said


def test_a_person_refused_on_a_mistyped_password_waits_before_the_next_login(
        tmp_path: Path) -> None:
    """D-14 answers every 「ログイン」 here (the address is at its limit): a person who mistyped
    waits as told, then tries again (mistyping again, at rate 1), until the visit's re-logins
    are spent: one 「ログイン」 for each, none retyped 15 s after a refusal."""
    always = attrs.evolve(QUIET, days=1, behaviour=Behaviour(password_typo_rate=1.0,
                                                             max_relogins=2))
    simulation = Simulation(always, tmp_path)
    asked: dict[str, list[datetime]] = {}

    def refused(address: str, login_id: str, password: str, opening: Any = None) -> Throttled:
        asked.setdefault(login_id, []).append(clock.now())
        return Throttled(address)

    simulation.app.log_in_from = refused  # type: ignore[method-assign]
    simulation.run()
    simulation.close()
    tally = simulation.tally
    assert tally.visits > 0 and tally.gave_up == tally.visits == tally.throttled_visits
    assert tally.throttled == sum(map(len, asked.values())) == 3 * tally.visits
    gaps = [b - a for times in asked.values() for a, b in itertools.pairwise(times)]
    assert min(gaps) > timedelta(seconds=15)


def test_the_people_of_one_customer_log_in_from_its_address() -> None:
    for plan in customer_plans(STUFFED):
        address = client_address(plan.index // 3)
        assert {p.address for p in [plan.main, *(s for s, _ in plan.subs)]} == {address}
        assert plan.main.exposed == (plan.index < 3)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 9])
def test_shards_keep_the_customers_of_an_address_together(count: int) -> None:
    found = parts(STUFFED, count)
    assert len(found) == shard_count(STUFFED, count) == min(count, 4)
    assert all(p.customers[0] % 3 == 0 for p in found) and found[-1].customers[1] == 12


def test_shards_share_out_the_stuffers_work_too() -> None:
    """Two stuffers, the first two addresses: in two shards, one each (by login IDs alone
    the first shard would take both and nearly all the work)."""
    two = attrs.evolve(STUFFED, attack=Attack(addresses=2, tries_per_hour=300))
    assert [p.customers for p in parts(two, 2)] == [(0, 3), (3, 12)]


@pytest.mark.parametrize(("toml", "problem"), [
    ("[attack]\naddresses = 1\n",
     "attack.addresses = 1 needs population.customers_per_address"),
    ("[population]\ncustomers = 10\ncustomers_per_address = 4\n[attack]\naddresses = 4\n",
     "attack.addresses must be at most the customers' 3 addresses"),
    ("[attack]\ntries_per_hour = 0\n", "attack.tries_per_hour must be a number from 0.01"),
    ("[population]\ncustomers_per_address = -1\n",
     "population.customers_per_address must be a whole number from 0"),
    ("[population]\ncustomers_per_address = 2\n[attack]\naddresses = 1\ntries_per_hour = nan\n",
     "attack.tries_per_hour must be a number from 0.01 to 36,000 (not nan)"),
    ("[attack]\naddresses = 1\ntries_per_hour = -1\n",  # both named at once
     "attack.tries_per_hour must be …; attack.addresses = 1 needs"),
    ("[policy]\naddress_failure_limit = 50\n",  # D-14's own policy: nothing to count
     "policy.address_failure_limit = 50 needs population.customers_per_address"),
    ("[attack]\naddresses = 1\n[policy]\naddress_window_minutes = 30\n",
     "attack.addresses = 1 needs …; policy.address_window_minutes = 30 needs"),
    ("[population]\ncustomers_per_address = 2\n[policy]\naddress_failure_limit = 0\n",
     "policy.address_failure_limit must be a whole number from 1 to 100,000 (not 0)"),
    ("[population]\ncustomers_per_address = 2\n[policy]\naddress_window_minutes = nan\n",
     "policy.address_window_minutes must be a number from 0.5 to 60 (not nan)"),
    ("[population]\ncustomers_per_address = 2\n[policy]\naddress_window_minutes = 0.51\n",
     "policy.address_window_minutes must be whole seconds (not 0.51 minutes: 30.6 seconds)"),
])
def test_an_attack_that_cannot_run_is_refused_by_name(tmp_path: Path, toml: str,
                                                      problem: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ScenarioError, match=".*".join(map(re.escape, problem.split("…")))):
        load(path)


def test_the_shipped_stuffing_scenarios_load_and_differ_in_d_14_alone() -> None:
    scenario, strict = load("stuffing"), load("stuffing-strict")
    assert scenario.attack.addresses > 0 and scenario.population.customers_per_address > 0
    assert (strict.policy.address_failure_limit, strict.policy.address_window_minutes) == (10, 20)
    assert attrs.evolve(strict, name="stuffing", description=scenario.description,
                        policy=scenario.policy) == scenario


@pytest.mark.parametrize("seed", range(8))
def test_a_slow_stuffers_first_try_is_within_the_days_too(tmp_path: Path, seed: int) -> None:
    slow = attrs.evolve(STUFFED, seed=seed, days=1, attack=Attack(addresses=1, tries_per_hour=0.05))
    simulation = Simulation(slow, tmp_path)
    simulation.run()
    times = [record.requested_at for record in audit.history(audit.replay(simulation.app))
             if record.login_id.startswith("?")]
    simulation.close()
    assert all(t.startswith("2026-04-06") for t in times), times
    assert simulation.tally.tries == len(times)  # (each checked: far below the limit)


def test_a_shared_stores_events_are_found_by_their_customer_whatever_its_number() -> None:
    assert [customer_index(i) for i in ("c00042s1", "c123456", "c123456s0", "c00040x000017",
                                        "demo01", "c0004", "c00042y")] == [
        42, 123456, 123456, None, None, None, None]  # (a stuffer's: by its address)
    assert [counted_as(n, "try") for n in (1, 2)] == ["1 try", "2 tries"]


def test_in_chromium_the_people_behind_a_stuffer_are_seen_beside_everyone_else(
        chromium: Any, tmp_path: Path) -> None:
    """The shipped scenario, two days of it: the D-14 section and the plot, as README shows
    them."""
    r = simulated(attrs.evolve(load("stuffing"), days=2), tmp_path).report
    shown = tmp_path / "report.html"
    shown.write_text(report_page(r, tmp_path, plots.single(r, tmp_path)), encoding="utf-8")
    page = chromium.new_page(viewport={"width": 1000, "height": 1200})
    page.goto(shown.as_uri())
    section = page.locator("section", has_text="接続元IPアドレスごとの制限 (D-14)")
    exposed = section.locator("tr", has_text="攻撃元と同じアドレスの利用者")
    assert exposed.is_visible() and f"({r.exposed.logged_in:,}/{r.exposed.count:,})" in (
        exposed.inner_text())
    plot = page.locator("figure img").first
    assert plot.evaluate("img => img.naturalWidth") > 500  # decoded
    section.evaluate("s => { const both = document.createElement('div'); both.id = 'shot';"
                     " s.before(both); both.append(s, document.querySelector('figure')); }")
    page.locator("#shot").screenshot(  # (the picture: the section, the plot under it)
        path=str(screenshot_path("simulation-stuffing.png", tmp_path)))
    page.close()
