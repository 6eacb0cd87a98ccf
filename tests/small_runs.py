"""The small scenarios the simulation tests run (TINY also as a scenario file; SMALL in
shards, and for verify at scale), and the rows a run stores."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from simulations.runner import Simulation
from simulations.scenario import Behaviour, Population, Scenario

TINY = Scenario("tiny", days=4, seed=3, hash_cost=4,
                population=Population(customers=6, sub_ids_per_customer=(0, 2)),
                behaviour=Behaviour(password_typo_rate=0.2, mistype_rate=0.2))
TINY_TOML = "days = 1\nhash_cost = 4\n[population]\ncustomers = 1\n"
START = datetime(2026, 12, 1, tzinfo=UTC)
SMALL = Scenario("small", days=3, seed=11, hash_cost=4,
                 population=Population(customers=14, sub_ids_per_customer=(0, 3)),
                 behaviour=Behaviour(password_typo_rate=0.2, mistype_rate=0.2))


def run(scenario: Scenario, folder: Path) -> Simulation:
    simulation = Simulation(scenario, folder)
    simulation.run()
    return simulation


def stored_rows(store: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(store) as db:
        return db.execute("SELECT rowid, originator_id, originator_version, topic, state "
                          "FROM stored_events ORDER BY rowid").fetchall()
