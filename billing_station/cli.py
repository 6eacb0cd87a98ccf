"""billing-station: the project's one command, with sub-commands from every layer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from application import bootstrap
from application.adapters.eventstore import StoredEventError
from application.audit import NotAnEventStore, StoreUnavailable
from billing_station import exits, streams
from billing_station.audit_commands import COMMANDS as AUDIT_COMMANDS
from billing_station.go_names import GO, GO_COMMANDS
from billing_station.paths import PATH, output_folder, refuse_settings_not_read
from billing_station.serve_command import serve
from billing_station.simulate_command import simulate
from billing_station.verify_command import verify
from simulations.demo import demo_app, mark_as_the_demos, not_the_demos, run_demo


class Commands(click.Group):
    """Sub-commands; a store that cannot be read, a setting that cannot be used or an
    option or argument click refuses is one clear line and its exit code."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        """An unknown sub-command, with the nearest names: run as ./go, its own too; and an
        option that takes one value given twice (click keeps the last, unsaid)."""
        try:
            name, command, rest = super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as e:
            if ctx.info_name != GO:
                raise
            raise click.exceptions.NoSuchCommand(
                e.command_name, possibilities=[*self.commands, *GO_COMMANDS], ctx=ctx) from e
        if command is not None and (twice := _given_twice(command, rest)):
            raise click.UsageError(f"{twice} is given twice: give it once",
                                   click.Context(command, info_name=name, parent=ctx))
        return name, command, rest

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as e:  # of the command itself: an unknown sub-command
            _refuse(e)

    def invoke(self, ctx: click.Context) -> Any:
        streams.opened()
        try:
            return super().invoke(ctx)
        except click.UsageError as e:  # a sub-command's options and arguments, and its own
            sub = f"{ctx.command_path} {ctx.invoked_subcommand}" if ctx.invoked_subcommand \
                else ctx.command_path
            _refuse(e, sub)
        except StoredEventError as e:
            click.echo(f"error: {e.said()}", err=True)
            ctx.exit(exits.DATA_ERROR)
        except NotAnEventStore as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(exits.DATA_ERROR)
        except StoreUnavailable as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(exits.UNAVAILABLE)
        except bootstrap.ConfigError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(exits.USAGE)
        except KeyboardInterrupt as e:  # Ctrl-C: one line, 130 (not click's "Aborted!" and
            said, code = exits.stopped(e)  # 1, which verify's 1 for violations reads as)
            click.echo(f"\n{said}", err=True)
            ctx.exit(code)
        except BrokenPipeError:  # the output's reader went (| head): as a program it stops
            streams.reader_gone()
            ctx.exit(exits.BROKEN_PIPE)
        except OSError as e:  # a file, or the output, that could not be written: no traceback
            what = e.filename or ("the output" if e.errno in exits.DISK_FULL else None)
            click.echo(f"error: {e.strerror or e}" + (f" ({what})" if what else ""), err=True)
            ctx.exit(exits.IO_ERROR)


def _given_twice(command: click.Command, args: list[str]) -> str | None:
    """The first option of ``command`` taking one value that ``args`` give twice."""
    valued = {name: option for option in command.params if isinstance(option, click.Option)
              and not (option.is_flag or option.multiple or option.count)
              for name in option.opts + option.secondary_opts}
    seen: set[click.Option] = set()
    words = iter(args)
    for word in words:
        if word == "--":
            break
        name, has_value, _ = word.partition("=")
        option = valued.get(name if name.startswith("--") else word)
        if option is None:
            continue
        if option in seen:
            return name if name.startswith("--") else word
        seen.add(option)
        if not has_value:
            next(words, None)  # its value, whatever it looks like
    return None


def _refuse(e: click.UsageError, command: str | None = None) -> NoReturn:
    """click's usage error as this command's others are said: 'error: ...' in one line
    (click's own is four: the usage, a hint, a blank, the error), naming where help is
    (``command``'s, when click's error does not know its command)."""
    if isinstance(e, click.exceptions.NoArgsIsHelpError):  # (the help, asked by no words)
        raise e
    command = e.ctx.command_path if e.ctx else command
    where = f" (see '{command} --help')" if command else ""
    click.echo(f"error: {e.format_message().rstrip('.')}{where}", err=True)
    raise click.exceptions.Exit(e.exit_code)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="billing-station-notify-key", prog_name="billing-station")
def main() -> None:
    """Billing Station's notify key (通知キー), an event-sourced executable model.

    Stores and mail are chosen by environment settings (BS_STORE, BS_SQLITE_PATH,
    POSTGRES_*, BS_MAIL, BS_MAILBOX, BS_SMTP_*, BS_HASH_COST, CIPHER_*, COMPRESSOR_TOPIC;
    D-14's BS_ADDRESS_FAILURE_LIMIT and BS_ADDRESS_WINDOW; the portal's BS_PORTAL_SECRET,
    BS_PORTAL_DEADLINE, BS_LOGIN_URL), each checked at start; see
    README.md's Settings. The audit commands (timeline, as-of, history, verify) read the
    configured store and never write.
    """


@main.command()
@click.option(
    "--out", type=PATH, metavar="FOLDER", default=Path("demo-output"),
    callback=output_folder,
    show_default=True, help="Folder for the demo's SQLite store and its mailbox of .eml files.",
)
def demo(out: Path) -> None:
    """Play the manual's story end to end and print each screen's message.

    A first login with the password only, turning the notify key on, a login that mails a
    key, the key entered, the top page with 前回ログイン, an expired key refused and a
    re-login that issues a new key. The model's clock is moved by hand: the story spans days
    and runs in seconds. The store is left for the audit tools. It always plays on a fresh SQLite
    store and mailbox in --out, replacing what the previous demo left there (a store or mails
    it did not leave, such as a portal's, are refused, not replaced): BS_STORE,
    BS_SQLITE_PATH, BS_MAIL, BS_MAILBOX and CREATE_TABLE (and D-14's BS_ADDRESS_*: its
    story is the manual's, under D-14's own numbers) are refused by name rather than ignored.
    """
    refuse_settings_not_read("the demo plays on its own store and mailbox in --out, under "
                             "D-14's own numbers", also=bootstrap.POLICY_SETTINGS)
    if found := not_the_demos(out):
        names = ", ".join(str(path.relative_to(out)) for path in found[:3])
        raise click.BadParameter(f"{out} holds a store or mails no demo left there ({names}"
                                 f"{', ...' if len(found) > 3 else ''}), which the demo would "
                                 "replace: give a new or empty folder", param_hint="'--out'")
    app, mailbox = demo_app(out, bootstrap.Settings())
    try:
        run_demo(app, mailbox, click.echo)
    finally:
        app.close()
        mark_as_the_demos(out, mailbox)
    click.echo(f"\nevent store: {out / 'billing-station.sqlite3'}")
    click.echo(f"mailbox:     {mailbox.folder} ({len(mailbox.messages())} mails, .eml)")


main.add_command(simulate)
main.add_command(serve)
main.add_command(verify)
for command in AUDIT_COMMANDS:
    main.add_command(command)


if __name__ == "__main__":
    sys.exit(main())
