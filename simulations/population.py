"""A scenario's population, drawn before anything runs: each customer's plan, main ID and
sub IDs (who has the notify key on), in order from one seeded stream, so that a shard
playing some customers gets exactly the people the whole run would; the shards' parts;
the simulations' reproducible entropy, and their digests remembered."""

from __future__ import annotations

import functools
import ipaddress
import random
from collections.abc import Iterator

import attrs

from domain.crypto import Hasher
from domain.forms import Plan
from simulations.scenario import Scenario


class SeededEntropy:
    """An Entropy (domain.crypto) for simulations only: reproducible, not secret. A shard of
    a run draws from a stream of its own (``stream``), so shards never mint one attempt id
    twice."""

    def __init__(self, seed: int, stream: str = "") -> None:
        self.rng = random.Random(f"entropy/{seed}{stream}")

    def token_bytes(self, nbytes: int) -> bytes:
        return self.rng.randbytes(nbytes)

    def randbelow(self, exclusive_upper_bound: int) -> int:
        return self.rng.randrange(exclusive_upper_bound)


class RememberingHasher(Hasher):
    """The scenario's scrypt digests, each derivation remembered (a bounded LRU): a simulated
    person types the same password against the same salt at every visit, and the key just
    mailed is checked against the salt it was digested with; scrypt gives the same bytes for
    the same input, so the store holds what it would without the memory. For simulations
    only: their passwords and keys are made up, and a served portal keeps no secret in
    memory (it digests every time)."""

    @staticmethod
    @functools.lru_cache(maxsize=2**16)
    def _derive(secret: str, salt: bytes, cost: int) -> bytes:
        return Hasher._derive(secret, salt, cost)


@attrs.define
class Person:
    login_id: str
    password: str
    email: str
    rng: random.Random  # when and how often they visit, and a seed for each visit's draws
    address: str = ""  # the client address logged in from (D-14); "" none
    exposed: bool = False  # a credential stuffer behind the same address


SHARED_SPACE = ipaddress.IPv4Address("100.64.0.0")  # RFC 6598's, a carrier NAT's (/10)


def client_address(index: int) -> str:
    """The ``index``th address customers share (0: the first)."""
    return str(SHARED_SPACE + index)


def address_index(scenario: Scenario, customer: int) -> int | None:
    """Which address customer ``customer`` logs in from, or None (the scenario gives none)."""
    shared = scenario.population.customers_per_address
    return customer // shared if shared else None


def part_addresses(scenario: Scenario, part: Part) -> set[str]:
    """The addresses the customers of ``part`` log in from (none if the scenario gives none)."""
    first, end = part.customers
    shared = scenario.population.customers_per_address
    return {client_address(n) for n in range(first // shared, _groups(end, shared))
            } if shared else set()


def addresses(scenario: Scenario) -> int:
    """How many addresses the scenario's customers share (0: none)."""
    shared, customers = scenario.population.customers_per_address, scenario.population.customers
    return _groups(customers, shared) if shared else 0


def _groups(customers: int, shared: int) -> int:
    """The addresses ``customers`` take, ``shared`` to one (the last may have fewer)."""
    return -(-customers // shared)


@attrs.define
class CustomerPlan:
    """One customer as the scenario draws it: its plan, main ID and sub IDs, each with the
    notify key on or off. Drawn for every customer in order from one seeded stream, so a
    shard running some of them gets exactly the people the whole run would."""

    index: int
    plan: Plan
    main: Person
    notify_key: bool
    subs: list[tuple[Person, bool]]

    @property
    def people(self) -> int:
        return 1 + len(self.subs)


def customer_plans(scenario: Scenario) -> Iterator[CustomerPlan]:
    """Every customer of the scenario, in order (cheap: no store, no hashing)."""
    population, rng = scenario.population, random.Random(f"people/{scenario.seed}")

    def person(login_id: str, address: str, exposed: bool) -> Person:
        return Person(login_id, f"Pw-{rng.getrandbits(64):016x}", f"{login_id}@example.co.jp",
                      random.Random(f"{scenario.seed}/{login_id}"), address, exposed)

    for i in range(population.customers):
        plan = Plan.DOWNLOAD if rng.random() < population.download_plan_share else Plan.STANDARD
        n = address_index(scenario, i)
        address = "" if n is None else client_address(n)
        exposed = n is not None and n < scenario.attack.addresses
        main = person(f"c{i:05d}", address, exposed)
        on = rng.random() < population.notify_key_share
        low, high = population.sub_ids_per_customer
        subs = []
        for j in range(rng.randint(low, high)):
            sub = person(f"c{i:05d}s{j}", address, exposed)
            subs.append((sub, rng.random() < population.notify_key_share))
        yield CustomerPlan(i, plan, main, on, subs)


@attrs.frozen
class Part:
    """The customers one shard of a run plays: ``customers`` (indices, a half-open range),
    shard ``index`` of ``count``."""

    index: int
    count: int
    customers: tuple[int, int]

    @property
    def name(self) -> str:
        first, end = self.customers
        return (f"shard {self.index + 1} of {self.count} "
                f"(customers c{first:05d}..c{end - 1:05d})")

    @property
    def size(self) -> int:
        """How many customers the shard plays."""
        first, end = self.customers
        return end - first

    @property
    def entropy_stream(self) -> str:
        return "" if self.count == 1 else f"/shard-{self.index + 1}-of-{self.count}"
