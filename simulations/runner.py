"""The runner: a scenario's people log in, day after simulated day, through the same
application services the specs use, on a real SQLite store, with the model's clock moved
by hand (domain.clock.Simulated; the specs move it with freezegun).

Each person's wish to log in is a *visit*: 「ログイン」, maybe a mistyped password, the key
mail after its delay (or never), typing the key (maybe wrong), then the top page, or a
re-login after an expired key, or a call to the contact LG-8 names; from a client address
the scenario gives, D-14 may tell it to wait. A credential stuffer's tries (D-14) share
the queue: visits and tries are actions on one queue ordered by simulated time; the clock
jumps from one to the next.

Deterministic: people draw from their own seeded random streams, and keys, salts and
attempt ids from a seeded Entropy, so the same seed records the same events. A person's
stream draws only when and how often they visit, and a seed for each visit; a visit draws
its typos, mail delays and typing from its own stream. So runs of one scenario under two
policies see the same visits at the same times, each drawing the same numbers as far as
its screens let it (common random numbers): what differs is the policy's doing, not a
stream that came apart after one outcome changed.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from uuid import UUID

import attrs

from application import bootstrap
from application.japan_time import JST
from application.outcomes import (
    ErrorPage,
    KeyEntry,
    LoginScreen,
    Refusal,
    Throttled,
    TopPage,
)
from application.samples import INFORMATION
from application.screens import retry_minute
from domain import clock
from domain.forms import NOTIFY_KEY_OFF, NOTIFY_KEY_ON
from simulations.business_days import is_business_day
from simulations.mailnet import MailNetwork
from simulations.population import (
    Part,
    Person,
    RememberingHasher,
    SeededEntropy,
    customer_plans,
)
from simulations.run_folder import STORE, STORE_FILES
from simulations.scenario import Scenario
from simulations.stuffers import Stuffers
from simulations.tally import Tally


class RunStopped(Exception):
    """The run's ``stop`` said so: it ended where it was, its store stopped short."""


@attrs.define
class Visit:
    person: Person
    began: datetime
    rng: random.Random  # its own draws (a person's stream draws only the visits)
    relogins: int = 0
    keys: int = 0  # keys mailed to it
    throttled: bool = False  # a login of it refused unchecked (D-14)


class Simulation:
    def __init__(self, scenario: Scenario, folder: Path,
                 on_day: Callable[[int], None] | None = None,
                 store: bootstrap.StoreSettings | None = None, part: Part | None = None,
                 stop: Callable[[], bool] | None = None,
                 on_customer: Callable[[], None] | None = None, alone: bool = False) -> None:
        """``store``: eventsourcing settings of another store (default: a fresh SQLite file
        in ``folder``), ``alone`` if this run is its only writer (as of its own); ``part``:
        only these customers (default: all of them); ``stop``:
        asked after each customer onboarded and before each day, True ends the run there
        (RunStopped); ``on_customer``: told of each customer onboarded (a progress bar's
        step, before the days')."""
        self.scenario, self.folder, self.on_day, self.stop = scenario, folder, on_day, stop
        self.on_customer = on_customer
        self.part = part or Part(0, 1, (0, scenario.population.customers))
        folder.mkdir(parents=True, exist_ok=True)
        if store is None:
            for old in STORE_FILES:
                (folder / old).unlink(missing_ok=True)  # a run leaves exactly its own events
            store, alone = bootstrap.store_settings("sqlite", self.store), True
        entropy = SeededEntropy(scenario.seed, self.part.entropy_stream)
        self.mail = MailNetwork()
        self.app = bootstrap.simulation(
            store, mailer=self.mail, hasher=RememberingHasher(scenario.hash_cost, entropy),
            policy=scenario.policy.login_policy(), entropy=entropy,
        )
        if alone:
            self.app.write_alone()  # (when its store is empty: a run begins with nothing)
        self.tally = Tally()
        self.people: list[Person] = []
        self._queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()

    @property
    def store(self) -> Path:
        return self.folder / STORE

    def run(self) -> Tally:
        first_day = datetime.combine(self.scenario.start, time(7), JST).astimezone(UTC)
        try:
            with clock.Simulated(first_day - timedelta(days=1)) as simulated:
                self._onboard()
                self._at(first_day, lambda: self._day(0))
                Stuffers(self.scenario, self.part.customers, self.app, self.tally,
                         self._at).start(*self._whole_days())
                while self._queue:
                    moment, _, action = heapq.heappop(self._queue)
                    simulated.move_to(moment)
                    action()
        finally:
            gc.unfreeze()  # (see _day) the collector may walk them again
        return self.tally

    def close(self) -> None:
        self.app.close()

    def _at(self, moment: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (moment, next(self._order), action))

    def _after(self, seconds: float, action: Callable[[], None]) -> None:
        self._at(clock.now() + timedelta(seconds=seconds), action)

    # The population, onboarded through the services ------------------------------------
    def _onboard(self) -> None:
        first, end = self.part.customers
        for customer in itertools.islice(customer_plans(self.scenario), first, end):
            i, main = customer.index, customer.main
            self.people.append(main)
            session = self.app.onboard_customer(
                f"BS{i:07d}", f"シミュレーション{i}", "シミュレーション", customer.plan,
                main.login_id, main.password,
                INFORMATION | {"email": main.email, "email_confirmation": main.email,
                               "notify_key": NOTIFY_KEY_ON if customer.notify_key
                               else NOTIFY_KEY_OFF},
            )
            for j, (sub, on) in enumerate(customer.subs):
                self.people.append(sub)
                form = {"login_id": sub.login_id, "temporary_password": sub.password,
                        "person_in_charge": f"担当者{j}", "phone": "0398765432",
                        "email": sub.email, "notify_key": NOTIFY_KEY_ON if on else NOTIFY_KEY_OFF}
                self.app.submit_new_sub_id(session, self.app.confirm_new_sub_id(session, form))
            if self.on_customer:
                self.on_customer()
            self._stop_if_asked()  # (onboarding takes minutes at production's hash cost)
        self.tally.people = len(self.people)

    def _stop_if_asked(self) -> None:
        if self.stop is not None and self.stop():
            raise RunStopped

    def _whole_days(self) -> tuple[datetime, datetime]:
        """From the first day's midnight to the last's end, JST, in UTC."""
        first = datetime.combine(self.scenario.start, time(0), JST)
        return first.astimezone(UTC), (first + timedelta(days=self.scenario.days)).astimezone(UTC)

    # Days and visits ------------------------------------------------------------------
    def _day(self, index: int) -> None:
        self._stop_if_asked()
        # What lives at a day's start (the population, the accounts, the application's
        # aggregate cache) mostly lives on. Frozen, it is left out of the collector's full
        # passes, which grow with the population and mostly came with this method's burst
        # of new visits: at 5,000 customers those passes took a fifth of their time, and a
        # run 4-5% less (two runs side by side). Reference counting still frees what is
        # frozen; only a cycle among frozen objects waits for run()'s unfreeze at the end
        # (peak RSS at full size: 263 MiB with and without). Freezing is process-wide: two
        # runs on one process's threads unfreeze each other's, which costs only time.
        gc.freeze()
        today = self.scenario.start + timedelta(days=index)
        if is_business_day(today, self.scenario.behaviour.public_holidays):
            behaviour = self.scenario.behaviour
            start_hour, end_hour = behaviour.hours_jst
            for person in self.people:
                rate = behaviour.logins_per_business_day
                visits = int(rate) + (person.rng.random() < rate - int(rate))
                for _ in range(visits):
                    at = datetime.combine(today, time(start_hour), JST) + timedelta(
                        seconds=person.rng.uniform(0, (end_hour - start_hour) * 3600))
                    self._at(at.astimezone(UTC), self._visit(person, person.rng.getrandbits(64)))
        if self.on_day:
            self.on_day(index)
        if index + 1 < self.scenario.days:
            self._at(datetime.combine(today + timedelta(days=1), time(7), JST).astimezone(UTC),
                     lambda: self._day(index + 1))

    def _visit(self, person: Person, seed: int) -> Callable[[], None]:
        def begin() -> None:
            self.tally.visits += 1
            self.tally.exposed_visits += person.exposed
            self._log_in(Visit(person, clock.now(), random.Random(seed)))
        return begin

    def _log_in(self, visit: Visit, typo_allowed: bool = True) -> None:
        person, behaviour = visit.person, self.scenario.behaviour
        if typo_allowed and visit.rng.random() < behaviour.password_typo_rate:
            if isinstance(self._ask(visit, person.password + "x"), Throttled):
                self._wait(visit)
            else:  # LOGIN_FAILED (D-9): typed again at once
                self._after(15, lambda: self._log_in(visit, typo_allowed=False))
            return
        screen = self._ask(visit, person.password)
        if isinstance(screen, Throttled):
            self._wait(visit)
        elif isinstance(screen, TopPage):
            self._done(visit)
        elif isinstance(screen, KeyEntry):
            self.tally.keys_reissued += visit.keys > 0
            visit.keys += 1
            self._key_mailed(visit, screen.attempt_id)
        elif (isinstance(screen, ErrorPage) and screen.refusal is Refusal.KEY_LIMIT
              and screen.retry_at is not None
              and visit.rng.random() < behaviour.return_at_key_limit):
            self._again(visit, retry_minute(screen.retry_at))  # the minute the page gives
        else:  # the key mail could not be sent, or D-10's wait is too long: call
            self._call_support(visit)

    def _ask(self, visit: Visit, password: str) -> LoginScreen | Throttled:
        """「ログイン」, from the person's address when the scenario gives one (D-14)."""
        person = visit.person
        if not person.address:
            return self.app.log_in(person.login_id, password)
        screen = self.app.log_in_from(person.address, person.login_id, password)
        if isinstance(screen, Throttled):
            self.tally.throttled += 1
            self.tally.throttled_visits += not visit.throttled
            visit.throttled = True
        return screen

    def _wait(self, visit: Visit) -> None:
        """「しばらく時間をおいてから再度ログインしてください。」 (D-14): a while, then again."""
        wait = self.scenario.behaviour.throttled_wait.sample(visit.rng)
        self._again(visit, clock.now() + timedelta(seconds=wait), waited=True)

    def _key_mailed(self, visit: Visit, attempt_id: UUID) -> None:
        behaviour, rng = self.scenario.behaviour, visit.rng
        key = self.mail.take_key(visit.person.email)
        if key is None or rng.random() < behaviour.mail_lost_share:
            self._after(behaviour.patience.sample(rng), lambda: self._again(visit))
            return
        arrives = behaviour.mail_delay.sample(rng)
        self._after(arrives + behaviour.typing.sample(rng),
                    lambda: self._enter_key(visit, attempt_id, key))

    def _enter_key(self, visit: Visit, attempt_id: UUID, key: str) -> None:
        behaviour, rng = self.scenario.behaviour, visit.rng
        typed = _mistyped(key, rng) if rng.random() < behaviour.mistype_rate else key
        screen = self.app.enter_key(attempt_id, typed)
        if isinstance(screen, TopPage):
            self._done(visit)
        elif isinstance(screen, KeyEntry):  # a wrong key: type it again while it is valid
            self._after(behaviour.typing.sample(rng) / 2,
                        lambda: self._enter_key(visit, attempt_id, key))
        elif (isinstance(screen, ErrorPage) and screen.refusal is Refusal.KEY_EXPIRED
              and rng.random() >= behaviour.relogin_after_expiry):
            self._call_support(visit)
        else:  # expired, locked (D-9 shows it as a failed login) or superseded
            self._again(visit)

    def _again(self, visit: Visit, at: datetime | None = None, waited: bool = False) -> None:
        """Log in again for a new key (LG-6), half a minute from now or ``at``; or call when
        it is enough (LG-8), or give up when it was D-14's wait (no contact is named for
        it). One budget, ``max_relogins``, for all of them."""
        if visit.relogins >= self.scenario.behaviour.max_relogins:
            if waited:
                self.tally.gave_up += 1
            else:
                self._call_support(visit)
            return
        visit.relogins += 1
        self._at(at or clock.now() + timedelta(seconds=30), lambda: self._log_in(visit))

    def _done(self, visit: Visit) -> None:
        self.tally.logged_in += 1
        seconds = (clock.now() - visit.began).total_seconds()
        self.tally.seconds_to_login.append(seconds)
        if visit.person.exposed:
            self.tally.exposed_seconds.append(seconds)

    def _call_support(self, visit: Visit) -> None:
        """LG-8: the screen names whom to ask; the route is counted."""
        route = self.app.key_mail_contact(visit.person.login_id).route
        self.tally.support[route] = self.tally.support.get(route, 0) + 1


def _mistyped(key: str, rng: random.Random) -> str:
    i = rng.randrange(len(key))
    return key[:i] + str((int(key[i]) + rng.randrange(1, 10)) % 10) + key[i + 1:]


