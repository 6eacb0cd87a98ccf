"""Simulations: deterministic for a seed, clean under verify, sensitive to the policy, with
a report and plots. At the command line: test_simulate_command.py; their scenario files:
test_scenario_files.py."""

from __future__ import annotations

import gc
import itertools
import json
import random
import re
import sqlite3
import threading
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from application.audit import verify
from application.japan_time import JST
from application.outcomes import ErrorPage, KeyEntry, LoginScreen, Refusal
from application.screens import retry_minute
from domain import clock
from domain.crypto import Hasher
from simulations.experiments import _run_figures
from simulations.population import RememberingHasher
from simulations.report import report
from simulations.report_html import RunFigures, report_page
from simulations.report_text import text
from simulations.runner import RunStopped, Simulation, _mistyped
from simulations.scenario import Behaviour, Delay, Population, Scenario, ScenarioError, load
from tests.small_runs import TINY, run
from tests.test_plot_labels import made


def rows(store: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(store) as db:
        return db.execute("SELECT originator_id, originator_version, topic, state "
                          "FROM stored_events ORDER BY rowid").fetchall()


@pytest.mark.parametrize("asked", [2, 6 + 3])  # onboarding its 6 customers, or on day 3
def test_a_run_asked_to_stop_ends_at_its_next_customer_or_day(tmp_path: Path,
                                                              asked: int) -> None:
    """``stop`` is asked after each customer onboarded and before each day."""
    questions = itertools.count(1)
    simulation = Simulation(TINY, tmp_path, stop=lambda: next(questions) == asked)
    with pytest.raises(RunStopped):
        simulation.run()
    simulation.close()
    topics = [topic for _, _, topic, _ in rows(simulation.store)]
    assert sum(str(t).endswith(":Customer.Onboarded") for t in topics) == min(asked, 6)
    whole = run(TINY, tmp_path / "whole").tally.visits
    assert (0 < simulation.tally.visits < whole) is (asked > 6)  # days 1 and 2, not 3 and 4


def test_a_run_spares_the_collector_what_lives_on_and_hands_it_back_at_its_end(
        tmp_path: Path) -> None:
    """Each day's start freezes what lives (gc.freeze: the collector's full passes stop
    walking the population and the aggregate cache again and again); a run that ends, or
    is stopped, unfreezes it."""
    frozen: list[int] = []
    simulation = Simulation(TINY, tmp_path / "whole",
                            on_day=lambda _: frozen.append(gc.get_freeze_count()))
    simulation.run()
    simulation.close()
    assert len(frozen) == TINY.days and min(frozen) > 0
    assert gc.get_freeze_count() == 0
    questions = itertools.count(1)
    stopped = Simulation(TINY, tmp_path / "stopped", stop=lambda: next(questions) == 6 + 3)
    with pytest.raises(RunStopped):
        stopped.run()
    stopped.close()
    assert gc.get_freeze_count() == 0


def test_the_same_seed_records_the_same_events_and_numbers(tmp_path: Path) -> None:
    first, second = run(TINY, tmp_path / "a"), run(TINY, tmp_path / "b")
    assert rows(first.store) == rows(second.store) and len(rows(first.store)) > 100
    assert report(first).as_json() == report(second).as_json()
    other = run(attrs.evolve(TINY, seed=4), tmp_path / "c")
    assert rows(other.store) != rows(first.store)
    for simulation in (first, second, other):
        simulation.close()


def test_every_event_is_stamped_by_the_simulated_clock_and_only_the_model_sees_it(
        tmp_path: Path) -> None:
    """Those the domain stamps and those the library stamps (creations at onboarding)
    alike; outside the run, and in other threads' code than the model's, time is real."""
    simulation = run(TINY, tmp_path)
    with sqlite3.connect(simulation.store) as db:
        stamps = [datetime.fromisoformat(json.loads(state)["timestamp"]["_data_"])
                  for (state,) in db.execute("SELECT state FROM stored_events")]
    begins = datetime.combine(TINY.start, time(7), JST) - timedelta(days=1)
    assert begins <= min(stamps) and max(stamps) < begins + timedelta(days=TINY.days + 1)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize("public_holidays", [True, False])
def test_nobody_logs_in_on_a_public_holiday_unless_the_scenario_works_through_them(
        tmp_path: Path, public_holidays: bool) -> None:
    """2026-04-28..30: Tuesday, 昭和の日 (Wednesday), Thursday."""
    scenario = attrs.evolve(TINY, start=date(2026, 4, 28), days=3, behaviour=attrs.evolve(
        TINY.behaviour, public_holidays=public_holidays))
    simulation = run(scenario, tmp_path)
    with sqlite3.connect(simulation.store) as db:
        days = {datetime.fromisoformat(json.loads(state)["timestamp"]["_data_"]).astimezone(JST)
                .day for (state,) in db.execute("SELECT state FROM stored_events WHERE topic "
                                                "LIKE '%.LoginRequested'")}  # (no ...From)
    assert days == ({28, 30} if public_holidays else {28, 29, 30})
    shown = report(simulation)
    assert shown.holidays_off == ({"2026-04-29": "昭和の日"} if public_holidays else {})
    assert f"Days off: {'2026-04-29 昭和の日' if public_holidays else 'none'}\n" in text(shown)
    assert f"休日: {'2026/04/29 昭和の日' if public_holidays else 'なし'}</p>" in report_page(
        shown, tmp_path, [])  # (three weekdays: it said "weekends" as if some were off)
    saturday = attrs.evolve(shown, start="2026-04-25", days=3)  # (a made-up report's dates)
    assert "Days off: 2 weekend days" in text(saturday)
    assert "休日: 土日 2日" in report_page(saturday, tmp_path, [])


@pytest.mark.parametrize(("toml", "problem"), [
    ("[behaviour]\npublic_holidays = 1", "behaviour.public_holidays must be true or false"),
    ("start = 2099-12-30\ndays = 3", "behaviour.public_holidays: Japan's public holidays are "
                                     "known up to 2099; set it to false"),
])
def test_public_holidays_are_a_flag_known_up_to_2099(tmp_path: Path, toml: str,
                                                     problem: str) -> None:
    path = tmp_path / "holidays.toml"
    path.write_text(toml)
    with pytest.raises(ScenarioError, match=re.escape(problem)):
        load(path)
    path.write_text(toml.split("[behaviour]")[0] + "\n[behaviour]\npublic_holidays = false\n")
    assert load(path).behaviour.public_holidays is False


def test_one_simulated_clock_at_a_time_in_a_process() -> None:
    seen: list[datetime] = []
    other = threading.Thread(target=lambda: seen.append(_held(datetime(2030, 1, 1, tzinfo=UTC))))
    with clock.Simulated(datetime(2020, 1, 1, tzinfo=UTC)) as simulated:
        other.start()
        simulated.move_to(datetime(2020, 1, 2, tzinfo=UTC))
        other.join(0.2)
        assert other.is_alive() and clock.now() == datetime(2020, 1, 2, tzinfo=UTC)
    other.join(5)
    assert seen == [datetime(2030, 1, 1, tzinfo=UTC)]


def _held(start: datetime) -> datetime:
    with clock.Simulated(start):
        return clock.now()


def test_a_simulated_store_verifies_clean_and_its_report_adds_up(tmp_path: Path) -> None:
    simulation = run(TINY, tmp_path)
    assert list(verify(simulation.app)) == []
    r = report(simulation)
    simulation.close()
    assert r.visits > 0 and r.visits == r.logged_in + sum(r.support.values())
    assert r.slowest_login == round(max(r.histogram), 1)  # (a tenth of a second: report.json)
    assert (r.attacked_addresses, r.tries_per_hour) == (0, 0)  # (no stuffer: no rate of one)
    assert r.attempts == sum(r.outcomes.values())
    assert r.outcomes["completed"] == r.logged_in == r.with_key + r.without_key
    assert r.outcomes["password_rejected"] > 0  # typos, at 20% here
    assert r.without_key >= r.people  # every login ID's first login needs no key (D-1)
    assert len(r.histogram) == r.logged_in


def test_a_shorter_validity_expires_more_keys_when_mail_is_slow(tmp_path: Path) -> None:
    slow = attrs.evolve(TINY, days=5, behaviour=Behaviour(mail_delay=Delay(240, 900)),
                        population=Population(customers=10, notify_key_share=1.0))
    short = report(run(slow.with_policy(key_validity_minutes=5), tmp_path / "5"))
    long = report(run(slow.with_policy(key_validity_minutes=15), tmp_path / "15"))
    assert short.outcomes["expired"] > long.outcomes["expired"]
    assert short.keys_reissued > long.keys_reissued


def test_LG_6_a_visit_counts_as_re_issued_each_key_after_its_first(tmp_path: Path) -> None:
    """Every key outlives its validity in the post: each keyed visit logs in once again for
    a second key (LG-6), which expires too, then calls (LG-8). Half the keys are re-issued;
    counted from the third key on, none were."""
    never_in_time = Behaviour(mail_delay=Delay(900, 900), mistype_rate=0,
                              password_typo_rate=0, mail_lost_share=0,
                              relogin_after_expiry=1.0, max_relogins=1)
    scenario = attrs.evolve(TINY, days=5, behaviour=never_in_time, population=Population(
        customers=2, sub_ids_per_customer=(0, 0), notify_key_share=1.0))
    r = report(run(scenario, tmp_path))
    assert r.outcomes["expired"] == r.keys_issued > 0
    assert r.keys_reissued * 2 == r.keys_issued


def test_runs_under_two_policies_see_the_same_visits_each_drawing_alike(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Common random numbers: a person's stream draws only their visits, each visit its own
    mail delays, typing and typos. One stream for all had come apart after a first outcome
    the policy changed, so a person visited at other times after it (1,427 visits against
    1,428), and a comparison showed the streams' noise as the policy's doing."""
    seen: list[tuple[str, datetime, float]] = []
    visit = Simulation._visit

    def watched(self: Simulation, person: Any, seed: int) -> Any:
        begin = visit(self, person, seed)

        def begun() -> None:
            seen.append((person.login_id, clock.now(), random.Random(seed).random()))
            begin()
        return begun

    monkeypatch.setattr(Simulation, "_visit", watched)
    slow = attrs.evolve(TINY, days=5, behaviour=Behaviour(mail_delay=Delay(240, 900)),
                        population=Population(customers=10, notify_key_share=1.0))
    runs = {}
    for minutes in (5, 15):
        seen.clear()
        runs[minutes] = (report(run(slow.with_policy(key_validity_minutes=minutes),
                                    tmp_path / str(minutes))), sorted(seen))
    (short, short_visits), (long, long_visits) = runs[5], runs[15]
    assert short.outcomes["expired"] > long.outcomes["expired"]  # (the policy's doing)
    assert short_visits == long_visits and short.visits == long.visits == len(short_visits)


def test_D_10_a_person_refused_comes_back_at_the_time_the_page_gives(tmp_path: Path) -> None:
    """Most key mails lost, a re-login every five minutes or so: a visit's sixth key within
    the hour is refused under D-10. A person who comes back does so at the very minute the
    page gives, and that login gets its key (the earlier mails allow it); one who does not
    come back, or has logged in again as often as a visit does, calls LG-8's contact."""
    lossy = attrs.evolve(TINY, days=3, behaviour=Behaviour(
        mail_lost_share=0.7, patience=Delay(300, 400), max_relogins=100,
        password_typo_rate=0, return_at_key_limit=1.0),
        population=Population(customers=10, notify_key_share=1.0))
    back, seen = _logins_seen(lossy, tmp_path / "back")
    refused = _refused_under_d_10(seen)
    assert len(refused) >= 3
    for who, minute in refused:
        again = [screen for other, at, screen in seen if other == who and at == minute]
        assert again and isinstance(again[0], KeyEntry), (who, minute)
    assert list(verify(back.app)) == []
    calls = sum(report(back).support.values())

    for name, behaviour in (  # nobody comes back; or the sixth login was the last allowed
            ("away", attrs.evolve(lossy.behaviour, return_at_key_limit=0.0)),
            ("spent", attrs.evolve(lossy.behaviour, max_relogins=5))):
        other, seen = _logins_seen(attrs.evolve(lossy, behaviour=behaviour), tmp_path / name)
        refused = _refused_under_d_10(seen)
        assert refused and not any(login_id == who and at == minute
                                   for who, minute in refused for login_id, at, _ in seen)
        assert sum(report(other).support.values()) > calls
        r = report(other)  # (each visit ends logged in or at support: counted once)
        assert r.visits == r.logged_in + sum(r.support.values()) and r.support


Seen = list[tuple[str, datetime, LoginScreen]]  # (login ID, when, the screen its login gave)


def _logins_seen(scenario: Scenario, folder: Path) -> tuple[Simulation, Seen]:
    simulation, seen = Simulation(scenario, folder), []
    log_in = simulation.app.log_in

    def spied(login_id: str, password: str, *rest: Any) -> LoginScreen:
        screen = log_in(login_id, password, *rest)
        seen.append((login_id, clock.now(), screen))
        return screen
    simulation.app.log_in = spied  # type: ignore[method-assign,assignment]
    simulation.run()
    return simulation, seen


def _refused_under_d_10(seen: Seen) -> list[tuple[str, datetime]]:
    """Each D-10 refusal's login ID and the minute its page gives."""
    return [(who, retry_minute(screen.retry_at)) for who, _, screen in seen
            if isinstance(screen, ErrorPage) and screen.refusal is Refusal.KEY_LIMIT
            and screen.retry_at]


def test_a_simulation_derives_a_secret_checked_again_once(derivations: list[tuple[str, int]]
                                                          ) -> None:
    """A simulated person's password (or the key just mailed) checked against the same salt
    again is not derived again: the first derivation's bytes serve, and a wrong secret is
    still derived and refused."""
    hasher = RememberingHasher(cost=1)
    digest = hasher.digest("Simulated-pass1")
    assert hasher.matches("Simulated-pass1", digest) and hasher.matches("Simulated-pass1", digest)
    assert not hasher.matches("Simulated-pass2", digest)
    assert Hasher(cost=1).matches("Simulated-pass1", digest)  # the same digest as ever
    assert [secret for secret, _ in derivations] == [
        "Simulated-pass1", "Simulated-pass2", "Simulated-pass1"]


def test_a_run_too_short_for_tenths_of_a_second_says_its_milliseconds() -> None:
    """A two-day run of five customers "ran in 0.0 s: 5,914 events/s stored"."""
    ran = attrs.evolve(made(10, 60), events=70)
    assert _run_figures(ran, RunFigures(0.012, 80.0)).startswith(
        "ran in 12 ms: 5,833 events/s stored")
    assert _run_figures(ran, RunFigures(2.5, 80.0)).startswith("ran in 2.5 s: 28 events/s")




def test_a_key_mistyped_is_the_key_with_one_digit_changed_never_the_key_itself() -> None:
    """A mistype that gave the key back (a digit 'changed' to itself) would log in: a
    scenario's mistype_rate would be a tenth lower than it says."""
    rng, key = random.Random(3), "123456789012"
    typed = [_mistyped(key, rng) for _ in range(500)]
    assert all(len(t) == 12 and sum(a != b for a, b in zip(t, key, strict=True)) == 1
               for t in typed)
    assert {i for t in typed for i, (a, b) in enumerate(zip(t, key, strict=True)) if a != b} == (
        set(range(12)))
