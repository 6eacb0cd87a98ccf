"""The collector: a pytest plugin (``python -m pytest -p tests.living_docs
--cucumberjson=PATH``) that writes what a person saw at each step to evidence.jsonl beside
the cucumber JSON, keys masked."""

from __future__ import annotations

import contextlib
import json
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click.testing
import pytest

from application import screens
from application.japan_time import jst
from application.outcomes import (
    Completed,
    Confirmation,
    ErrorPage,
    KeyEntry,
    Refused,
    Throttled,
    TopPage,
)
from domain import clock
from domain.fields import InvalidInput
from tests.living_docs.inputs import mask_keys


class Collector:
    """After each step (and at a failing one), what the person now sees and the mails that
    arrived, appended to evidence.jsonl beside the cucumber JSON, keys masked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.screens: dict[str, tuple[str, object]] = {}  # test -> the screen recorded last,
        #                                                    and the answer that showed it
        self.mails: dict[str, int] = {}  # test -> mails already recorded (or there before)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")  # this run's evidence only

    def after_step(self, seen: dict[str, Any], test: str, line: int) -> None:
        """``seen``: the test's fixtures and the step's arguments (the specs' ``world``, the
        portal's ``person`` at a browser)."""
        kind, screen = _screen_text(seen)
        world = seen.get("world")  # (a step's answer: 【完了】 twice is one object, twice)
        answer = seen.get("audited") or (getattr(world, "screen", None),
                                         getattr(world, "shown", 0))
        last = self.screens.get(test)
        # (a new answer showing the same text, as D-14 refusing once more, is the step's too)
        # The model's time, JST, in the services' run, where the steps move it (a browser's
        # run is at the real time, which says nothing of the scenario)
        at = jst(clock.now(), seconds=True) if seen.get("world") is not None else ""
        if screen and (last is None or last[0] != screen or last[1] != answer):
            self.screens[test] = (screen, answer)
            self._write(test, line, kind, screen, at)
        mailbox = (getattr(seen.get("world"), "mailbox", None)
                   or getattr(getattr(seen.get("person"), "portal", None), "mailbox", None))
        if mailbox is not None and hasattr(mailbox, "messages"):
            messages = mailbox.messages()  # (at a browser, the portal's: other tests' too)
            before = self.mails.get(test, getattr(seen.get("person"), "mail_start", 0))
            for message in messages[before:]:  # (each at its own date: a step may mail
                self._write(test, line, "mail", _mail_text(message),  # several, time moving)
                            jst(parsedate_to_datetime(message["Date"]), seconds=True)
                            if at and message["Date"] else at)
            self.mails[test] = len(messages)

    def _write(self, test: str, line: int, kind: str, text: str, at: str = "") -> None:
        record = {"test": test, "line": line, "kind": kind, "text": mask_keys(text)} | (
            {"at": at} if at else {})
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _screen_text(seen: dict[str, Any]) -> tuple[str, str | None]:
    """What is shown, and what kind of record it is: the audit's answer ("audit", D-16: a
    command, no screen), the services' answer to the step ("answer": the screen's title
    and message, as the application decided them; the screenshots are a browser's run of
    the same steps), or the browser page's whole text ("screen", portal.feature's)."""
    audited = seen.get("audited")
    if isinstance(audited, tuple) and isinstance(audited[0], click.testing.Result):
        folder = seen["request"].getfixturevalue("tmp_path")  # (the test's: noise later)
        said = audited[0].output.replace(f"{folder}/", "")
        return "audit", f"【監査 (verify) の出力】 終了コード {audited[0].exit_code}\n{said}"
    shown = getattr(seen.get("world"), "screen", None)
    if isinstance(shown, TopPage | KeyEntry | ErrorPage | Refused | Completed | Confirmation
                  | Throttled):
        return "answer", f"【{screens.title(shown)}】\n{screens.message(shown)}"
    if isinstance(shown, InvalidInput):  # (the form again, each message by its field)
        return "answer", "【入力エラー (同じ画面に、各項目のメッセージとして表示)】\n" + "\n".join(
            f"{e.label}: {e.message}" for e in shown.errors)
    page = getattr(seen.get("person"), "tab", None)
    if page is not None and hasattr(page, "inner_text"):
        try:
            if page.url == "about:blank":  # a window not yet at the portal: no screen
                return "screen", None
            path = urlsplit(page.url).path  # the test server's address means nothing later
            return "screen", f"【{page.title()}】 {path}\n{page.inner_text('body')[:3000]}"
        except Exception:  # a page mid-navigation has no text to give: nothing to record
            return "screen", None
    return "screen", None


def _mail_text(message: Any) -> str:
    body = message.get_body(preferencelist=("plain",))
    content = body.get_content() if body is not None else ""
    return (f"差出人: {message['From']}\n宛先: {message['To']}\n件名: {message['Subject']}\n\n"
            f"{content}")


_collector: Collector | None = None


def pytest_configure(config: Any) -> None:
    global _collector
    path = getattr(config.option, "cucumber_json_path", None)
    if path:
        _collector = Collector(Path(path).parent / "evidence.jsonl")


def pytest_bdd_after_step(request: Any, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any) -> None:
    if _collector:
        _collector.after_step(_seen(request, step_func_args), request.node.name,
                              step.line_number)


def _seen(request: Any, step_func_args: dict[str, Any]) -> dict[str, Any]:
    """The test's fixtures and the step's arguments, the specs' world whichever step ran,
    and the audit's answer (D-16) as soon as the step that ran it gave it: a step's target
    fixture is in neither, and the audit's step was shown the screen before it."""
    seen = {**request.node.funcargs, **step_func_args}
    for name in ("audited", "world"):  # (a step that takes neither: its scenario's)
        with contextlib.suppress(pytest.FixtureLookupError):  # (no audit yet, or none)
            seen[name] = request.getfixturevalue(name)
    return seen


def pytest_bdd_step_error(request: Any, feature: Any, scenario: Any, step: Any,
                          step_func: Any, step_func_args: Any, exception: Any) -> None:
    if _collector:
        _collector.after_step(_seen(request, step_func_args), request.node.name,
                              step.line_number)
