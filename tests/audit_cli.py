"""The auditor's commands as the audit's boundary tests run them, and the store they read."""

from __future__ import annotations

import hashlib
from pathlib import Path

from click.testing import CliRunner, Result

from application import bootstrap
from application.audit import AuditReader
from application.bootstrap import store_settings
from billing_station.cli import main
from tests.conftest import build
from tests.story import KeyRecorder, first_login, onboard


def audit(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args or ["verify"]), env=env)


def refused_in_one_line(result: Result, code: int, last_only: bool = False) -> str:
    """The refusal, one line (``last_only``: the last line, after what was done before)."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = (result.stderr if last_only else result.output).strip().splitlines()
    assert len(lines) == 1, result.output  # (click's own usage errors too)
    return result.output


def files(folder: Path) -> dict[str, str]:
    """Every file of ``folder`` and a digest of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def a_store_with_one_login(tmp_path: Path) -> Path:
    """A closed SQLite store: the story's customer onboarded and logged in once."""
    path = tmp_path / "store.sqlite3"
    app = build(store_settings("sqlite", path), KeyRecorder())
    onboard(app)
    first_login(app)
    app.close()
    return path


def reader(path: Path) -> AuditReader:
    """The audit's reader of the SQLite store at ``path``."""
    return bootstrap.audit_reader(store=store_settings("sqlite", path))
