"""``billing-station serve``: the portal on 127.0.0.1:8000, on the configured store."""

from __future__ import annotations

import copy
import errno
import ipaddress
import os
import secrets
import socket
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import uvicorn
import uvicorn.config

from application import bootstrap
from application.adapters.mailbox import MailboxFolder
from application.adapters.smtp import SMTPMailer
from application.audit.reading import refuse_unreadable, store_errors
from application.samples import MAIN_ID
from billing_station import exits
from billing_station.option_types import WholeNumber
from billing_station.verify_words import printable_path
from portal.config import DEADLINE, DEV_MAILBOX, SECRET, TABLES_READY, WORKERS, PortalConfig
from portal.protocol import PortalHttpTools
from portal.server import onboard_demo_if_empty, station_from
from simulations.wording import counted_as


def _proxies(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Each entry an IP address or network: anything else (a '*', a typo) would let
    clients name their own address and slip past D-14, or silently trust no one. Each is
    handed to the server as read here (10.1.2.3/16 as 10.1.0.0/16: the server takes a
    network with its host's bits for a name, and trusted no one)."""
    if value is None:
        return None
    networks = []
    for entry in (entry.strip() for entry in value.split(",")):
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise click.BadParameter(f"{entry!r} is not an IP address or network (e.g. "
                                     "10.0.0.5 or 10.1.0.0/16)", ctx, param) from None
        if network.prefixlen == 0:  # (0.0.0.0/0 is '*' by another name)
            raise click.BadParameter(f"{entry!r} is every address: any client could name its "
                                     "own (list the proxies' addresses)", ctx, param)
        networks.append(str(network) if "/" in entry else str(network.network_address))
    return ",".join(networks)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=WholeNumber(0, 65535),
              metavar="PORT",
              help="Port to listen on; 0 takes a free one (printed, and named in the mails).")
@click.option("--workers", default=1, show_default=True, type=WholeNumber(1, 64),
              metavar="N",
              help="Worker processes; they share nothing but the store.")
@click.option("--dev-mailbox", is_flag=True,
              help="Development only: serve /dev/mailbox, a page listing the .eml key mails "
                   "(on a loopback --host only, and not with --forwarded-allow-ips).")
@click.option("--forwarded-allow-ips", "proxies", metavar="ADDRESSES", callback=_proxies,
              help="Behind a reverse proxy: the proxy's IP addresses or networks "
                   "(comma-separated, e.g. 10.0.0.5,10.1.0.0/16), whose X-Forwarded-For names "
                   "the client, so D-14 counts each client's own address and not the proxy's. "
                   "Never list addresses clients connect from; '*' is refused.")
def serve(host: str, port: int, workers: int, dev_mailbox: bool, proxies: str | None) -> None:
    """Serve the portal: the manual's screens in a browser (ログイン, 通知キー照合,
    トップページ, お客様情報変更, 権限設定).

    On an empty store the manual's demo customer is onboarded first. BS_PORTAL_SECRET signs
    cookies and forms; when unset, one is generated for this run and shared by its workers.
    """
    settings = bootstrap.Settings()
    if settings.store_kind == "memory":
        raise click.UsageError("serve needs a store its workers share: BS_STORE=sqlite or postgres")
    config = PortalConfig.from_environ(settings.environ)  # checked before anything starts
    mail = _mail_checked(settings, config)
    policy = settings.policy()
    port = _listenable(host, port)
    if dev_mailbox and (proxies is not None or not _loopback(host)):
        raise click.BadParameter(
            "the development mailbox shows every key mail to whoever asks: it is served "
            "only on a loopback --host (127.0.0.1, ::1, localhost), not with "
            "--forwarded-allow-ips", param_hint="'--dev-mailbox'")
    where, onboarded = _store_ready(settings)
    secret_given = _workers_told(workers, dev_mailbox)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    # The mails' footer names the login page (bootstrap.Settings.login_url): where this run
    # serves it, unless BS_LOGIN_URL says otherwise (e.g. behind a proxy).
    login_url = os.environ.setdefault("BS_LOGIN_URL", url)  # (one given: checked above)
    click.echo(f"portal: {url} (store: {printable_path(where)}, "  # (which one: BS_SQLITE_PATH
               f"{counted_as(workers, 'worker')})")  # set for an audit serves that store)
    if onboarded:
        click.echo(f"demo main ID onboarded: log in as {MAIN_ID} (its password is in "
                   "application/samples.py; no password is ever printed)")
    shown = dev_mailbox and settings.environ.get("BS_MAIL", "files") == "files"
    click.echo(f"key mails: {mail}" + (f" (also at {url}dev/mailbox)" if shown else ""))
    click.echo(f"login page named in mails: {login_url}")
    click.echo(f"D-14: after {counted_as(policy.address_failure_limit, 'failed login')} from "
               f"one client address within {_span(policy.address_window)}, its next logins are "
               "refused unchecked")
    if not secret_given:
        click.echo(f"note: {SECRET} is not set, so a secret made for this run signs cookies and "
                   "forms: after a restart, sessions older than 30 minutes log in again and "
                   "open forms are sent again; set it to keep them")
    uvicorn.run("portal.server:create_from_environment", factory=True, host=host, port=port,
                workers=workers, http=PortalHttpTools, proxy_headers=proxies is not None,
                forwarded_allow_ips=proxies or None, server_header=False,
                log_config=log_config())


def _store_ready(settings: bootstrap.Settings) -> tuple[str, bool]:
    """The store's name, its tables made once before any worker starts, and whether the
    demo customer was onboarded in it (an empty store); a store that is none, foreign or
    unreadable is refused here, not a 500 later."""
    store = settings.store()
    where = bootstrap.store_name(store)
    if not bootstrap.yes_or_no("CREATE_TABLE", store.get("CREATE_TABLE", "true")) and (
            store["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
            and not Path(store["SQLITE_DBNAME"]).is_file()):
        raise bootstrap.ConfigError(f"CREATE_TABLE=false, and there is no store at {where} to "
                                    "serve: unset it, so that serve makes the store")
    with store_errors(where):
        bootstrap.refuse_a_foreign_database(store)
        station = station_from(settings)
        try:  # (events it cannot read, e.g. without their CIPHER_KEY)
            refuse_unreadable(station, where)
            return where, onboard_demo_if_empty(station)
        finally:
            station.close()


def _workers_told(workers: int, dev_mailbox: bool) -> bool:
    """What the worker processes read from the environment they inherit; whether
    BS_PORTAL_SECRET was given (else one is made for this run, the same for each)."""
    secret_given = bool(os.environ.get(SECRET))
    if not secret_given:  # (an empty one too: each worker would make its own)
        os.environ[SECRET] = secrets.token_urlsafe(32)
    os.environ[TABLES_READY] = "1"
    os.environ[WORKERS] = str(workers)
    if dev_mailbox:
        os.environ[DEV_MAILBOX] = "1"
    else:  # (only the option serves it: the workers' setting, inherited, would skip its check)
        os.environ.pop(DEV_MAILBOX, None)
    return secret_given


def _mail_checked(settings: bootstrap.Settings, config: PortalConfig) -> str:
    """Where the key mails go, checked before any worker starts: a mailbox folder that
    cannot be made (BS_MAILBOX=/proc/x), or an SMTP hand-over the request's deadline cuts
    short (its 503 page for a mail that may still go), failed every keyed login, in the log."""
    mailer = settings.mailer()
    if isinstance(mailer, SMTPMailer):
        if mailer.timeout >= config.deadline:
            raise bootstrap.ConfigError(
                f"BS_SMTP_TIMEOUT ({mailer.timeout:g} s) must be below {DEADLINE} "
                f"({config.deadline:g} s), so that a mail that fails is said on the screen")
        return f"SMTP via {mailer.host}"
    assert isinstance(mailer, MailboxFolder)  # (Settings.mailer's only other transport)
    folder = Path(os.path.abspath(mailer.folder))  # (x/../y: each part once, in order)
    missing = [part for part in (folder, *folder.parents) if not part.exists()]
    try:  # (made and removed again: the first mail makes it, and a refusal writes nothing)
        folder.mkdir(parents=True, exist_ok=True)
        writable = os.access(folder, os.W_OK | os.X_OK)
        for made in missing:  # (the deepest first)
            made.rmdir()
    except OSError as e:
        raise bootstrap.ConfigError(f"BS_MAILBOX: the folder {folder} cannot be made "
                                    f"({e.strerror or e})") from None
    if not writable:
        raise bootstrap.ConfigError(f"BS_MAILBOX: the folder {folder} cannot be written")
    return f".eml files in {folder}"


def _span(window: timedelta) -> str:
    """10 minutes, or 90 seconds when not whole minutes."""
    minutes, rest = divmod(int(window.total_seconds()), 60)
    return counted_as(minutes, "minute") if minutes and not rest else \
        counted_as(int(window.total_seconds()), "second")


def _loopback(host: str) -> bool:
    """Does ``host`` name this machine's loopback addresses only (so no other machine
    connects)?"""
    try:
        addresses = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    return all(ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
               for *_, address in addresses)


def _listenable(host: str, port: int) -> int:
    """The port to serve on, checked before the store is touched at every address the host
    names (uvicorn binds them all; 'localhost' is ::1 and 127.0.0.1): a host that is no
    address of this machine is a bad --host; a port in use is one line, exit 69. Port 0: a
    port the system finds free at the first address, known before uvicorn binds it, because
    the mails name the login page (another program could take it in between; rare)."""
    not_here = click.BadParameter(f"{host!r} is not an address of this machine",
                                  param_hint="'--host'")
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise not_here from None
    unavailable = 0
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            try:
                probe.bind((address[0], port, *address[2:]))
                port = port or probe.getsockname()[1]
            except OSError as e:
                if e.errno != errno.EADDRNOTAVAIL:
                    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                    click.echo(f"error: cannot listen on {where}: {e.strerror}", err=True)
                    sys.exit(exits.UNAVAILABLE)
                unavailable += 1
    if unavailable == len(addresses):
        raise not_here
    return port


def log_config() -> dict[str, Any]:
    """uvicorn's own logging, plus the portal's lines (logins by outcome and client address;
    never a key, a password or a session id: D-15) and the application's warnings; its
    access lines without a URL's query string, and a client that is no IP address as
    "unknown" (portal.access_log)."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {"redacted": {"()": "portal.access_log.Redacted"}}
    config["formatters"]["default"]["()"] = "portal.access_log.Line"
    config["formatters"]["access"]["()"] = "portal.access_log.AccessLine"
    config["handlers"]["access"]["filters"] = ["redacted"]
    config["loggers"] |= {
        "portal": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "application": {"handlers": ["default"], "level": "WARNING", "propagate": False},
    }
    return config
