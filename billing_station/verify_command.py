"""The auditor's verify: every login of a store (or of several, in parallel) against the
policy in force at its time, with the evidence of each violation; as text, and as a page."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from application import audit, bootstrap
from application.adapters.eventstore import StoredEventError
from application.audit import AuditReader, NotAnEventStore, StoreUnavailable
from application.audit.checkpoint import CheckpointError, verify_incrementally
from application.audit.parallel import Findings, verify_stores
from application.audit.policies import POLICIES, looser_than
from application.audit.reading import recalled_from
from application.audit.snapshots import check_snapshots
from application.audit.verify import OUT_OF_ORDER, d14_unjudged
from billing_station import exits
from billing_station.audit_commands import events, reader
from billing_station.audit_pages import expected_ja, is_findings_page
from billing_station.paths import (
    PATH,
    CannotWrite,
    existing_files,
    output_file,
    refuse_overwriting,
    write_text,
)
from billing_station.verify_reading import Reading
from billing_station.verify_words import (
    D14_UNJUDGED,
    counted,
    out_of_order,
    policies_in_force,
    policy_expected,
    printable_path,
)
from domain.policy import LoginPolicy
from simulations.wording import counted_as


@click.command()
@click.argument("stores", nargs=-1, type=PATH, metavar="[STORES]...", callback=existing_files)
@click.option("--html", "page", type=PATH, metavar="FILE",
              callback=output_file,
              help="Also write the findings, with their evidence, as a self-contained HTML "
                   "page for the auditor's report (an existing FILE only if it is such a "
                   "page: any other file is refused, exit 2).")
@click.option("--checkpoint", type=PATH, metavar="FILE",
              callback=output_file,
              help="Keep where this verify stopped, and what it had folded, in this file (the "
                   "auditor's own, never the store): the next verify with it reads only the "
                   "events stored since, with the same result as verifying the whole store "
                   "as long as the events before it are as they were read (they are not read "
                   "again; one deleted is found, on SQLite whichever it was, as a whole verify "
                   "finds it, on PostgreSQL from the middle of an account or attempt with "
                   "events since; so is the last one read, deleted since: exit 65). "
                   "Made on first use; refused if it does not match the store (made of "
                   "another store, or the store was cut short and written to since), or damaged "
                   "(its checksum finds damage, not a forgery: keep it where only the auditor "
                   "writes). One store at a time.")
@click.option("--snapshots", is_flag=True,
              help="Also hold each aggregate's latest snapshot (kept apart from the events, "
                   "read by the services in place of the events before it) against what "
                   "its events make it: one its events disagree with (a password digest, "
                   "the account a portal session is of, written by another hand) refuses "
                   "the store (exit 65) before its events are read. Reads those aggregates' "
                   "events again: about as long again as a whole verify.")
@click.option("--expect-policy", "expect", is_flag=True,
              help="Also a finding (POLICY, exit 1): each policy the events record that is "
                   "looser than expected, in any of its numbers, with how many keys or "
                   "password checks it covered. Expected: RULES.md's for keys (valid 10 min, "
                   "locked at 5 wrong entries, at most 5 keys within 60 min: LG-5, D-4, D-10) "
                   "and D-14's as this installation's settings set it (BS_ADDRESS_FAILURE_LIMIT, "
                   "BS_ADDRESS_WINDOW; unset, 20 failed logins within 10 min); a shorter window "
                   "is looser if its limit lets more through within the expected one, at worst. "
                   "A stricter policy is no finding; keys issued without their D-10 limit are "
                   "counted apart, as the summary says. Without it each login is judged by the "
                   "policy its own events record, and the summary lists them all.")
def verify(stores: tuple[Path, ...], page: Path | None, checkpoint: Path | None,
           snapshots: bool, expect: bool) -> None:
    """Replay the whole store (with --checkpoint, what came after it) and check every login
    against the policy in force at its time, and every change against who may make it.

    Checked: LG-1..LG-6, D-1..D-5 and D-10 (each login recorded on its attempt and its
    account alike, naming its login ID's own account; each key mailed to the login ID's
    registered address then); D-7 (each key and password kept only as its digest); at the
    portal D-14 (each password checked only under its client address's limit, as its check
    read the count) and D-12 (a portal session only as a login completes); CI-1 and SB-2 (a
    sub ID registered only as its main ID adds it).

    Prints each violation with the events that prove it, then a summary (each policy the
    events record, and for how many keys: history's key_policy column names their
    attempts); exits 1 on any violation. A store whose account or attempt events are not in
    the order they were numbered, or with a snapshot among its events, is refused (exit 65).

    Not judged, as the events do not record it: D-14 for attempts that record no client
    address (older ones, and logins outside the portal: the demo, a simulation whose people
    have none); D-12 for sessions an earlier version saved apart from their login; what only
    the portal's HTTP shows (D-9, D-12's idle time, the session a change came from, D-13,
    D-15); D-11's notice mails; D-6's randomness; the snapshots kept in their own table
    (only with --snapshots). Nor can it see an event's content changed in place to other
    lawful values (rows deleted, moved or swapped with the numbers after them rewritten to
    match are such a change), or events lost from the store's end; on PostgreSQL through
    --checkpoint, an event deleted since from an aggregate it does not read again (see
    README).

    STORES: SQLite store files to verify instead of the configured store, e.g. a sharded
    run's simulation-output/large/shard-*/simulation.sqlite3. Several are verified in
    parallel, one process each (up to the cores), their findings merged and each violation
    named with its store.
    """
    if len(stores) > 1 and checkpoint is not None:
        raise click.UsageError("--checkpoint follows one store: verify the stores one at a "
                               "time with a checkpoint file each")
    if page or checkpoint:
        refuse_overwriting(stores or _configured_store(), is_findings_page, page=page,
                           checkpoint=checkpoint)
    expected = bootstrap.Settings().policy() if expect else None  # (a bad setting: exit 2 first)
    store: AuditReader | None = None
    reading = Reading(where=", ".join(map(str, stores)) or "the configured store")
    with _no_verdict_on(page, reading):
        store = reader(stores[0] if stores else None) if len(stores) < 2 else None  # (one)
        if snapshots:  # (first: a store whose snapshots are refused is not read on)
            for each in [store] if store else [reader(path) for path in stores]:
                _snapshots_checked(each, store is None)
        if store is None:
            _verified_in_parallel(list(stores), reading, expected)
        else:
            reading.where = store.where
            if checkpoint is None:
                with audit.located(store), closing(events(store, for_verify=True)) as read:
                    for violation in reported(reading.verifier.check(  # (closed: a finding
                            read, recall=recalled_from(store))):  # that stops it stops
                        reading.found.append(violation)  # the count beside it)
            else:
                _verified_from(store, checkpoint, reading)
            reading.first_out_of_order = reading.verifier.attempts.first_out_of_order
            if expected is not None:  # (of all the store's keys: a checkpoint's too)
                reading.found.extend(reported(looser_than(expected, reading.counts)))
    if snapshots:
        reading.scope += "、スナップショットもイベントと照合 (--snapshots)"
    if expected is not None:
        reading.scope += ("、記録されたポリシーを期待するものと照合 (--expect-policy: "
                          f"{expected_ja(expected)})")
    exits.settled()  # (read: what follows is written whole and told, Ctrl-C or not)
    _said(reading, stores, store, page, expected)


def _said(reading: Reading, stores: tuple[Path, ...], store: AuditReader | None,
          page: Path | None, expected: LoginPolicy | None) -> None:
    """The summary, the page if asked for, and the exit code: 1 on any violation, 65 for a
    store of several not read whole, 74 for a checkpoint that could not move."""
    counts, unreadable = reading.counts, reading.unreadable
    violations = Counter(violation.rule for violation in reading.found)
    click.echo(("summary: " if not unreadable else "summary of what was read: ")  # (a store
               + ", ".join(counted(n, what) for what, n in counts.items()  # read in part)
                           if not what.startswith(POLICIES)))
    if in_force := policies_in_force(counts):
        click.echo(f"policy in force, as the events record it: {in_force}")
    if expected is not None:
        click.echo(f"policy expected (--expect-policy): {policy_expected(expected)}")
    if counts[OUT_OF_ORDER]:
        click.echo(out_of_order(reading.first_out_of_order, reading.out_of_order_in))
    if d14_unjudged(counts):  # (no violation covers no D-14)
        click.echo(D14_UNJUDGED)
    elif unjudged := reading.unjudged:  # (some stores judged it: these did not, which the
        click.echo(f"D-14 not judged in {len(unjudged)} of {len(stores)} stores, whose login "  # sum
                   f"attempts record no client address: {', '.join(unjudged)}")  # hid)
        reading.scope += ("。D-14 は次のストアでは判定していません (ログイン試行が接続元IPアドレスを"
                          f"記録していないため): {'、'.join(unjudged)}")
    if store is not None:  # (the one read, whatever the settings named)
        click.echo(f"store: {printable_path(store.where)}")
    else:
        click.echo(f"stores: {', '.join(printable_path(str(path)) for path in stores)}")
    if violations:
        by_rule = ", ".join(f"{rule} ×{n:,}" for rule, n in sorted(violations.items()))
        click.echo(f"{counted_as(violations.total(), 'violation')} found: {by_rule}")
    elif not unreadable:
        click.echo("verified: no violations")
    if unreadable:  # the others' findings stand; these stores were read up to there only
        echo_unreadable(unreadable, len(stores))
    if page is not None:
        write_text(page, reading.page())
        click.echo(f"wrote {page}" + (": no verdict, a store could not be read whole"
                                      if unreadable else ""))
    if unreadable:
        sys.exit(exits.DATA_ERROR)
    if reading.unsaved:  # (after the verdict, which stands)
        click.echo(f"error: {reading.unsaved}", err=True)
        sys.exit(exits.IO_ERROR)
    sys.exit(exits.VIOLATIONS if violations else exits.OK)


def _configured_store() -> tuple[Path, ...]:
    """The configured store's file, when it is one (D-16: nothing is written over it)."""
    settings = bootstrap.Settings()
    return (Path(settings.store(creating=False)["SQLITE_DBNAME"]),) \
        if settings.store_kind == "sqlite" else ()


def _verified_in_parallel(stores: list[Path], reading: Reading,
                          expected: LoginPolicy | None) -> None:
    """verify of several stores, one process each, into ``reading`` (counts summed,
    violations by store, the stores that could not be read whole or judged for D-14, the
    first event stamped out of order), each violation printed."""
    with tqdm(total=len(stores), unit="store", file=sys.stderr, disable=None, leave=False,
              desc="verifying stores") as bar:
        findings = verify_stores(stores, on_store=bar.update, expected=expected)
    echo_findings(findings)
    reading.merged(findings, stores)


def reported(violations: Iterable[audit.Violation]) -> Iterator[audit.Violation]:
    """Each violation printed with its evidence as it is found."""
    for violation in violations:
        echo_violation(violation)
        yield violation


def echo_unreadable(unreadable: list[tuple[str, str]], stores: int, then: str = "") -> None:
    """Of several stores, those that stopped at an event that cannot be read, or at events
    missing, by name: no verdict of "no violations" can be given for them."""
    for path, why in unreadable:
        click.echo(f"error: {path} {why}", err=True)
    click.echo(f"not verified whole: {len(unreadable)} of {stores} stores could not be read "
               f"whole{then}")


@contextlib.contextmanager
def _no_verdict_on(page: Path | None, reading: Reading) -> Iterator[None]:
    """A store verify cannot read whole, or at all: the page asked for says there is no
    verdict, and why, with what ``reading`` found up to there, not an earlier run's verdict
    left in its place; also for a checkpoint that cannot be used with this store, or a store
    unavailable. Then the console script says why, with its exit code (65, 2 or 69)."""
    try:
        yield
    except (StoredEventError, NotAnEventStore, StoreUnavailable, click.BadParameter) as e:
        if page is not None:  # (BadParameter: a checkpoint this store cannot be read from)
            why = e.said() if isinstance(e, StoredEventError) else (
                e.format_message() if isinstance(e, click.BadParameter) else str(e))
            try:
                write_text(page, reading.page([(printable_path(reading.where), why)]))
                click.echo(f"wrote {page}: no verdict, and why")
            except CannotWrite as cannot:  # (said, and the store's own refusal after it)
                click.echo(f"error: {cannot.format_message()}", err=True)
        raise


def echo_findings(findings: Findings) -> None:
    """Each violation found in several stores printed with its store and its evidence."""
    for where, violation in findings.violations:
        echo_violation(violation, f" in {where}")


def echo_violation(violation: audit.Violation, where: str = "") -> None:
    """A violation and the events that prove it; ``where``: " in STORE" among several."""
    click.echo(f"VIOLATION {violation.rule}{where}: {violation.message}")
    for line in violation.evidence:
        click.echo(f"    {line}")


def _snapshots_checked(store: AuditReader, named: bool) -> None:
    """ForgedSnapshot (exit 65) for a snapshot the store's events disagree with; else how
    many were checked (``named``: and in which store)."""
    with tqdm(unit="snapshot", file=sys.stderr, disable=None, leave=False,
              desc="checking snapshots") as bar:
        checked = check_snapshots(store, _sized(bar), bar.update)
    said = (f"the latest of {counted_as(checked, 'aggregate')}, as their events make them"
            if checked else "none in the store, nothing to check")
    click.echo(f"snapshots: {said}{f' ({store.where})' if named else ''}")


def _sized(bar: tqdm[Any]) -> Callable[[int], None]:
    """What tells a progress bar its length once it is known."""
    def start(total: int) -> None:
        bar.total = total
        bar.refresh()
    return start


def _verified_from(store: AuditReader, path: Path, reading: Reading) -> None:
    """verify through the checkpoint in ``path`` into ``reading``: only the events after it
    are read; the violations, the checkpoint's first, are printed once read. Also what to
    say if the checkpoint could not then be written, and what was read, as the page says it."""
    earlier = path.exists()  # (one that cannot be written stays as it was)
    with tqdm(unit="event", unit_scale=True, file=sys.stderr, disable=None, leave=False,
              desc="replaying since the checkpoint") as bar:
        def read(violations: list[audit.Violation]) -> None:
            """Printed before the checkpoint moves (a Ctrl-C while they print leaves it as
            it was); from there on the outcome is settled."""
            bar.close()
            reading.found = list(reported(violations))
            exits.settled()

        try:
            result = verify_incrementally(store, path, bar.update, _sized(bar), read,
                                          lambda loaded: reading.loaded(loaded, path))
        except CheckpointError as e:
            raise click.BadParameter(str(e), param_hint="'--checkpoint'") from e
    reading.verifier = result.verifier
    reading.scope = (f"チェックポイント {printable_path(str(path))} の続き: 通知 {result.since:,} "
                     f"より後の {result.read:,}件 (それより前は以前の検査の結果を引き継ぐ)")
    if result.unsaved is None:
        click.echo(f"checkpoint {path}: " + (  # (on stdout: what the verdict below covers)
            f"read {counted_as(result.read, 'event')} after notification {result.since:,} "
            "(those before it as an earlier verify read them)" if result.since else
            f"read the whole store, {counted_as(result.read, 'event')}; the next verify with "
            "it reads only what comes after"))
        return
    reading.unsaved = f"checkpoint {path} " + (
        f"not moved: {result.unsaved} (the verdict above stands; the next verify with it "
        "reads from where it was)" if earlier else f"not written: {result.unsaved} (the "
        "verdict above stands; the next verify with it reads the whole store)")
