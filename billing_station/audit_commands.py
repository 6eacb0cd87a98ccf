"""The auditor's commands timeline, as-of and history, and what verify (verify_command.py)
shares with them: the store's read-only reader and its replay with a progress bar. They
read the configured store (or one named by --store) and never write."""

from __future__ import annotations

import csv
import ipaddress
import json
import sys
import unicodedata
from collections.abc import Generator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import click
from tqdm import tqdm

from application import audit, bootstrap
from application.adapters.eventstore import StoredEventError
from application.audit import AuditReader
from application.audit.verify import events_to_verify
from application.japan_time import jst
from billing_station import exits, streams
from billing_station.audit_pages import history_page
from billing_station.instants import FORMATS, Instant, period
from billing_station.paths import PATH, existing_files
from billing_station.streams import write_whole
from domain.forms import login_id_typed
from simulations.wording import counted_as


def _existing_file(ctx: click.Context, param: click.Parameter, value: Path | None
                   ) -> Path | None:
    return None if value is None else existing_files(ctx, param, (value,))[0]


STORE = click.option(  # (verify takes its stores as arguments; here a login ID is one)
    "--store", metavar="FILE", type=PATH, callback=_existing_file,
    help="A SQLite store file to read instead of the configured store (BS_STORE, "
         "BS_SQLITE_PATH, POSTGRES_*), e.g. simulation-output/office/simulation.sqlite3.")


def reader(path: Path | None = None) -> AuditReader:
    """The SQLite store at ``path``, or else the configured store (BS_STORE, BS_SQLITE_PATH,
    POSTGRES_*), which must exist; closed when the command ends. (A setting that cannot be
    used is the console script's usage error.)"""
    store = bootstrap.audit_reader(
        store=None if path is None else bootstrap.store_settings("sqlite", path))
    click.get_current_context().call_on_close(store.close)
    return store


def events(app: AuditReader, for_verify: bool = False) -> Generator[Any, None, None]:
    """The store's events with a progress bar on stderr when it is a terminal (for verify:
    those no check reads left undecoded)."""
    with tqdm(total=audit.position(app), unit="event", unit_scale=True, file=sys.stderr,
              disable=None, leave=False, desc="replaying") as bar, streams.apart_from(bar):
        if for_verify:
            yield from events_to_verify(app, on_page=bar.update)
        else:
            yield from audit.replay(app, on_page=bar.update)


def _login_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A login ID as ログイン takes it (full-width made half-width, the spaces around it
    dropped), so that timeline, as-of and history find the same one; an empty one is no
    question to answer (it was "no such login ID", exit 1)."""
    if value is None:
        return None
    typed = login_id_typed(value)
    if not typed:
        raise click.BadParameter("empty: give a login ID, e.g. main01", ctx, param)
    return typed


def _quoted(login_id: str) -> str:
    """A login ID in a message: quoted (a space or an invisible character shows), and one
    too long to be a login ID cut short."""
    return repr(login_id if len(login_id) <= 64 else login_id[:64] + "…")


@click.command()
@click.argument("login_id", callback=_login_id)
@period
@STORE
def timeline(login_id: str, since: datetime | None, until: datetime | None,
             store: Path | None) -> None:
    """Every event of LOGIN_ID in order, in JST: its account's changes, its login attempts
    (type, attempt, outcome) and its portal sessions' starts and ends (D-12). Keys and
    passwords appear only as short digests, a session's id as its digest's first digits.
    Exits 1 if the store knows no such login ID."""
    found, shown = audit.Timeline(login_id, since, until), False
    for line in found.lines(events(reader(store))):
        click.echo(line)
        shown = True
    if not found.found:
        click.echo(f"{_quoted(login_id)}: no such login ID in the store", err=True)
        sys.exit(exits.NOT_FOUND)
    if not shown:  # (it exists: nothing of it in the period)
        click.echo(f"{_quoted(login_id)}: no events in the period", err=True)


@click.command("as-of", help=f"""LOGIN_ID's account as it stood at INSTANT, rebuilt from
its events up to then: notify key, registered address, permissions, plan. Exits 1 if the
login ID did not exist at that instant.

INSTANT: {FORMATS}.""")
@click.argument("instant", type=Instant())
@click.argument("login_id", callback=_login_id)
@STORE
def as_of(instant: datetime, login_id: str, store: Path | None) -> None:
    state = audit.as_of(reader(store), login_id, instant)
    if state is None:
        click.echo(f"{_quoted(login_id)}: no such login ID at {jst(instant, seconds=True)} JST",
                   err=True)
        sys.exit(exits.NOT_FOUND)
    width = max(_width(label) for label, _ in state)
    for label, value in state:
        click.echo(f"{label}{' ' * (width - _width(label))}  {value}")


def _width(text: str) -> int:
    """Columns on a terminal: full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _ip_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An IP address in its canonical text (::1, not 0:0:0:0:0:0:0:1), or a usage error."""
    if value is None:
        return None
    if (canonical := _canonical(value.strip())) is None:
        raise click.BadParameter(f"{value!r} is not an IP address")
    return canonical


def _canonical(address: str) -> str | None:
    """An address as the portal recorded it, in canonical text (None: no IP address)."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


HISTORY_HELP = """Every login attempt requested in the period, in order, one row each.
Times in JST (ISO 8601 with +09:00 in csv and jsonl). A 「ログイン」 the portal refused
unchecked under D-14 (too many failures from its address) records nothing and is not here:
the portal's log names each. In csv, a text beginning with = + - or @ (a formula's start
to a spreadsheet: a login ID may begin with -) is written with a ' before it; jsonl keeps it
as recorded. Exits 1 when --login-id or --client finds no attempt. The columns:

\b
""" + "\n".join(f"  {name:<15} {meaning}" for name, meaning in audit.COLUMNS.items())


@click.command(help=HISTORY_HELP)
@period
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "jsonl", "html"]),
              default="table", show_default=True,
              help="table for people, csv for spreadsheets, jsonl for tools, html for a "
                   "self-contained page with filters (to a file: > history.html).")
@click.option("--client", metavar="ADDRESS", callback=_ip_address,
              help="Only the logins from this client IP address (at the portal, or in a "
                   "simulation whose people have addresses; D-14 counts by it), e.g. "
                   "203.0.113.9.")
@click.option("--login-id", metavar="ID", callback=_login_id,
              help="Only the attempts at this login ID, as typed at ログイン: an account's, "
                   "or one of no account, recorded only as its tag (worked out again here: "
                   "a scrypt derivation at each cost the tags name).")
@STORE
def history(since: datetime | None, until: datetime | None, fmt: str,
            client: str | None, login_id: str | None, store: Path | None) -> None:
    if fmt == "html" and sys.stdout.isatty():  # (megabytes of markup on a terminal)
        raise click.UsageError("--format html writes a whole page: send it to a file, e.g. "
                               "> history.html")
    app = reader(store)
    records, written = audit.history(events(app), since, until), 0
    read, addressed = 0, False  # attempts in the period; whether any had a client address

    def from_client(records: Iterator[audit.LoginRecord]) -> Iterator[audit.LoginRecord]:
        nonlocal read, addressed
        for record in records:
            read, addressed = read + 1, addressed or bool(record.client_address)
            if _canonical(record.client_address) == client:
                yield record

    if client is not None:
        records = from_client(records)
    if login_id is not None:
        records = audit.at_login_id(records, login_id)

    def counted() -> Iterator[audit.LoginRecord]:
        nonlocal written
        for record in records:
            yield record
            written += 1

    try:
        with audit.located(app):
            _write_history(counted(), since, until, fmt, client, login_id)
    except StoredEventError as e:  # rows are streamed: those written are not the period
        if written and fmt != "html":
            rows = counted_as(written, "row")
            raise type(e)(f"{e}; what was written before it ({rows}) is only part of "
                          "the period") from None
        raise
    if written or (login_id is None and client is None):
        return
    asked = " ".join(([f"at {_quoted(login_id)}"] if login_id is not None else [])
                     + ([f"from {client}"] if client is not None else []))
    within = "" if since is None and until is None else " in the period"
    unaddressed = ("" if client is None or addressed or not read else  # (a simulation's)
                   f" (of {counted_as(read, 'attempt')} read, none records a client address)")
    click.echo(f"no login attempt {asked}{within}{unaddressed}", err=True)
    sys.exit(exits.NOT_FOUND)  # (as grep: a question with no answer)


def _write_history(records: Iterator[audit.LoginRecord], since: datetime | None,
                   until: datetime | None, fmt: str, client: str | None,
                   login_id: str | None) -> None:
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(audit.FIELDS)
        writer.writerows([_cell(_csv(v)) for v in attrs.astuple(r)] for r in records)
    elif fmt == "jsonl":
        for r in records:
            click.echo(json.dumps(attrs.asdict(r), ensure_ascii=False))
    elif fmt == "html":
        write_whole(history_page(list(records), since, until, client, login_id))
    else:
        widths = (36, 19, 20, 7, 17, 8, 12, 11, 11, 13, 14, 15, 14, 14)  # (login_id: a tag's 20;
        #   key_policy: 86400/5/5/3600)
        named = ["requested_at(JST)" if n == "requested_at" else n for n in audit.FIELDS]
        click.echo(" ".join(f"{n:<{w}}" for n, w in zip(named, widths, strict=True)))
        for r in records:
            row = attrs.evolve(r, requested_at=r.requested_at[:19].replace("-", "/").replace(
                "T", " "))
            click.echo(" ".join(f"{_csv(v)!s:<{w}}" for v, w in
                                zip(attrs.astuple(row), widths, strict=True)).rstrip())


def _csv(value: object) -> object:
    """Booleans as spreadsheets and CSV readers take them (and as every format says them)."""
    return ("true" if value else "false") if isinstance(value, bool) else value


_FORMULA = ("=", "+", "-", "@")  # what a spreadsheet takes for a formula's start (a tab or
#                                   a carriage return never gets here: printable() escapes them)


def _cell(value: object) -> object:
    """Text a spreadsheet would run as a formula with a ' before it, as spreadsheets
    themselves mark text: a login ID may begin with - (-main01), and a store written by
    another hand may hold anything (a login ID typed =HYPERLINK(…) is recorded as its tag)."""
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA) else value


COMMANDS = [timeline, as_of, history]
