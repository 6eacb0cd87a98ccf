"""Code that runs in other processes (spawned, so each is a fresh interpreter with its own
connections): racing workers, and commands killed at an injected point."""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
from multiprocessing.synchronize import Barrier
from pathlib import Path
from queue import Queue
from typing import Any

from application import bootstrap, screens
from application.adapters.mailbox import MailboxFolder
from application.billing_station import BillingStation
from application.outcomes import Completed, ErrorPage, KeyEntry, Refused, TopPage
from domain.fields import InvalidInput
from tests.story import FAST_HASHER

KILLED = 17  # the exit code of a process killed by an injected fault
SPAWN = multiprocessing.get_context("spawn")


def files_of_at_most(size: int) -> None:
    """(In a child, before it runs: a preexec_fn) files it writes stop at ``size`` bytes,
    as on a full disk (EFBIG, not the signal that would end it)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def station(env: dict[str, str], mailbox: Path) -> BillingStation:
    return bootstrap.application(store=env, mailer=MailboxFolder(mailbox), hasher=FAST_HASHER)


def describe(result: Any) -> str:
    if isinstance(result, TopPage):
        return "top page"
    if isinstance(result, KeyEntry):
        return "key entry" + (f": {screens.key_error(result.error, result.tries_left)}"
                              if result.error else "")
    if isinstance(result, ErrorPage | Completed):
        return ("error: " if isinstance(result, ErrorPage) else "") + screens.message(result)
    return str(result)


def race_worker(env: dict[str, str], mailbox: Path, tasks: Queue[Any], results: Queue[str],
                barrier: Barrier) -> None:
    """Waits at the barrier with its twin, then runs the same service call at the same time."""
    app = station(env, mailbox)
    while (task := tasks.get()) is not None:
        method, args = task
        barrier.wait(timeout=60)
        try:
            results.put(describe(getattr(app, method)(*args)))
        except Refused as e:
            results.put(f"refused: {screens.message(e)}")
        except InvalidInput as e:  # (an answer to compare, not a worker that died)
            results.put("invalid: " + " ".join(error.message for error in e.errors))
    app.close()


FAULTS = ("in-transaction", "after-commit", "in-mail")


def killed_login(env: dict[str, str], mailbox: Path, fault: str, login_id: str,
                 password: str) -> None:
    """Logs in with the process killed (os._exit, no clean-up) at ``fault``."""
    app = station(env, mailbox)
    recorder: Any = app.recorder

    def die_after(method: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            method(*args, **kwargs)
            os._exit(KILLED)
        return wrapper

    if fault == "in-transaction":  # the rows are inserted, the transaction not committed
        name = ("_insert_events" if "sqlite" in env["PERSISTENCE_MODULE"]
                else "_fetch_ids_after_insert_events")
        setattr(recorder, name, die_after(getattr(recorder, name)))
    elif fault == "after-commit":  # committed; the mail never sent, no screen shown
        recorder.insert_events = die_after(recorder.insert_events)
    else:  # the mail handed over, then death before the screen
        mailer: Any = app.mailer
        mailer.send = die_after(mailer.send)
    app.log_in(login_id, password)
    os._exit(0)  # the fault did not fire: the parent sees exit code 0 and fails
