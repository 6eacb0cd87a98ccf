"""The development mailbox: the .eml files the application wrote, listed and readable in
the browser. Served only when explicitly enabled (``serve --dev-mailbox``), never otherwise."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from application.adapters.mailbox import MailboxFolder, read
from application.japan_time import jst
from portal.web import portal, render

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}


def _named_as_loopback(request: Request) -> bool:
    """The request names this machine by its loopback name: a web page the developer opens
    could otherwise have the browser read the keys here through a name of its own that
    resolves to 127.0.0.1 (DNS rebinding), whose Host header the portal is sent."""
    return (request.url.hostname or "") in LOOPBACK_NAMES


def _not_here(request: Request) -> Response:
    return render(request, "error.html", {"message": "メールが見つかりません。"}, status_code=404)


def _folder(request: Request) -> Path:
    folder = portal(request).config.dev_mailbox
    assert folder is not None  # the routes exist only when it is set
    return folder


async def mailbox(request: Request) -> Response:
    if not _named_as_loopback(request):
        return _not_here(request)
    folder = _folder(request)
    paths = MailboxFolder(folder).files()[::-1]  # the newest first
    mails = [(p.name, read(p)) for p in paths]
    return render(request, "mailbox.html", {"folder": folder, "mails": [
        {"name": n, "to": m["To"], "subject": m["Subject"], "date": _sent(m)} for n, m in mails]})


def _sent(message: EmailMessage) -> str:
    """The Date header as the screens show times (2015/01/16 09:58:00, JST)."""
    date = message["Date"]
    moment = getattr(date, "datetime", None)  # (policy.default parses it; None if it cannot)
    return jst(moment, seconds=True) if moment and moment.tzinfo else str(date or "")


async def mail(request: Request) -> Response:
    folder = _folder(request)
    name = request.path_params["name"]
    path = folder / name
    if not _named_as_loopback(request) or "/" in name or not name.endswith(".eml") or (
            not path.is_file()):
        return _not_here(request)
    message = read(path)
    body = message.get_body(("plain",))
    return render(request, "mail.html", {
        "from": message["From"], "to": message["To"], "subject": message["Subject"],
        "date": _sent(message), "body": body.get_content() if body else ""})


ROUTES = [Route("/dev/mailbox", mailbox), Route("/dev/mailbox/{name}", mail)]
