"""billing-station: the project's one command, with sub-commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from application import config
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


if __name__ == "__main__":
    sys.exit(main())
