"""Incremental verify: the auditor's own file keeps where the last verify stopped and what
it had folded (accounts, open and recent login attempts, client addresses' recent failed
logins, counts, violations found), so the next verify reads only the events stored since.
Its result equals a verify of the whole store: the checkpoint is taken before the end of
the store is assumed (attempts still open stay open), and the end is assumed afresh each
time.

The file is the auditor's, never the audited store's (the audit never writes to a store,
D-16). It names the store it was made of by the last row it read (id, aggregate, version,
topic and a digest of the stored state): pointed at another store, or at one rewritten
since, it is refused. It is a pickle, with its SHA-256 (a damaged file is refused, not
half-believed), read back by an unpickler that builds only this system's domain events and
audit books and a few standard types; still, keep it where only the auditor writes. The
closed attempts it remembers are packed inside it (recent.RecentAttempts), each part built
back only when a late event reaches it: a part that cannot be is refused then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import attrs

from application.adapters.eventstore import EventStore
from application.adapters.files import write_whole
from application.audit.collector import long_lived
from application.audit.packing import Unreadable, pack, unpack
from application.audit.reading import MissingEvents, located, position, recalled_from, rows
from application.audit.verify import Verifier, Violation, events_to_verify

MARK = b"billing-station verify checkpoint "  # a checkpoint's first bytes, whatever version
MAGIC = MARK + b"17\n"  # then the SHA-256 of the pickle, the pickle
EARLIER = tuple(MARK + b"%d\n" % n for n in range(1, 17))


class CheckpointError(ValueError):
    """A checkpoint that cannot be used for this store; the message says why."""


@attrs.define
class Checkpoint:
    position: int  # the last notification id read
    last_row: str  # what that row was: a checkpoint of another store is refused
    verifier: Verifier  # folded up to ``position``; the store's end not yet assumed
    violations: list[Violation]
    first_row: str = ""  # the store's first notification: another store's is told apart
    #                      from one cut short ("" in a checkpoint made before it was kept)


def row_mark(app: EventStore, notification_id: int) -> str:
    """The notification ``notification_id`` as a checkpoint remembers it ("" if none)."""
    found = rows(app, notification_id, 1, notification_id)
    if not found:
        return ""
    number, originator_id, version, topic, state = found[0]
    return f"{number}/{originator_id}/{version}/{topic}/{hashlib.sha256(state).hexdigest()}"


def first_mark(app: EventStore) -> str:
    """The store's first notification as a checkpoint remembers it ("" if none)."""
    found = rows(app, 1, 1)
    return row_mark(app, found[0][0]) if found else ""


def load(path: Path, app: EventStore) -> Checkpoint | None:
    """The checkpoint in ``path`` for this store (None if there is no file yet); one made
    before it kept the store's first event is given its mark (unknown: "")."""
    if not path.exists():
        return None
    data = path.read_bytes()
    if data.startswith(EARLIER):
        raise CheckpointError(f"{path} was made by an earlier version of verify: remove it "
                              "to verify from the first event")
    if not data.startswith(MAGIC):
        raise CheckpointError(f"{path} is not a verify checkpoint")
    digest, pickled = data[len(MAGIC):len(MAGIC) + 32], data[len(MAGIC) + 32:]
    if hashlib.sha256(pickled).digest() != digest:  # a changed byte, a file cut short
        raise CheckpointError(f"{path} is damaged (its checksum does not match what it "
                              "holds): remove it to verify from the first event")
    try:
        checkpoint = unpack(pickled)
    except Unreadable as e:
        raise CheckpointError(f"{path} cannot be read as a verify checkpoint ({e})") from e
    if not isinstance(checkpoint, Checkpoint):
        raise CheckpointError(f"{path} is not a verify checkpoint")
    if not hasattr(checkpoint, "first_row"):  # (unpickled from before it was kept)
        checkpoint.first_row = ""
    first = checkpoint.first_row
    now_first = row_mark(app, int(first.split("/")[0])) if first else ""
    if now_first and now_first != first:  # (gone: deleted, which the count finds, exit 65)
        raise CheckpointError(
            f"{path} does not match this store: its first event is not the one the "
            "checkpoint read first, so the checkpoint was made of another store (or this "
            "store was rewritten from its start); verify the store whole, with another "
            "checkpoint file")
    mark = row_mark(app, checkpoint.position)
    if not mark and checkpoint.position:  # (the events it read end there, and are gone)
        ends = position(app)
        raise MissingEvents(
            f"notification {checkpoint.position:,}, the last that the checkpoint {path} read, "
            "is absent" + (f" (the store now ends at {ends:,})" if ends < checkpoint.position
                           else "") + ": events verified before were deleted, or the store "
            "was replaced by an older copy (or the checkpoint is of another store that began "
            "with the same events: a simulation's of the same seed, run longer)")
    if mark != checkpoint.last_row:
        raise CheckpointError(  # (which, only the auditor can tell: the file is kept)
            f"{path} does not match this store: its notification {checkpoint.position:,} is "
            "not the one the checkpoint read. Either the checkpoint was made of another store, "
            "or this store's events were deleted or rewritten since (cut short, then written "
            "to again); verify the store whole, with another checkpoint file")
    return checkpoint


def save(path: Path, checkpoint: Checkpoint) -> None:
    """Written whole or not at all; an OSError names ``path``."""
    data = pack(checkpoint)
    write_whole(path, MAGIC + hashlib.sha256(data).digest() + data)


@attrs.frozen
class Result:
    verifier: Verifier  # its counts are the whole store's
    violations: list[Violation]  # all of them, the earlier runs' first
    read: int  # events read this time
    since: int  # the notification id this run started after
    unsaved: str | None = None  # why the checkpoint could not move (a full disk): the
    #                              result stands, the next run reads from the earlier one


def verify_incrementally(app: EventStore, path: Path,
                         on_page: Callable[[int], None] | None = None,
                         on_start: Callable[[int], None] | None = None,
                         on_read: Callable[[list[Violation]], None] | None = None,
                         on_loaded: Callable[[Checkpoint], None] | None = None) -> Result:
    """verify of the whole store, reading only what came after the checkpoint in ``path``
    (all of it if there is none yet); the checkpoint then moves to the store's end.
    ``on_start`` is told how many events will be read (a progress bar's length), ``on_read``
    the violations (the earlier runs' first) once they are read, before the checkpoint is
    written; ``on_loaded`` the checkpoint once it is found to match the store (what it
    holds stands if the reading after it fails)."""
    checkpoint = load(path, app) or Checkpoint(0, "", Verifier(), [])
    if on_loaded:  # (it matches this store: what it found stands, whatever comes next)
        on_loaded(checkpoint)
    with long_lived():  # (the checkpoint read: kept to the end)
        since, until = checkpoint.position, position(app)
        if on_start:
            on_start(max(0, until - since))
        verifier = checkpoint.verifier
        before = verifier.counts["events"]
        try:
            with located(app), closing(events_to_verify(app, on_page, since, until)) as stored:
                found = list(verifier.check(stored, final=False, recall=recalled_from(app)))
        except Unreadable as e:  # a packed part of it, reached by a late event
            raise CheckpointError(f"{path} cannot be read as a verify checkpoint ({e}): remove "
                                  "it to verify from the first event") from e
        read = verifier.counts["events"] - before
        violations = checkpoint.violations + found
        ended = list(verifier.unpaired())  # (said at each end; the checkpoint is of before it)
        if on_read:
            on_read(violations + ended)
        unsaved = None
        try:
            save(path, Checkpoint(until, row_mark(app, until), verifier, violations,
                                  checkpoint.first_row or first_mark(app)))
        except OSError as e:
            unsaved = e.strerror or str(e)
        verifier.finish()  # after saving: the next run continues from before the end
        return Result(verifier, violations + ended, read, since, unsaved)
