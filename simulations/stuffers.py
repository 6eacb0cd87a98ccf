"""Credential stuffers in a run (D-14): one behind each attacked client address that the
run's customers log in from, trying passwords from a leaked list day and night, on the
runner's queue beside the people's visits."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from application.billing_station import BillingStation
from application.outcomes import Throttled
from domain import clock
from simulations.population import client_address
from simulations.scenario import Scenario
from simulations.tally import Tally

Schedule = Callable[[datetime, Callable[[], None]], None]  # the runner's: at that instant, do


@attrs.frozen
class Stuffers:
    scenario: Scenario
    customers: tuple[int, int]  # the run's (a shard's): from the first, up to the end
    app: BillingStation
    tally: Tally
    at: Schedule

    def start(self, start: datetime, end: datetime) -> None:
        """Each stuffer tries from ``start`` to ``end`` (a Poisson process at the scenario's
        rate): its own seeded stream whatever the shard, and login IDs that do not exist
        (``c00042x…``, after the address's first customer; recorded as tags, found in a
        shared store by their address)."""
        shared, (first, end_customer) = (self.scenario.population.customers_per_address,
                                         self.customers)
        for n in range(self.scenario.attack.addresses):
            if first <= n * shared < end_customer:
                rng = random.Random(f"{self.scenario.seed}/attack/{n}")
                first_try = start + self._between_tries(rng)
                if first_try < end:
                    self.at(first_try, self._try(n, rng, end))

    def _between_tries(self, rng: random.Random) -> timedelta:
        return timedelta(seconds=rng.expovariate(self.scenario.attack.tries_per_hour / 3600))

    def _try(self, n: int, rng: random.Random, end: datetime) -> Callable[[], None]:
        first_customer = f"c{n * self.scenario.population.customers_per_address:05d}"

        def attempt() -> None:
            screen = self.app.log_in_from(client_address(n),
                                          f"{first_customer}x{rng.randrange(10**6):06d}",
                                          f"Leaked-{rng.randrange(1000):03d}")
            self.tally.tries += 1
            self.tally.tries_refused += isinstance(screen, Throttled)
            then = clock.now() + self._between_tries(rng)
            if then < end:
                self.at(then, self._try(n, rng, end))
        return attempt
