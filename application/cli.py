"""billing-station: the project's one command, with sub-commands."""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import click
from tqdm import tqdm

from application import audit, config
from application.billing_station import BillingStation
from application.demo import demo_app, run_demo
from application.replay import replay, store_size
from application.screens import JST
from application.store import StoredEventError
from application.verify import Verifier

EXIT_VIOLATIONS = 1
EXIT_NOT_FOUND = 1
EXIT_DATA_ERROR = 65  # sysexits' EX_DATAERR: the store holds an event that cannot be read


class Commands(click.Group):
    """Sub-commands; a store that cannot be read is one clear line and exit 65."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoredEventError as e:
            click.echo(f"error: the event store holds an event that cannot be read: {e}",
                       err=True)
            ctx.exit(EXIT_DATA_ERROR)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Billing Station's notify key (通知キー), an event-sourced executable model.

    Stores and mail are chosen by environment settings (BS_STORE, BS_SQLITE_PATH,
    POSTGRES_*, BS_MAIL, BS_MAILBOX, BS_SMTP_*, BS_HASH_COST); see README.md. The audit
    commands (timeline, as-of, history, verify) read the configured store and never write.
    """


@main.command()
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-output"),
    show_default=True, help="Folder for the demo's SQLite store and its mailbox of .eml files.",
)
def demo(out: Path) -> None:
    """Play the manual's story end to end and print each screen's message.

    A first login with the password only, turning the notify key on, a login that mails a
    key, the key entered, the top page with 前回ログイン, an expired key refused and a
    re-login that issues a new key. Time moves by freezegun: the story spans days and runs
    in seconds. The store is left for the audit tools.
    """
    app, mailbox = demo_app(out, config.hasher().cost)
    try:
        run_demo(app, mailbox, click.echo)
    finally:
        app.close()
    click.echo(f"\nevent store: {out / 'billing-station.sqlite3'}")
    click.echo(f"mailbox:     {mailbox.folder} ({len(mailbox.messages())} mails, .eml)")


# Simulations -----------------------------------------------------------------------------
@main.command()
@click.argument("scenario", default="office")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the store, report and plots [default: simulation-output/SCENARIO].")
@click.option("--seed", type=int, help="Override the scenario's seed.")
@click.option("--days", type=int, help="Override the scenario's number of days.")
@click.option("--compare", "validities", metavar="MINUTES,...",
              help="Run once per key validity (e.g. 5,10,15) and print them side by side.")
@click.option("--verify/--no-verify", "audit_after", default=True, show_default=True,
              help="Audit the store the run leaves (exit 1 on any violation).")
def simulate(scenario: str, out: Path | None, seed: int | None, days: int | None,
             validities: str | None, audit_after: bool) -> None:
    """Play SCENARIO (a shipped name: office, slow-mail, large; or a TOML file): a
    population logging in over simulated days through the application's services, on a
    SQLite store, with time moved by freezegun. Writes report.txt, report.json and PNG
    plots next to the store, then audits the store with verify.

    The same seed records the same events. Scrypt's cost is the scenario's hash_cost,
    stated in the report.
    """
    from simulations import scenario as scenarios
    from simulations.runs import run_compare, run_one

    try:
        chosen = scenarios.load(scenario)
    except scenarios.ScenarioError as e:
        raise click.BadParameter(str(e), param_hint="SCENARIO") from e
    chosen = attrs.evolve(chosen, seed=chosen.seed if seed is None else seed,
                          days=days or chosen.days)
    folder = out or Path("simulation-output") / chosen.name
    if validities:
        try:
            minutes = [float(m) for m in validities.split(",")]
        except ValueError as e:
            raise click.BadParameter("a list of minutes, e.g. 5,10,15",
                                     param_hint="--compare") from e
        stores = run_compare(chosen, minutes, folder, click.echo)
    else:
        stores = [run_one(chosen, folder, click.echo)]
    if audit_after:
        sys.exit(max(_audit(store) for store in stores))


def _audit(store: Path) -> int:
    app = BillingStation({"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                          "SQLITE_DBNAME": str(store)})
    verifier = Verifier()
    violations = sum(1 for _ in verifier.check(_events(app)))
    app.close()
    click.echo(f"audit of {store}: {verifier.counts['events']:,} events, "
               f"{verifier.counts['login attempts']:,} login attempts, "
               + (f"{violations} VIOLATION(S) (run verify for the evidence)" if violations
                  else "no violations"))
    return EXIT_VIOLATIONS if violations else 0


# The audit commands ----------------------------------------------------------------------
class Instant(click.ParamType):
    """An instant: ISO 8601 or as the screens show it (2015/01/16 10:00); JST unless an
    offset is given; a date alone is its midnight."""

    name = "INSTANT"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("/", "-"))
        except ValueError:
            self.fail(f"{value!r} is not an instant: use 2015-01-16, 2015-01-16 10:00 or "
                      "2015-01-16T10:00:00+09:00", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=JST)


PERIOD = [
    click.option("--from", "since", type=Instant(), help="Start of the period (inclusive)."),
    click.option("--to", "until", type=Instant(), help="End of the period (exclusive)."),
]


def period(command: Any) -> Any:
    for option in reversed(PERIOD):
        command = option(command)
    return command


def _store() -> BillingStation:
    """The application on the configured store (BS_STORE, BS_SQLITE_PATH, POSTGRES_*),
    which must exist: the audit reads it and never writes."""
    try:
        return BillingStation(config.store_env(existing=True))
    except config.ConfigError as e:
        raise click.UsageError(str(e)) from e


def _events(app: BillingStation) -> Iterator[Any]:
    """The store's events with a progress bar on stderr when it is a terminal."""
    with tqdm(total=store_size(app), unit="event", unit_scale=True, file=sys.stderr,
              disable=None, leave=False, desc="replaying") as bar:
        yield from replay(app, on_page=bar.update)


@main.command()
@click.argument("login_id")
@period
def timeline(login_id: str, since: datetime | None, until: datetime | None) -> None:
    """Every event of LOGIN_ID in order, in JST: its account's changes and its login
    attempts (type, attempt, outcome). Keys and passwords appear only as short digests."""
    app = _store()
    for line in audit.timeline(_events(app), login_id, since, until):
        click.echo(line)


@main.command("as-of")
@click.argument("instant", type=Instant())
@click.argument("login_id")
def as_of(instant: datetime, login_id: str) -> None:
    """LOGIN_ID's account as it stood at INSTANT (JST unless an offset is given), rebuilt
    from its events up to then: notify key, registered address, permissions, plan.
    Exits 1 if the login ID did not exist at that instant."""
    state = audit.as_of(_store(), login_id, instant)
    if state is None:
        click.echo(f"{login_id}: no such login ID at {instant.astimezone(JST):%Y/%m/%d %H:%M:%S}",
                   err=True)
        sys.exit(EXIT_NOT_FOUND)
    width = max(_width(label) for label, _ in state)
    for label, value in state:
        click.echo(f"{label}{' ' * (width - _width(label))}  {value}")


def _width(text: str) -> int:
    """Columns on a terminal: full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


@main.command()
@period
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "jsonl"]), default="table",
              show_default=True, help="table for people, csv for spreadsheets, jsonl for tools.")
def history(since: datetime | None, until: datetime | None, fmt: str) -> None:
    """Every login attempt requested in the period, in order, with its outcome (completed,
    password_rejected, expired, locked, superseded, key_withheld, mail_failed, abandoned),
    whether a key was used, and the seconds it took. Times in JST."""
    records = audit.history(_events(_store()), since, until)
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(audit.FIELDS)
        writer.writerows(attrs.astuple(r) for r in records)
    elif fmt == "jsonl":
        for r in records:
            click.echo(json.dumps(attrs.asdict(r), ensure_ascii=False))
    else:
        widths = (19, 16, 7, 17, 8, 12, 11, 11, 13, 7)
        click.echo(" ".join(f"{n:<{w}}" for n, w in zip(audit.FIELDS, widths, strict=False)))
        for r in records:
            click.echo(" ".join(f"{v!s:<{w}}" for v, w in
                                zip(attrs.astuple(r), widths, strict=False)))


@main.command()
def verify() -> None:
    """Replay the whole store and check every login against the policy in force at its time
    (LG-2..LG-5, D-1..D-5) and every change against who may make it (CI-1, SB-2). Prints
    each violation with the events that prove it, then a summary; exits 1 on any violation."""
    app = _store()
    verifier = Verifier()
    violations: dict[str, int] = {}
    for violation in verifier.check(_events(app)):
        violations[violation.rule] = violations.get(violation.rule, 0) + 1
        click.echo(f"VIOLATION {violation.rule}: {violation.message}")
        for line in violation.evidence:
            click.echo(f"    {line}")
    click.echo("summary: " + ", ".join(f"{n:,} {what}" for what, n in verifier.counts.items()))
    if violations:
        by_rule = ", ".join(f"{rule} ×{n}" for rule, n in sorted(violations.items()))
        click.echo(f"{sum(violations.values())} violation(s) found: {by_rule}")
    else:
        click.echo("verified: no violations")
    sys.exit(EXIT_VIOLATIONS if violations else 0)


if __name__ == "__main__":
    sys.exit(main())
