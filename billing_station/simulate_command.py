"""The developer's command: simulate a scenario (or compare policies), then audit its store."""

from __future__ import annotations

import shlex
import sqlite3
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import attrs
import click
from eventsourcing.persistence import PersistenceError

from application import bootstrap
from application.audit import Verifier
from application.audit.parallel import verify_stores
from application.audit.reading import recalled_from
from billing_station import exits, streams
from billing_station.audit_commands import events
from billing_station.compare_option import compared_values, policy_values
from billing_station.option_types import WholeNumber
from billing_station.paths import PATH, output_folder, refuse_settings_not_read
from billing_station.run_output import discarded, hold
from billing_station.verify_command import echo_findings, echo_unreadable, reported
from billing_station.verify_words import counted
from simulations import scenario as scenarios
from simulations.checks import check, policy_bounds
from simulations.population import addresses
from simulations.run_folder import DROPPED, SET_ASIDE, drop_earlier_run, holds_earlier_run
from simulations.shards import shard_count
from simulations.varied import VARIED, Varied, number
from simulations.wording import counted_as


@click.command()
@click.argument("scenario", default="office")
@click.option("--out", type=PATH, metavar="FOLDER", callback=output_folder,
              help="Folder for the store, report and plots [default: simulation-output/SCENARIO].")
@click.option("--seed", type=WholeNumber(), metavar="N", help="Override the scenario's seed.")
@click.option("--days", type=WholeNumber(1, 3660), metavar="DAYS",
              help="Override the scenario's number of days.")
@click.option("--compare", "compared", metavar="[KEY=]VALUE,...", callback=compared_values,
              multiple=True,
              help="Run once per value of one number of the policy and show the runs side "
                   "by side: the key validity in minutes by default (e.g. 5,10,15), or "
                   "KEY=VALUE,... for any of the scenario's [policy] keys, within a scenario "
                   f"file's bounds: {policy_bounds()}. D-14's two need a scenario with client "
                   "addresses (e.g. stuffing --compare address_failure_limit=5,10,20).")
@click.option("--policy", "policy", metavar="KEY=VALUE", callback=policy_values,
              multiple=True,
              help="Set one number of the scenario's [policy] for this run (repeatable, each "
                   "key once), within the same bounds, e.g. --policy key_validity_minutes=15 "
                   "--policy max_wrong_entries=3; the run is named, and its reports "
                   "described, as changed (office-validity-15-wrong-entries-3: without --out, "
                   "its folder in simulation-output, beside the scenario's own). With "
                   "--compare, each compared run has it too (not of the key compared).")
@click.option("--shards", type=WholeNumber(1, 1024), metavar="N", default=1, show_default=True,
              help="Split the customers into N shards (a customer and its sub IDs never "
                   "split, nor the customers behind one client address: at most one shard "
                   "per customer or address, said on stderr when N is lowered), each a task "
                   "on Dask with a SQLite store of its own (shard-NN-of-NN/ in the output "
                   "folder), one report for all. The same seed and N give the same "
                   "stores, report.txt, report.json and plots (report.html also says when "
                   "and how fast it ran); N=1 runs in this process. "
                   "With --compare, each compared run in N shards (in its own folder), on "
                   "one cluster.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run the shards on the Dask cluster of this scheduler (e.g. "
                   "tcp://10.0.0.5:8786) [default: a local cluster on 127.0.0.1 of one "
                   "single-threaded worker process per shard, at most one per core; more "
                   "shards wait their turn]. Workers must reach the output "
                   "folder at the same path; a worker process plays one shard at a time "
                   "(the simulated clock is its process's), so start them with --nthreads 1, "
                   "and with DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False (Dask's "
                   "profiler costs a shard about a tenth of its time).")
@click.option("--verify/--no-verify", "audit_after", default=True, show_default=True,
              help="Audit the store(s) the run leaves, shards in parallel (exit 1 on any "
                   "violation).")
def simulate(scenario: str, out: Path | None, seed: int | None, days: int | None,
             compared: tuple[Varied, list[float]] | None, policy: dict[str, float],
             shards: int, scheduler: str | None, audit_after: bool) -> None:
    """Play SCENARIO (a shipped name: office, slow-mail, stuffing, stuffing-strict, large;
    or a TOML file: docs/scenario-reference.toml sets every key to its default, each said
    with the values it takes): a population logging in over simulated days through the application's
    services, on a SQLite store, the model's clock moved from one visit to the next. Writes
    report.html (one page to hand on), report.txt, report.json and PNG plots next to the
    store (with --compare, compare.html and compare.txt too), then audits the store with
    verify.

    The same seed records the same events, and gives the same report.txt, report.json and
    plots (report.html and compare.html also say when the run was made, and each run's
    report.html how fast it went on this machine). Scrypt's cost is the scenario's hash_cost,
    stated in the report. The run's store is its own SQLite file in --out, its mail simulated,
    and its policy the scenario's: a setting that says otherwise (BS_STORE other than sqlite,
    BS_SQLITE_PATH, BS_MAIL, BS_MAILBOX, BS_HASH_COST, BS_ADDRESS_*, CREATE_TABLE) is refused
    by name rather than ignored. With --shards the run is split over Dask workers; a shard
    that fails is run once more (afresh), then named with its error (exit 70, nothing of the
    run kept); an unreachable --scheduler, or one with no workers within 30 s, exits 69; a
    store that cannot be written (a full disk) exits 74, what the run wrote removed. The
    earlier run in the folder is set aside (.earlier-run) as a run begins, removed once it is
    whole, and put back if it stops short (Ctrl-C: exit 130). One run at a time in a folder: a
    second simulate there is refused (exit 2), and so is one in a folder named as a run's
    parts are (validity-5, shard-01-of-02) while a run in the folder above it is running, or
    the other way round.
    """
    refuse_settings_not_read(  # its hash cost and policy are the scenario's: refused too
        "simulate writes its own SQLite store in its output folder, its mail never leaves the "
        "run and its hash cost and policy are the scenario's hash_cost and [policy]",
        also=("BS_HASH_COST", *bootstrap.POLICY_SETTINGS))
    if scheduler is not None and not scheduler.strip():  # (not a local cluster, unsaid)
        raise click.BadParameter("empty: give a scheduler's address, or leave the option out "
                                 "for a local cluster", param_hint="'--scheduler'")
    if scheduler and shards == 1:
        raise click.UsageError("--scheduler needs --shards N (N > 1)")
    chosen = _chosen(scenario, seed, days, compared, shards, policy)
    folder = out or Path("simulation-output") / chosen.name
    if isinstance(sys.stdout, streams.Closed):  # (>&-: the report would be lost after the run)
        sys.stdout.write("")  # (its error: exit 74, nothing run)
    began, fresh, say = time.time(), not folder.exists(), Say()
    hold(folder, fresh)
    replaced = holds_earlier_run(folder)  # (set aside as the run begins, put back if it
    #   stops short, removed once it is whole)
    # (kill, timeout: as Ctrl-C, nothing half-written kept)
    click.get_current_context().call_on_close(exits.terminate_as_interrupt())
    runs = _whole_run(chosen, folder, compared, shards, scheduler, say,
                      lambda: discarded(folder, began, replaced))
    _drop_earlier_run(folder)
    if say.reader_gone:  # (| head): the run is whole, its files written; unaudited
        click.echo(f"note: the output's reader stopped reading: the run is kept in {folder}, "
                   f"unaudited ({_to_audit(runs)})", err=True)
        sys.exit(exits.BROKEN_PIPE)
    if audit_after:
        try:
            sys.exit(max(_audit(stores) for stores in runs))
        except KeyboardInterrupt as e:  # the run is whole: kept, and said to be unaudited
            said, code = exits.stopped(e)
            click.echo(f"\n{said}: the run is kept in {folder}, its audit unfinished "
                       f"({_to_audit(runs)})", err=True)
            sys.exit(code)


def _whole_run(chosen: scenarios.Scenario, folder: Path,
               compared: tuple[Varied, list[float]] | None, shards: int,
               scheduler: str | None, say: Say, discard: Callable[[], str]) -> list[list[Path]]:
    """The run's stores; or, stopped short, a line saying why and what became of the
    folder (``discard`` removes what the run wrote and says so), and the exit code."""
    try:
        return _run(chosen, folder, compared, shards, scheduler, say)
    except KeyboardInterrupt as e:
        said, code = exits.stopped(e)
        click.echo(f"\n{said}: {discard()}", err=True)
        sys.exit(code)
    except ShardsLost as e:  # (each named): no run; what the shards wrote is removed
        what = (f"a shard's store in {folder} could not be written" if e.unwritable
                else f"{counted_as(e.shards, 'shard')} failed")
        click.echo(f"error: {what}; {discard()}", err=True)
        sys.exit(exits.IO_ERROR if e.unwritable else exits.SHARD_FAILED)
    except (PersistenceError, sqlite3.Error) as e:  # a full disk, mid-run or at the end
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        click.echo(f"error: the simulation's store in {folder} could not be written: "
                   f"{reason}; {discard()}", err=True)
        sys.exit(exits.IO_ERROR)
    except OSError as e:  # a report or plot beside it, on a disk that filled
        if e.errno not in exits.DISK_FULL:
            raise
        click.echo(f"error: {e.strerror} ({e.filename}); {discard()}", err=True)
        sys.exit(exits.IO_ERROR)


def _drop_earlier_run(folder: Path) -> None:
    """The earlier run set aside, removed now this one is whole; if it cannot be, where it
    is left and what becomes of it."""
    try:
        drop_earlier_run(folder)
    except OSError as e:
        left = next(p for p in (folder / SET_ASIDE, folder / DROPPED) if p.exists())
        click.echo(f"note: the earlier run set aside could not be removed ({e.strerror or e}):"
                   f" it is in {left}; " + ("the next run here removes it" if left.name ==
                   DROPPED else "remove it by hand, or the next run here takes it for the "
                   "last whole run (and removes this one)"), err=True)


def _with_policy(chosen: scenarios.Scenario, policy: dict[str, float]) -> scenarios.Scenario:
    """The scenario with --policy's numbers (each checked as the option was read), named
    and described as changed: its folder, and its reports, say so (a scenario's description
    of a stricter D-14 stood over a looser run). Named in VARIED's order, however given."""
    own = attrs.asdict(chosen.policy)
    if same := [key for key in policy if policy[key] == own[key]]:
        click.echo(f"note: {', '.join(f'{key}={number(policy[key])}' for key in same)}: "
                   f"{chosen.name}'s own, nothing changed", err=True)
    changed = {key: policy[key] for key in VARIED if key in policy and key not in same}
    if not changed:
        return chosen
    suffix = "-".join(VARIED[key].folder_of(value) for key, value in changed.items())
    said = ", ".join(f"{key}={number(value)}" for key, value in changed.items())
    renamed = attrs.evolve(chosen.with_policy(**changed), name=f"{chosen.name}-{suffix}",
                           description=f"{chosen.description} (--policy {said})".lstrip())
    if problems := check(renamed):  # (its name, made too long: the file's way is left)
        raise click.BadParameter(f"{'; '.join(problems)}: the scenario's name with "
                                 f"--policy's changes; set them in a scenario file's [policy] "
                                 "instead", param_hint="'--policy'")
    return renamed


def _chosen(scenario: str, seed: int | None, days: int | None,
            compared: tuple[Varied, list[float]] | None, shards: int,
            policy: dict[str, float]) -> scenarios.Scenario:
    """The scenario as the options set it, checked again with them (a usage error names
    what is wrong); what the run will do otherwise than asked said on stderr."""
    try:
        chosen = scenarios.load(scenario)
    except scenarios.ScenarioError as e:
        raise click.BadParameter(str(e), param_hint="SCENARIO") from e
    chosen = attrs.evolve(chosen, seed=chosen.seed if seed is None else seed,
                          days=days or chosen.days)
    if problems := check(chosen):  # the options moved the scenario: checked again
        raise click.BadParameter("; ".join(problems), param_hint="'--days'/'--seed'")
    if compared and compared[0].key in policy:
        raise click.UsageError(f"--compare varies {compared[0].key}: --policy cannot set it too")
    for key, option in [*((key, "'--policy'") for key in policy),
                        *(((compared[0].key, "'--compare'"),) if compared else ())]:
        if VARIED[key].d14 and not addresses(chosen):
            raise click.BadParameter(
                f"{key} is D-14's, which counts the failed logins of client addresses: "
                f"{chosen.name} has none (population.customers_per_address = 0)",
                param_hint=option)
    if policy:
        chosen = _with_policy(chosen, policy)
    if not chosen.hash_cost_set:
        click.echo(f"note: {chosen.name} sets no hash_cost, so keys and passwords are hashed at "
                   f"production's cost (scrypt N=2^{chosen.hash_cost}, about 50 ms each): "
                   "expect minutes; set hash_cost = 8 in the scenario for a quick run", err=True)
    if shards > (lowered := shard_count(chosen, shards)):
        unit, whole = (("client address", "the customers behind one are") if addresses(chosen)
                       else ("customer", "a customer is"))
        click.echo(f"note: {chosen.name} has {counted_as(lowered, unit)} and {whole} never "
                   f"split: {counted_as(lowered, 'shard')}, not {shards:,}", err=True)
    return chosen


def _to_audit(runs: list[list[Path]]) -> str:
    """The command that audits the run's stores (each of a compared run's, its shards'), as
    this one was called (./go verify …)."""
    context = click.get_current_context(silent=True)
    command = context.find_root().info_name if context else None
    return f"to audit it: {command + ' ' if command else ''}verify " + " ".join(
        shlex.quote(str(store)) for stores in runs for store in stores)


class ShardsLost(Exception):
    """Shards failed, each named already (Dask's own exception loads with Dask, which
    every other sub-command starts without). ``unwritable``: a store could not be written."""

    def __init__(self, shards: int, unwritable: bool) -> None:
        super().__init__(shards, unwritable)
        self.shards, self.unwritable = shards, unwritable


def _unwritable(error: BaseException) -> bool:
    """Was it a store that could not be written (its own error, or the disk's)?"""
    return isinstance(error, PersistenceError | sqlite3.Error) or (
        isinstance(error, OSError) and error.errno in exits.DISK_FULL)


class Say:
    """A run's lines on stdout. When their reader has gone (| head), the run goes on
    unsaid, so that it is kept whole (its reports written), where it stopped after its
    store with none."""

    reader_gone = False

    def __call__(self, text: str) -> None:
        try:
            click.echo(text)
        except BrokenPipeError:
            self.reader_gone = True
            streams.reader_gone()  # (the rest: said nowhere)


def _run(chosen: scenarios.Scenario, folder: Path,
         compared: tuple[Varied, list[float]] | None, shards: int,
         scheduler: str | None, say: Say) -> list[list[Path]]:
    """The run(s) the options ask for: each run's store(s), its shards' when in shards.
    Dask and matplotlib load here, when a run starts: every other sub-command (and each of
    serve's worker processes, which import the command line again) starts without them, in
    a fraction of the time and memory."""
    from simulations.dask_cluster import SchedulerAddressError, SchedulerUnreachable
    from simulations.dask_runs import ShardsFailed
    from simulations.experiments import run_compare, run_one, run_sharded_one

    try:
        if compared:
            return run_compare(chosen, *compared, folder, say, shards, scheduler)
        if shards > 1:
            return [run_sharded_one(chosen, shards, folder, say, scheduler)]
        return [[run_one(chosen, folder, say)]]
    except SchedulerUnreachable as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(exits.UNAVAILABLE)
    except SchedulerAddressError as e:
        raise click.BadParameter(str(e), param_hint="'--scheduler'") from e
    except ShardsFailed as e:
        for part, why in e.failures:
            click.echo(f"error: {part.name} failed {why}", err=True)
        raise ShardsLost(len(e.failures), any(map(_unwritable, e.errors))) from e


def _audit(stores: list[Path]) -> int:
    """verify of the run's store, or of its shards' stores in parallel, findings merged;
    each violation printed with its evidence, as verify prints it."""
    if len(stores) == 1:
        verifier = Verifier()
        with closing(bootstrap.audit_reader(store=bootstrap.store_settings("sqlite", stores[0]))
                     ) as app:
            violations = sum(1 for _ in reported(verifier.check(
                events(app, for_verify=True), recall=recalled_from(app))))
        counts, where = verifier.counts, str(stores[0])
    else:
        found = verify_stores(stores)
        counts, violations = found.counts, len(found.violations)
        where = f"{len(stores)} shard stores in {stores[0].parent.parent}"
        echo_findings(found)
        if found.unreadable:  # (a shard's store read up to there only: no verdict)
            echo_unreadable(found.unreadable, len(stores), f", audit of {where}")
            return exits.DATA_ERROR
    click.echo(f"audit of {where}: {counted(counts['events'], 'events')}, "
               f"{counted(counts['login attempts'], 'login attempts')}, "
               + (f"{counted_as(violations, 'violation').upper()}, each above with its "
                  "evidence" if violations else "no violations"))
    return exits.VIOLATIONS if violations else exits.OK
