"""verify of several stores at once (a sharded simulation's): one process per store, their
findings merged, each violation named with the store it is in.

Each store is a whole history of its own customers (a shard never splits a customer), so
verifying them apart is verifying them together; the counts add up.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import closing
from pathlib import Path

import attrs

from application import bootstrap
from application.adapters.eventstore import StoredEventError
from application.audit.attempt_book import OutOfOrder
from application.audit.policies import looser_than
from application.audit.reading import NotAnEventStore, located, recalled_from
from application.audit.verify import Verifier, Violation, d14_unjudged, events_to_verify
from domain.policy import LoginPolicy


@attrs.frozen
class Findings:
    """What verify found in one or more stores: counts summed, violations by store."""

    counts: Counter[str]
    violations: list[tuple[str, Violation]]  # (the store, the violation)
    # (the store, what is wrong with it and why): read up to there only
    unreadable: list[tuple[str, str]] = attrs.Factory(list)
    # (the store, its first attempt event stamped over a minute before one stored ahead)
    out_of_order: tuple[str, OutOfOrder] | None = None
    # the stores whose login attempts record no client address: D-14 not judged there
    d14_unjudged: list[str] = attrs.Factory(list)


def verify_store(path: Path, expected: LoginPolicy | None = None) -> Findings:
    """One SQLite store, verified whole in this process; one that is no store of ours, or
    holding an event that cannot be read, or missing some, is named with why, its findings
    up to there kept (the others' stand). With ``expected`` (--expect-policy), each policy
    its events record looser than it is a finding too."""
    findings = _verified(path)
    return findings if expected is None else attrs.evolve(findings, violations=[
        *findings.violations, *((str(path), v) for v in looser_than(expected, findings.counts))])


def _verified(path: Path) -> Findings:
    try:
        reader = bootstrap.audit_reader(store=bootstrap.store_settings("sqlite", path))
    except NotAnEventStore as e:  # (empty, another program's, damaged): named, the
        return Findings(Counter(), [], [_unread(path, e)])  # others' findings stand
    verifier, found = Verifier(), []
    try:
        with located(reader), closing(events_to_verify(reader)) as read:
            for violation in verifier.check(read, recall=recalled_from(reader)):
                found.append((str(path), violation))
    except StoredEventError as e:
        return Findings(verifier.counts, found, [(str(path), f"{e.what}: {e}")],
                        _first(path, verifier))
    except NotAnEventStore as e:  # (a page damaged further on)
        return Findings(verifier.counts, found, [_unread(path, e)], _first(path, verifier))
    finally:
        reader.close()
    return Findings(verifier.counts, found, out_of_order=_first(path, verifier),
                    d14_unjudged=[str(path)] if d14_unjudged(verifier.counts) else [])


def _first(path: Path, verifier: Verifier) -> tuple[str, OutOfOrder] | None:
    first = verifier.attempts.first_out_of_order
    return (str(path), first) if first else None


def _unread(path: Path, e: NotAnEventStore) -> tuple[str, str]:
    """The store, and why it is not one of ours (its message names it first)."""
    return str(path), str(e).removeprefix(f"{path} ")


def merged(findings: list[Findings]) -> Findings:
    counts: Counter[str] = Counter()
    for f in findings:
        counts.update(f.counts)
    return Findings(counts, [v for f in findings for v in f.violations],
                    [u for f in findings for u in f.unreadable],
                    next((f.out_of_order for f in findings if f.out_of_order), None),
                    [s for f in findings for s in f.d14_unjudged])


def verify_stores(paths: list[Path], on_store: Callable[[], object] = lambda: None,
                  expected: LoginPolicy | None = None) -> Findings:
    """Every store verified, one process each, at most as many at once as the machine has
    cores; findings merged in the order the stores were given. ``on_store`` is called as
    each store is done (a progress bar's step); ``expected``: as verify_store's."""
    if len(paths) == 1:
        findings = verify_store(paths[0], expected)
        on_store()
        return findings
    workers = min(len(paths), multiprocessing.cpu_count())
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(verify_store, path, expected) for path in paths]
        for _ in as_completed(futures):
            on_store()
        return merged([future.result() for future in futures])
