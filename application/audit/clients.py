"""The client addresses' failed logins as verify folds them (D-14): what a password's check
read, and which failed logins each address's count holds."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.portal_sessions import QUIET_FORGOTTEN, client_address_id


class ClientBook:
    """Each client address's recent failed logins (D-14), by its aggregate's id, each with
    its version: a password's check is judged on those of the version it read. And those
    no rejected password has claimed yet: the portal counts a failure before it stores the
    attempt, so a rejected password from the address finds its own here."""

    def __init__(self) -> None:
        self.failures: OrderedDict[UUID, list[tuple[int, datetime]]] = OrderedDict()
        self.unclaimed: dict[UUID, int] = {}

    def fold(self, failed: Any) -> None:
        # Kept as the address keeps them (a check is stored after its digest, so failures
        # stored later than it read may come first).
        times = self.failures.setdefault(failed.originator_id, [])
        since = failed.kept_since()
        times[:] = [(v, t) for v, t in times if t > since]
        times.append((failed.originator_version, failed.timestamp))
        self.failures.move_to_end(failed.originator_id)
        self.unclaimed[failed.originator_id] = self.unclaimed.get(failed.originator_id, 0) + 1
        quiet = failed.timestamp - QUIET_FORGOTTEN  # (past any window's keeping)
        while next(iter(self.failures.values()))[-1][1] <= quiet:
            gone, _ = self.failures.popitem(last=False)  # (flat memory: gone quiet)
            self.unclaimed.pop(gone, None)

    def claimed(self, address: str) -> bool:
        """A rejected password from ``address`` claims its failure; False: none was counted."""
        counted = client_address_id(address)
        left = self.unclaimed.get(counted, 0)
        if left > 1:
            self.unclaimed[counted] = left - 1
        else:
            self.unclaimed.pop(counted, None)
        return left > 0

    def read(self, address: str, version: int, since: datetime) -> list[datetime]:
        """The failures a check read (up to the address's ``version``) later than ``since``."""
        return [t for v, t in self.failures.get(client_address_id(address), [])
                if v <= version and t > since]
