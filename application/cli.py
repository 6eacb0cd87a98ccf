"""billing-station: the project's one command, with sub-commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from application import audit, config
from application.billing_station import BillingStation
from application.demo import demo_app, run_demo


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Billing Station's notify key (通知キー), an event-sourced executable model.

    Stores and mail are chosen by environment settings (BS_STORE, BS_SQLITE_PATH,
    POSTGRES_*, BS_MAIL, BS_MAILBOX, BS_SMTP_*, BS_HASH_COST); see README.md.
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



def _store() -> BillingStation:
    """The application on the configured store (BS_STORE, BS_SQLITE_PATH, POSTGRES_*)."""
    try:
        return BillingStation(config.store_env())
    except config.ConfigError as e:
        raise click.UsageError(str(e)) from e


@main.command()
@click.argument("login_id")
def timeline(login_id: str) -> None:
    """Every event of LOGIN_ID in order, in JST; keys and passwords appear only as short
    digests."""
    app = _store()
    for line in audit.timeline(app, login_id):
        click.echo(line)


@main.command()
def verify() -> None:
    """Replay the whole store and check every login against the policy in force at its time
    (LG-3, LG-4, LG-5, D-2, D-3, D-4). Exits 1 when any violation is found."""
    app = _store()
    violations = 0
    for violation in audit.verify(app):
        violations += 1
        click.echo(f"VIOLATION {violation.rule}: {violation.message}")
        for line in violation.evidence:
            click.echo(f"    {line}")
    click.echo(f"{violations} violation(s) found" if violations else "verified: no violations")
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    sys.exit(main())
