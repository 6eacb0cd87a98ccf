"""What verify read, so far or in all: the one account its summary, its page, and the page
of a store it could not read to its end are made from."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import attrs

from application import audit
from application.audit import Verifier
from application.audit.attempt_book import OutOfOrder
from application.audit.checkpoint import Checkpoint
from application.audit.parallel import Findings
from billing_station.audit_pages import findings_page
from billing_station.verify_words import printable_path


@attrs.define
class Reading:
    """What verify read, so far or in all: what its summary says and its page shows, also
    the page of a store it could not read to its end (up to there)."""

    where: str  # the store, or the stores, as the page names them
    verifier: Verifier = attrs.Factory(Verifier)  # one store's (a checkpoint's, once loaded)
    found: list[audit.Violation] = attrs.Factory(list)  # (with a checkpoint: its own first)
    summed: Counter[str] | None = None  # several stores' counts, summed
    scope: str = "ストア全体"  # what was read, as the page says it
    in_store: list[str] | None = None  # of several stores, each violation's
    unreadable: list[tuple[str, str]] = attrs.Factory(list)  # (a store, why not read whole)
    unjudged: list[str] = attrs.Factory(list)  # of several stores, those not judged for D-14
    first_out_of_order: OutOfOrder | None = None  # the first attempt event stamped out of
    out_of_order_in: str | None = None  # order (of several stores: the first one's, named)
    unsaved: str | None = None  # the checkpoint could not move: what to say of it

    @property
    def counts(self) -> Counter[str]:
        return self.summed if self.summed is not None else self.verifier.counts

    def loaded(self, checkpoint: Checkpoint, path: Path) -> None:
        """A checkpoint found to match the store: what it holds stands, whatever comes next."""
        self.verifier, self.found = checkpoint.verifier, list(checkpoint.violations)
        self.scope = (f"チェックポイント {printable_path(str(path))} の続き: 通知 "
                      f"{checkpoint.position:,} より後を読めたところまで")

    def merged(self, findings: Findings, stores: list[Path]) -> None:
        """Several stores' findings, each verified in its own process: counts summed,
        violations by store, the stores not read whole or not judged for D-14, the first
        attempt event stamped out of order."""
        self.summed, self.found = findings.counts, [v for _, v in findings.violations]
        self.in_store = [where for where, _ in findings.violations]
        self.unreadable, self.unjudged = findings.unreadable, findings.d14_unjudged
        self.out_of_order_in, self.first_out_of_order = findings.out_of_order or (None, None)
        self.where = "、".join(str(path) for path in stores) + f" ({len(stores)}個)"

    def page(self, unreadable: list[tuple[str, str]] | None = None) -> str:
        return findings_page(self.found, self.counts, printable_path(self.where), self.in_store,
                             self.first_out_of_order, self.scope, self.out_of_order_in,
                             self.unreadable if unreadable is None else unreadable)
