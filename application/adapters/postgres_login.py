"""A PostgreSQL login the server refuses, named by its setting. The library's pool tries
again for seconds, then says only that it got no connection, which read as a server that is
down (exit 69) when the server had answered that the password, the user or the database was
wrong: a setting to correct (exit 2)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import psycopg

# The server's own words (in English, its default); in another language a refusal is said
# as before, as a store that cannot be reached.
_REFUSALS = (
    (re.compile(r'password authentication failed for user "[^"]*"'),
     "POSTGRES_USER and POSTGRES_PASSWORD"),
    (re.compile(r'role "[^"]*" does not exist'), "POSTGRES_USER"),
    (re.compile(r'database "[^"]*" does not exist'), "POSTGRES_DBNAME"),
    (re.compile(r"no pg_hba\.conf entry for [^\n]*"), "POSTGRES_USER and POSTGRES_DBNAME"),
)


def refused_login(store: Mapping[str, str]) -> str | None:
    """What the server said in refusing ``store``'s login, with the settings to check; None
    when it let the login in, or did not answer within 2 s (down, or slow: the library tries
    again and says so), or the password comes from POSTGRES_GET_PASSWORD_TOPIC (the
    library's to ask for)."""
    if store.get("POSTGRES_GET_PASSWORD_TOPIC"):
        return None
    where = f"{store['POSTGRES_HOST']}:{store.get('POSTGRES_PORT') or 5432}"
    given = int(store.get("POSTGRES_CONNECT_TIMEOUT") or 2)  # (0: psycopg's "none", 130 s)
    waited = min(2, given) if given > 0 else 2  # (before the pool's own tries)
    try:
        psycopg.connect(host=store["POSTGRES_HOST"], port=store.get("POSTGRES_PORT") or 5432,
                        dbname=store["POSTGRES_DBNAME"], user=store["POSTGRES_USER"],
                        password=store["POSTGRES_PASSWORD"], connect_timeout=waited).close()
    except psycopg.OperationalError as e:
        for said, settings in _REFUSALS:
            if found := said.search(str(e)):
                return f"PostgreSQL at {where} refused the login ({found[0]}): check {settings}"
    return None
