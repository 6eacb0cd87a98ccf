"""The small scenario the simulation tests run, as a Scenario and as a scenario file."""

from __future__ import annotations

from pathlib import Path

from simulations.runner import Simulation
from simulations.scenario import Behaviour, Population, Scenario

TINY = Scenario("tiny", days=4, seed=3, hash_cost=4,
                population=Population(customers=6, sub_ids_per_customer=(0, 2)),
                behaviour=Behaviour(password_typo_rate=0.2, mistype_rate=0.2))
TINY_TOML = "days = 1\nhash_cost = 4\n[population]\ncustomers = 1\n"


def run(scenario: Scenario, folder: Path) -> Simulation:
    simulation = Simulation(scenario, folder)
    simulation.run()
    return simulation
