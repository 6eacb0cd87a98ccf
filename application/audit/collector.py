"""How the audit has Python's cycle collector behave: its passes walk every object that
lives on, over and over, and the audit's books live long while a replay's events die
young, with few cycles among them."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

RARELY = 50_000  # objects made and not yet freed before a pass (Python's own: 700)


@contextmanager
def no_gc() -> Iterator[None]:
    """Many small objects at once: the collector has nothing to free."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def long_lived() -> Iterator[None]:
    """What was unpacked before lives to the end of the run: the collector, which would look
    at each of its objects again as new ones are made (they were unpacked with it off, so
    all as young), leaves them be (a tenth of a checkpointed verify of 10,000 events)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def rare_passes() -> Iterator[None]:
    """A replay: its passes walked the books again and again (about 4% of a whole verify),
    for the few cycles it leaves (1,900 objects in a million events), which wait for the
    next pass; memory stays flat."""
    before = gc.get_threshold()
    gc.set_threshold(RARELY, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
