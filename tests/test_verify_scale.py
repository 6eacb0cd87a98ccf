"""verify at scale: the audit's fast decoding (the mapper's events exactly), verify of
several stores at once, and verify through a checkpoint (equal to a whole verify of a store
that grew between runs)."""

from __future__ import annotations

import contextlib
import errno
import gc
import hashlib
import io
import os
import pickle
import shutil
import sqlite3
import sys
import types
from collections import OrderedDict
from collections.abc import Generator
from pathlib import Path
from unittest.mock import patch
from uuid import UUID

import attrs
import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from application import audit, bootstrap
from application.adapters.mailbox import MailboxFolder
from application.audit import account_book, attempt_book, packing
from application.audit import recent as recent_attempts
from application.audit.checkpoint import (
    MAGIC,
    CheckpointError,
    load,
    save,
    verify_incrementally,
)
from application.audit.decoding import Decoder
from application.audit.reading import MissingEvents, rows
from application.audit.verify import Violation, events_to_verify, verify
from billing_station import simulate_command, verify_command
from billing_station.cli import main
from billing_station.verify_words import D14_UNJUDGED
from domain.crypto import Hasher
from domain.login_attempt import LoginAttempt
from simulations.runner import Simulation
from tests.audit_cli import reader
from tests.conftest import build
from tests.small_runs import SMALL, START, stored_rows
from tests.story import onboard


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    simulation = Simulation(attrs.evolve(SMALL, days=4), tmp_path_factory.mktemp("store"))
    simulation.run()
    simulation.close()
    return simulation.store


def test_fast_decoding_gives_exactly_the_mappers_events(simulated: Path) -> None:
    app = reader(simulated)
    decode = Decoder(app.mapper)
    found = rows(app, 1, 100_000)
    assert len(found) > 500
    for row in found:
        number = row[0]
        fast = decode(row)
        expected = app.mapper.to_domain_event(app.recorder.select_notifications(
            start=number, limit=1)[0])
        assert type(fast) is type(expected) and vars(fast) == vars(expected)
        assert all(type(v) is type(vars(expected)[k]) for k, v in vars(fast).items())
    app.close()


def grow(source: Path, into: Path, upto: int) -> None:
    """``into`` holds the rows of ``source`` up to notification ``upto``, then all of them."""
    with sqlite3.connect(into) as db:
        db.execute("ATTACH DATABASE ? AS source", (str(source),))
        db.execute("INSERT INTO stored_events SELECT * FROM source.stored_events "
                   "WHERE rowid > ? ORDER BY rowid", (upto,))
        db.commit()


def whole(path: Path) -> tuple[dict[str, int], list[audit.Violation]]:
    app = reader(path)
    verifier = audit.Verifier()
    violations = list(verifier.check(audit.replay(app)))
    app.close()
    return dict(verifier.counts), violations


def use_a_key_twice(store: Path) -> None:
    """Plants a violation of D-3: the first key that logged in is verified once more."""
    early = next(r for r in audit.history(audit.replay(reader(store)))
                 if r.with_key and r.outcome == "completed")
    app = bootstrap.application(store=bootstrap.store_settings("sqlite", store),
                                mailer=MailboxFolder(store.parent / "mail"), hasher=Hasher(4))
    attempt = app.get(UUID(early.attempt_id), LoginAttempt)
    attempt.trigger_event(LoginAttempt.KeyVerified, timestamp=attempt.modified_on)
    app.save(attempt)
    app.close()


def test_a_checkpointed_verify_equals_a_whole_verify_of_a_store_that_grew(
        simulated: Path, tmp_path: Path) -> None:
    store, checkpoint = tmp_path / "store.sqlite3", tmp_path / "verify.checkpoint"
    total = len(stored_rows(simulated))
    cut = total * 3 // 5  # mid-day: attempts still open carry over the checkpoint
    shutil.copy(simulated, store)
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM stored_events WHERE rowid > ?", (cut,))
        db.commit()
    first = verify_incrementally(reader(store), checkpoint)
    assert first.read == cut and first.violations == []
    assert dict(first.verifier.counts) == whole(store)[0]

    grow(simulated, store, cut)  # the store grows: the rest of the run ...
    use_a_key_twice(store)  # ... and a key used twice (D-3)

    second = verify_incrementally(reader(store), checkpoint)
    counts, violations = whole(store)
    assert second.read == total + 1 - cut and second.since == cut
    assert dict(second.verifier.counts) == counts and counts["events"] == total + 1
    assert second.violations == violations and [v.rule for v in violations] == ["D-3"]
    third = verify_incrementally(reader(store), checkpoint)  # nothing new: the same result
    assert third.read == 0 and third.violations == violations
    assert dict(third.verifier.counts) == counts


def grown_past_a_checkpoint(simulated: Path, tmp_path: Path) -> tuple[Path, Path, int]:
    """A copy of ``simulated`` verified with a checkpoint when half its events were stored,
    then grown to the whole: the store, the checkpoint, and the checkpoint's position."""
    store, checkpoint = tmp_path / "store.sqlite3", tmp_path / "verify.checkpoint"
    cut = len(stored_rows(simulated)) // 2
    shutil.copy(simulated, store)
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM stored_events WHERE rowid > ?", (cut,))
        db.commit()
    verify_incrementally(reader(store), checkpoint)
    grow(simulated, store, cut)
    return store, checkpoint, cut


def test_events_missing_after_a_checkpoint_are_named_not_skipped(
        simulated: Path, tmp_path: Path) -> None:
    """The rows just after a checkpoint's position deleted: the next verify read on from
    the first row it found, and judged a store with a hole as whole."""
    store, checkpoint, cut = grown_past_a_checkpoint(simulated, tmp_path)
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM stored_events WHERE rowid = ?", (cut + 1,))
        db.commit()
    with pytest.raises(MissingEvents, match=rf"^notification {cut + 1:,} \(before "
                       rf"{cut + 2:,}\) is absent: a SQLite store numbers its events one "
                       "after another, so rows were deleted or the file is damaged$"):
        verify_incrementally(reader(store), checkpoint)


_SINCE = "(SELECT 1 FROM stored_events b WHERE b.originator_id = a.originator_id AND b.rowid > ?1)"


@pytest.mark.parametrize("which", ["rowid = 1 AND ?1 > 1", f"rowid BETWEEN 2 AND ?1 - 1 AND EXISTS {_SINCE}",
                                   f"rowid BETWEEN 2 AND ?1 - 1 AND NOT EXISTS {_SINCE}"],
                         ids=["the first", "of an aggregate read since", "of one not read since"])
def test_a_row_deleted_before_a_checkpoint_is_found_as_a_whole_verify_finds_it(
        simulated: Path, tmp_path: Path, which: str) -> None:
    """On SQLite the replay's gap check found such a row only when it read it again, which
    a checkpointed verify does not: verify --help said it was found, and it was not; then
    it was, of an aggregate read since only (its versions counted). Now the rows up to the
    checkpoint are counted, and the first missing named, as a whole verify names it."""
    store, checkpoint, cut = grown_past_a_checkpoint(simulated, tmp_path)
    with sqlite3.connect(store) as db:
        [(gone,)] = db.execute(f"SELECT rowid FROM stored_events a WHERE {which} LIMIT 1",
                               (cut,)).fetchall()
        db.execute("DELETE FROM stored_events WHERE rowid = ?", (gone,))
        db.commit()
    said = (rf"^notification {gone:,} \(before {gone + 1:,}\) is absent: a SQLite store "
            "numbers its events one after another, so rows were deleted or the file is damaged$")
    with pytest.raises(MissingEvents, match=said):
        verify_incrementally(reader(store), checkpoint)
    with pytest.raises(MissingEvents, match=said):
        list(verify(reader(store)))


def test_a_row_deleted_before_a_checkpoint_is_found_beside_one_numbered_below_1(
        simulated: Path, tmp_path: Path) -> None:
    """A row written by another hand with rowid -5, which no replay reads, was counted
    with the rest and hid the one deleted: the checkpointed verify said "no violations",
    the whole one named it (the reviewer's probe)."""
    store, checkpoint, cut = grown_past_a_checkpoint(simulated, tmp_path)
    assert cut > 101
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM stored_events WHERE rowid = 100")
        db.execute("INSERT INTO stored_events (rowid, originator_id, originator_version, "
                   "topic, state) SELECT -5, originator_id, 999999, topic, state "
                   "FROM stored_events WHERE rowid = 101")
        db.commit()
    with pytest.raises(MissingEvents, match=r"^notification 100 \(before 101\) is absent"):
        verify_incrementally(reader(store), checkpoint)


def test_a_verify_leaves_the_cycle_collector_as_it_found_it(simulated: Path,
                                                              tmp_path: Path) -> None:
    """verify makes the collector's passes rare, and a checkpointed one freezes what it
    read: each as it was after, whole or stopped short (a process may verify again)."""
    before = gc.get_threshold(), gc.get_freeze_count()
    list(verify(reader(simulated)))
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
    stopped = events_to_verify(reader(simulated))
    assert isinstance(stopped, Generator)
    next(stopped)
    assert gc.get_threshold() != before[0]  # (rare while it reads)
    stopped.close()
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
    store, checkpoint, _ = grown_past_a_checkpoint(simulated, tmp_path)
    verify_incrementally(reader(store), checkpoint)
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_a_store_cut_below_its_checkpoint_is_missing_events_not_another_store(
        simulated: Path, tmp_path: Path) -> None:
    """Its last events deleted: the checkpoint, which alone shows they were there, was called
    another store's, and the auditor told to remove it (exit 2, a usage error); so it still
    was once the store was written to again."""
    store, checkpoint = tmp_path / "store.sqlite3", tmp_path / "verify.checkpoint"
    shutil.copy(simulated, store)
    verify_incrementally(reader(store), checkpoint)
    last = len(stored_rows(simulated))
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM stored_events WHERE rowid > ?", (last - 10,))
        db.commit()
    with pytest.raises(MissingEvents, match=(
            rf"^notification {last:,}, the last that the checkpoint {checkpoint} read, is "
            rf"absent \(the store now ends at {last - 10:,}\): events verified before were "
            r"deleted, or the store was replaced by an older copy \(or the checkpoint is of "
            r"another store that began with the same events: a simulation's of the same seed, "
            r"run longer\)$")):
        verify_incrementally(reader(store), checkpoint)
    with sqlite3.connect(store) as db:  # then written to again (SQLite numbers them anew)
        db.execute("INSERT INTO stored_events SELECT originator_id, originator_version + 1000, "
                   "topic, state FROM stored_events WHERE rowid <= 10")
        db.commit()
    with pytest.raises(CheckpointError, match=r"does not match this store: .*deleted or "
                       r"rewritten since \(cut short, then written to again\)"):
        verify_incrementally(reader(store), checkpoint)
    assert checkpoint.exists()  # (the auditor's evidence: nothing says to remove it)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["close", "late", "checkpoint"]),
                          st.integers(0, 9)), max_size=80))
@example([("close", n) for n in range(4)] + [("checkpoint", 0)]
         + [("close", n) for n in range(4, 8)] + [("checkpoint", 0)])
def test_a_checkpoint_remembers_the_latest_closed_attempts_as_if_never_packed(
        steps: list[tuple[str, int]]) -> None:
    """The closed attempts verify remembers (for a late event's evidence) are the latest
    REMEMBERED of them (4 here) whatever checkpoints came between: packed segments are
    dropped, merged (past 2 here) or unpacked exactly as a plain table would forget (a
    model), and a checkpoint holds fewer than twice as many."""
    with patch.object(recent_attempts, "REMEMBERED", 4), \
            patch.object(recent_attempts, "SEGMENTS", 2):
        recent, model = recent_attempts.RecentAttempts[attempt_book.Attempt](), OrderedDict[UUID, str]()
        for n, (step, which) in enumerate(steps):
            attempt_id = UUID(int=which)
            if step == "close":  # (closed again: its place kept, its latest state)
                recent.add(attempt_book.Attempt(attempt_id, f"closed at {n}", None, START))
                model[attempt_id] = f"closed at {n}"
                while len(model) > 4:
                    model.popitem(last=False)
            elif step == "checkpoint":
                recent = packing.unpack(packing.pack(recent))
                assert sum(len(ids) for ids, _ in recent.packed) < 2 * 4
                assert len(recent.packed) <= 2
            else:
                found = recent.get(attempt_id)
                assert (found.login_id if found else None) == model.get(attempt_id)
        assert [recent.get(UUID(int=i)) is not None for i in range(10)] == [
            UUID(int=i) in model for i in range(10)]


def test_a_checkpoint_of_another_store_is_refused(simulated: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "verify.checkpoint"
    verify_incrementally(reader(simulated), checkpoint)
    other = Simulation(attrs.evolve(SMALL, seed=12, days=4), tmp_path / "other")
    other.run()
    other.close()
    with pytest.raises(CheckpointError, match=r"does not match this store: its first event "
                       r"is not the one the checkpoint read first, so the checkpoint was made "
                       r"of another store"):
        verify_incrementally(reader(other.store), checkpoint)
    shorter = Simulation(attrs.evolve(SMALL, seed=13, days=1), tmp_path / "shorter")
    shorter.run()
    shorter.close()  # (another store that ends before the checkpoint's place: it was
    with pytest.raises(CheckpointError, match=r"its first event is not the one the "  # read
                       r"checkpoint read first"):  # as events deleted, exit 65)
        verify_incrementally(reader(shorter.store), checkpoint)
    evil = b"cos\nsystem\n"  # a pickle that would reach a function: never built
    checkpoint.write_bytes(MAGIC + hashlib.sha256(evil).digest() + evil)
    with pytest.raises(CheckpointError, match="cannot be read"):
        verify_incrementally(reader(simulated), checkpoint)
    checkpoint.write_bytes(b"billing-station verify checkpoint 1\n" + evil)
    with pytest.raises(CheckpointError, match="earlier version"):
        verify_incrementally(reader(simulated), checkpoint)


def test_a_damaged_checkpoint_is_refused_and_left_as_it_is(simulated: Path,
                                                          tmp_path: Path) -> None:
    """A byte changed anywhere (a count edited, a flipped bit): refused before anything of
    it is believed (it was taken, and its count printed and kept, or it failed later with a
    traceback)."""
    checkpoint = tmp_path / "verify.checkpoint"
    verify_incrementally(reader(simulated), checkpoint)
    good = checkpoint.read_bytes()
    for at in (len(MAGIC), len(MAGIC) + 40, len(good) // 2, len(good) - 1):
        damaged = bytearray(good)
        damaged[at] ^= 0x02
        checkpoint.write_bytes(bytes(damaged))
        with pytest.raises(CheckpointError, match="damaged"):
            verify_incrementally(reader(simulated), checkpoint)
        assert checkpoint.read_bytes() == bytes(damaged)
    checkpoint.write_bytes(good[:-100])  # cut short
    with pytest.raises(CheckpointError, match="damaged"):
        verify_incrementally(reader(simulated), checkpoint)


def test_a_part_of_a_checkpoint_that_cannot_be_read_is_refused_when_reached(
        simulated: Path, tmp_path: Path) -> None:
    """The closed attempts a checkpoint remembers are built back only for a late event:
    one that cannot be (a class renamed since, say) is refused then, naming the file."""
    store, path = tmp_path / "store.sqlite3", tmp_path / "verify.checkpoint"
    shutil.copy(simulated, store)
    verify_incrementally(reader(store), path)
    taken = load(path, reader(store))
    assert taken is not None
    closed = taken.verifier.attempts.closed
    closed.packed = [(ids, b"not a pickle") for ids, _ in closed.packed]
    save(path, taken)
    use_a_key_twice(store)  # a late event for an early attempt
    with pytest.raises(CheckpointError, match="cannot be read as a verify checkpoint "
                       r"\(UnpicklingError: .*\): remove it to verify from the first event"):
        verify_incrementally(reader(store), path)


def test_cli_verify_with_a_checkpoint_reads_only_what_is_new(simulated: Path,
                                                               tmp_path: Path) -> None:
    env = {"BS_SQLITE_PATH": str(simulated)}
    checkpoint = tmp_path / "cp"
    full = CliRunner().invoke(main, ["verify"], env=env)
    first = CliRunner().invoke(main, ["verify", "--checkpoint", str(checkpoint)], env=env)
    again = CliRunner().invoke(main, ["verify", "--checkpoint", str(checkpoint),
                                      "--html", str(tmp_path / "v.html")], env=env)
    assert full.exit_code == first.exit_code == again.exit_code == 0
    summary = [line for line in full.output.splitlines() if line.startswith("summary:")]
    assert summary and summary[0] in first.output and summary[0] in again.output
    assert "read 0 events after notification" in again.stdout
    assert f"checkpoint {checkpoint}: read the whole store, " in first.stdout  # (not "after
    assert "after notification 0" not in first.stdout  # notification 0 … an earlier verify")
    assert (tmp_path / "v.html").is_file()
    (tmp_path / "junk").write_text("not a checkpoint")
    refused = CliRunner().invoke(main, ["verify", "--checkpoint", str(tmp_path / "junk")],
                                 env=env)
    assert refused.exit_code == 2 and "not a verify checkpoint" in refused.output


def test_cli_verify_whose_checkpoint_cannot_be_written_still_gives_its_verdict(
        simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk at the checkpoint: the store was read whole, yet no verdict was printed
    (exit 74 only). The verdict, then the error; the checkpoint stays as it was."""
    checkpoint = tmp_path / "cp"
    env = {"BS_SQLITE_PATH": str(simulated)}
    assert CliRunner().invoke(main, ["verify", "--checkpoint", str(checkpoint)],
                              env=env).exit_code == 0
    before = checkpoint.read_bytes()

    def full_disk(path: Path, _: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("application.audit.checkpoint.save", full_disk)
    result = CliRunner().invoke(main, ["verify", "--checkpoint", str(checkpoint)], env=env)
    assert result.exit_code == 74, result.output
    assert "summary: " in result.output and "verified: no violations" in result.output
    assert result.output.splitlines()[-1] == (
        f"error: checkpoint {checkpoint} not moved: No space left on device (the verdict "
        "above stands; the next verify with it reads from where it was)")
    assert checkpoint.read_bytes() == before and "Traceback" not in result.output
    checkpoint.unlink()  # its first use: there is none to stay
    first = CliRunner().invoke(main, ["verify", "--checkpoint", str(checkpoint)], env=env)
    assert first.exit_code == 74 and first.output.splitlines()[-1] == (
        f"error: checkpoint {checkpoint} not written: No space left on device (the verdict "
        "above stands; the next verify with it reads the whole store)")
    assert not checkpoint.exists()


def test_cli_verify_of_several_stores_merges_their_findings_and_names_the_store(
        simulated: Path, tmp_path: Path) -> None:
    clean, planted = tmp_path / "a" / "clean.sqlite3", tmp_path / "b" / "planted.sqlite3"
    for store in (clean, planted):
        store.parent.mkdir()
        shutil.copy(simulated, store)
    use_a_key_twice(planted)
    both = CliRunner().invoke(main, ["verify", str(clean), str(planted),
                                     "--html", str(tmp_path / "v.html")], env={})
    assert both.exit_code == 1, both.output
    assert f"VIOLATION D-3 in {planted}:" in both.output and "1 violation found: D-3 ×1" \
        in both.output
    events = 2 * len(stored_rows(simulated)) + 1
    assert f"summary: {events:,} events" in both.output
    page = (tmp_path / "v.html").read_text(encoding="utf-8")
    assert " (2個) / 作成" in page and f"ストア {planted}: " in page  # each finding's store
    one = CliRunner().invoke(main, ["verify", str(clean)], env={})
    assert one.exit_code == 0 and f"summary: {events // 2:,} events" in one.output
    both_with_checkpoint = CliRunner().invoke(
        main, ["verify", str(clean), str(planted), "--checkpoint", str(tmp_path / "cp")])
    assert both_with_checkpoint.exit_code == 2 and "--checkpoint follows one store" in (
        both_with_checkpoint.output)
    (tmp_path / "notes.txt").write_text("not a store")
    foreign = CliRunner().invoke(main, ["verify", str(clean), str(tmp_path / "notes.txt")])
    assert foreign.exit_code == 65 and "Traceback" not in foreign.output
    said = foreign.stdout.splitlines()
    assert said == [  # (the clean store's findings stand)
        f"summary of what was read: {events // 2:,} events, "
        + one.output.split(" events, ")[1].splitlines()[0],
        one.output.splitlines()[1],  # (the policy its events record)
        D14_UNJUDGED,  # (a simulation's people log in from no client address)
        f"stores: {clean}, {tmp_path / 'notes.txt'}",  # (one store is named on a store: line)
        "not verified whole: 1 of 2 stores could not be read whole"]
    assert said[1].startswith("policy in force, as the events record it: keys: valid 10 min")
    assert f"error: {tmp_path / 'notes.txt'} is not a Billing Station event store" in (
        foreign.stderr)
    missing = CliRunner().invoke(main, ["verify", str(tmp_path / "none.sqlite3")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    twice = CliRunner().invoke(main, ["verify", str(clean),
                                      str(tmp_path / "a" / ".." / "a" / "clean.sqlite3")])
    assert twice.exit_code == 2 and (
        f"{clean} and {tmp_path / 'a' / '..' / 'a' / 'clean.sqlite3'} are one file, given "
        "twice") in twice.output
    again = CliRunner().invoke(main, ["verify", str(clean), str(planted), str(clean)])
    assert again.exit_code == 2 and f"{clean} is given twice" in again.output
    folder = CliRunner().invoke(main, ["verify", str(tmp_path)])
    assert folder.exit_code == 2 and "is a folder, not a file" in folder.output
    run = CliRunner().invoke(main, ["verify", str(tmp_path / "a")])  # (a run's folder)
    assert f"is a folder, not a file: name the store in it, e.g. {clean} " in run.output
    (tmp_path / "c" / "shard-0").mkdir(parents=True)
    (tmp_path / "c" / "shard-0" / "simulation.sqlite3").touch()
    sharded = CliRunner().invoke(main, ["verify", str(tmp_path / "c")])
    assert (f"name its shards' stores, {tmp_path / 'c' / 'shard-*' / 'simulation.sqlite3'}"
            in sharded.output)


def test_cli_verify_of_a_store_it_cannot_read_whole_leaves_no_earlier_verdict_on_its_page(
        simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A daily verify naming the same page: the day the store is refused (an event deleted),
    the page says there is no verdict, and why; it held the day before's 違反なし."""
    store, page = tmp_path / "daily.sqlite3", tmp_path / "daily.html"
    shutil.copy(simulated, store)
    clean = CliRunner().invoke(main, ["verify", str(store), "--html", str(page)])
    assert clean.exit_code == 0 and "違反なし" in page.read_text()
    with contextlib.closing(sqlite3.connect(store)) as db:
        db.execute("DELETE FROM stored_events WHERE rowid = 30")
        db.commit()
    refused = CliRunner().invoke(main, ["verify", str(store), "--html", str(page)])
    assert refused.exit_code == 65, refused.output
    assert f"wrote {page}: no verdict, and why" in refused.output
    shown = page.read_text()
    assert "判定なし" in shown and "違反なし" not in shown
    assert "the event store is missing events: notification 30" in shown
    assert "Traceback" not in refused.output
    store.write_text("no database")  # (replaced by a file that is none: the same)
    foreign = CliRunner().invoke(main, ["verify", str(store), "--html", str(page)])
    assert foreign.exit_code == 65 and "判定なし" in page.read_text()
    assert f"{store} is not a Billing Station event store" in page.read_text()

    def full(path: Path, text: str) -> None:
        raise verify_command.CannotWrite(f"cannot write {path}: No space left on device")
    monkeypatch.setattr(verify_command, "write_text", full)  # (the page cannot be written:
    unwritten = CliRunner().invoke(main, ["verify", str(store), "--html", str(page)])  # said,
    assert unwritten.exit_code == 65  # and the store's refusal still the answer)
    assert f"error: cannot write {page}: No space left on device" in unwritten.stderr
    assert f"{store} is not a Billing Station event store" in unwritten.stderr


def test_cli_a_checkpointed_verify_refused_keeps_what_its_checkpoint_found_on_its_page(
        simulated: Path, tmp_path: Path) -> None:
    """Refused after its checkpoint: the page showed nothing found, of the whole store,
    and dropped the violation the checkpoint held (the reviewer's probe); a checkpoint of
    another store left the day before's page as it was."""
    store, page, kept = tmp_path / "daily.sqlite3", tmp_path / "daily.html", tmp_path / "a.ckpt"
    shutil.copy(simulated, store)
    use_a_key_twice(store)
    first = CliRunner().invoke(main, ["verify", str(store), "--html", str(page),
                                      "--checkpoint", str(kept)])
    assert first.exit_code == 1 and "D-3" in page.read_text()
    with contextlib.closing(sqlite3.connect(store)) as db:  # (a row after the checkpoint)
        db.execute("INSERT INTO stored_events SELECT originator_id, originator_version + 1000,"
                   " topic, CAST('not json' AS BLOB) FROM stored_events WHERE rowid = 5")
        db.commit()
    refused = CliRunner().invoke(main, ["verify", str(store), "--html", str(page),
                                        "--checkpoint", str(kept)])
    assert refused.exit_code == 65, refused.output
    shown = page.read_text()
    assert "判定なし" in shown and "D-3" in shown and "違反 1 件" in shown
    assert f"チェックポイント {kept} の続き" in shown
    other = Simulation(attrs.evolve(SMALL, seed=12, days=2), tmp_path / "other")
    other.run()
    other.close()
    mismatched = CliRunner().invoke(main, ["verify", str(other.store), "--html", str(page),
                                           "--checkpoint", str(kept)])
    assert mismatched.exit_code == 2, mismatched.output
    assert "判定なし" in page.read_text() and "does not match this store" in page.read_text()


def test_D_14_verify_of_several_stores_names_those_where_it_was_not_judged(
        simulated: Path, tmp_path: Path) -> None:
    """A portal's store beside a simulation's: the counts summed held a judged D-14, and
    "D-14 not judged" was said of neither (the auditor's probe)."""
    portal = tmp_path / "portal.sqlite3"
    app = build(bootstrap.store_settings("sqlite", portal), MailboxFolder(tmp_path / "mail"))
    onboard(app)
    app.log_in_from("203.0.113.9", "main01", "wrong-password")  # (its client recorded)
    app.close()
    page = tmp_path / "v.html"
    result = CliRunner().invoke(main, ["verify", str(simulated), str(portal), "--html",
                                       str(page)])
    assert result.exit_code == 0, result.output
    assert ("D-14 not judged in 1 of 2 stores, whose login attempts record no client "
            f"address: {simulated}") in result.output
    assert D14_UNJUDGED not in result.output
    assert "D-14 は次のストアでは判定していません" in page.read_text()


def test_cli_verify_of_several_stores_names_one_that_holds_an_unreadable_event(
        simulated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A row that cannot be read in one of several stores: the error named no store, and
    the others' violations were not shown; nor may "no violations" be said (by verify, or
    by simulate's audit of its shards)."""
    planted, broken = tmp_path / "planted.sqlite3", tmp_path / "broken.sqlite3"
    for store in (planted, broken):
        shutil.copy(simulated, store)
    use_a_key_twice(planted)
    with contextlib.closing(sqlite3.connect(broken)) as db:
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = 20", (b"{not json",))
        db.commit()
    page = tmp_path / "v.html"
    result = CliRunner().invoke(main, ["verify", str(planted), str(broken), "--html", str(page)])
    assert result.exit_code == 65, result.output
    assert f"VIOLATION D-3 in {planted}:" in result.output  # (the other store's, still told)
    assert f"error: {broken} holds an event that cannot be read: notification 20" in (
        result.output)
    assert "not verified whole: 1 of 2 stores could not be read whole" in result.output
    assert f"wrote {page}: no verdict, a store could not be read whole" in result.output
    assert "no violations" not in result.output
    shown = page.read_text()  # (the page says so too, with the other store's finding)
    assert "判定なし" in shown and "違反なし" not in shown and "D-3" in shown
    assert f"{broken}: holds an event that cannot be read: notification 20" in shown
    assert "Traceback" not in result.output
    shards = [tmp_path / "shard-01-of-02.sqlite3", broken]  # simulate's audit of its shards
    shutil.copy(simulated, shards[0])
    assert simulate_command._audit(shards) == 65
    said = capsys.readouterr()
    assert f"error: {broken} holds an event that cannot be read: notification 20" in said.err
    assert "not verified whole: 1 of 2 stores could not be read whole, audit" \
        f" of 2 shard stores in {tmp_path.parent}" in said.out and "no violations" not in said.out


@pytest.mark.parametrize(("module", "name"), [
    ("application.audit.checkpoint", "os.system"), ("application.audit.packing", "pickle.loads"),
    ("domain.accounts", "Aggregate"), ("domain.crypto", "new_id"), ("posix", "system")])
def test_a_checkpoint_builds_none_but_our_own_classes(module: str, name: str) -> None:
    """A checkpoint file is the auditor's, but it is read back: a crafted one must not reach
    a function (os.system) through one of our modules."""
    with pytest.raises(pickle.UnpicklingError, match="has no place in a checkpoint"):
        packing.Unpickler(io.BytesIO(b"")).find_class(module, name)
    assert packing.Unpickler(io.BytesIO(b"")).find_class(
        "domain.login_attempt", "LoginAttempt.KeyIssued") is LoginAttempt.KeyIssued


def test_a_replay_up_to_a_notification_names_the_rows_missing_before_it(
        simulated: Path, tmp_path: Path) -> None:
    """Rows 20 to 25 deleted: a replay up to 25 read 19 rows and ended there, as if whole."""
    store = tmp_path / "store.sqlite3"
    shutil.copy(simulated, store)
    with contextlib.closing(sqlite3.connect(store)) as db:
        db.execute("DELETE FROM stored_events WHERE rowid BETWEEN 20 AND 25")
        db.commit()
    with pytest.raises(MissingEvents, match=r"^notifications 20 to 25 \(before 26\) are"):
        list(audit.replay(reader(store), until=25))
    assert len(list(audit.replay(reader(store), until=19))) == 19


def test_cli_verify_of_several_stores_names_one_missing_events(
        simulated: Path, tmp_path: Path) -> None:
    whole_store, holed = tmp_path / "whole.sqlite3", tmp_path / "holed.sqlite3"
    for store in (whole_store, holed):
        shutil.copy(simulated, store)
    with contextlib.closing(sqlite3.connect(holed)) as db:
        db.execute("DELETE FROM stored_events WHERE rowid BETWEEN 31 AND 40")
        db.commit()
    result = CliRunner().invoke(main, ["verify", str(whole_store), str(holed)])
    assert result.exit_code == 65, result.output
    assert f"error: {holed} is missing events: notifications 31 to 40 (before 41) are " \
        "absent" in result.output
    assert "not verified whole: 1 of 2 stores could not be read whole" in result.output
    assert "no violations" not in result.output and "Traceback" not in result.output


def test_a_finding_packed_before_its_class_moved_builds_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint of format 12 holds its findings as application.audit.verify.Violation,
    as they were packed before the class moved to evidence.py: still read, not refused."""
    found = Violation("D-3", "a key was verified twice", ["line"], "同じ通知キーが2回照合された")
    monkeypatch.setattr(Violation, "__module__", "application.audit.verify")
    packed = packing.pack([found])
    monkeypatch.undo()
    assert b"application.audit.verify" in packed and b"application.audit.evidence" not in packed
    assert packing.unpack(packed) == [found]


def test_a_checkpoint_packed_before_the_books_split_builds_back(
        simulated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint of this format written before the books were split in two (its
    verifier's books and attempts packed as application.audit.books' classes, the closed
    attempts in packed parts of their own) builds back into the same books."""
    verifier = audit.Verifier()
    list(verifier.check(events_to_verify(reader(simulated)), final=False))
    moved = (account_book.AccountState, account_book.AccountBook, attempt_book.Attempt,
             attempt_book.AttemptBook, attempt_book.OutOfOrder)
    books = types.ModuleType("application.audit.books")  # (as it was, for pickle to find)
    monkeypatch.setitem(sys.modules, books.__name__, books)
    for cls in moved:
        monkeypatch.setattr(cls, "__module__", books.__name__)
        setattr(books, cls.__name__, cls)
    packed = packing.pack(verifier)
    monkeypatch.undo()
    assert b"application.audit.books" in packed and b"attempt_book" not in packed
    rebuilt = packing.unpack(packed)
    assert type(rebuilt.accounts) is account_book.AccountBook
    assert type(rebuilt.attempts) is attempt_book.AttemptBook
    assert rebuilt.accounts.accounts == verifier.accounts.accounts
    assert rebuilt.counts == verifier.counts
    assert list(rebuilt.attempts.open.values()) == list(verifier.attempts.open.values())
    rebuilt.attempts.closed._unpack()  # (its parts, packed as application.audit.books')
    verifier.attempts.closed._unpack()
    assert verifier.attempts.closed.latest  # (the store closes attempts: some to compare)
    assert rebuilt.attempts.closed.latest == verifier.attempts.closed.latest
