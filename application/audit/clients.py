"""The client addresses' failed logins as verify folds them (D-14): what a password's check
read, and which failed logins each address's count holds."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.portal_sessions import QUIET_FORGOTTEN, client_address_id


class ClientBook:
    """Each client address's recent failed logins (D-14), by its aggregate's id, each with
    its version and the version that forgot it: a password's check is judged on those the
    address held at the version it read, though the check is stored after its digest and
    failures stored meanwhile may have forgotten some (under a shorter window). And those
    no rejected password has claimed yet: the portal counts a failure before it stores the
    attempt, so a rejected password from the address finds its own here."""

    def __init__(self) -> None:
        # [version, time, the version that forgot it (None: still held)], in version order
        self.failures: OrderedDict[UUID, list[list[Any]]] = OrderedDict()
        self.unclaimed: dict[UUID, int] = {}
        self.longest_kept = timedelta(0)  # twice the longest window in force so far

    def fold(self, failed: Any) -> None:
        since, now = failed.kept_since(), failed.timestamp  # (as the address forgets them)
        self.longest_kept = max(self.longest_kept, now - since)
        gone = now - self.longest_kept  # no check judged from now on read it any more
        times = self.failures.setdefault(failed.originator_id, [])
        for failure in times:
            if failure[2] is None and failure[1] <= since:
                failure[2] = failed.originator_version
        times[:] = [f for f in times if f[2] is None or f[1] > gone]
        times.append([failed.originator_version, now, None])
        self.failures.move_to_end(failed.originator_id)
        self.unclaimed[failed.originator_id] = self.unclaimed.get(failed.originator_id, 0) + 1
        quiet = now - QUIET_FORGOTTEN  # (past any window's keeping)
        while next(iter(self.failures.values()))[-1][1] <= quiet:
            gone_quiet, _ = self.failures.popitem(last=False)  # (flat memory)
            self.unclaimed.pop(gone_quiet, None)

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
        """The failures a check read (those the address held at its ``version``) later than
        ``since``."""
        return [t for v, t, forgotten in self.failures.get(client_address_id(address), [])
                if v <= version and (forgotten is None or version < forgotten) and t > since]
