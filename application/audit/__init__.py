"""The read side: an auditor's questions answered from the events alone (timeline, as-of,
history) and the policy check (verify). It reads a store and never writes to it."""

from application.audit.as_of import as_of
from application.audit.history import COLUMNS, FIELDS, LoginRecord, at_login_id, history
from application.audit.reading import (
    AuditReader,
    NotAnEventStore,
    StoreUnavailable,
    located,
    position,
    replay,
)
from application.audit.timeline import Timeline
from application.audit.verify import Verifier, Violation, verify
from application.outcomes import Outcome

__all__ = [
    "COLUMNS",
    "FIELDS",
    "AuditReader",
    "LoginRecord",
    "NotAnEventStore",
    "Outcome",
    "StoreUnavailable",
    "Timeline",
    "Verifier",
    "Violation",
    "as_of",
    "at_login_id",
    "history",
    "located",
    "position",
    "replay",
    "verify",
]
