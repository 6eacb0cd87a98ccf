"""The client address D-14 counts and the logs name: an IP address, or "unknown". Behind a
trusted proxy it is the one the proxy's X-Forwarded-For names, which may pass on any text
a client wrote there; such text is kept in events and logs, so it is never taken as it is."""

from __future__ import annotations

import functools
import ipaddress

UNKNOWN_ADDRESS = "unknown"  # every client whose address is no plain IP address


@functools.lru_cache(maxsize=1024)  # (a portal's clients are few; each line asks again)
def address_or_unknown(host: str) -> str:
    """``host`` if it is an IP address without an IPv6 scope (``::1%eth0``: the scope may
    be any text), as Python writes it; else UNKNOWN_ADDRESS."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return UNKNOWN_ADDRESS
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        return UNKNOWN_ADDRESS
    return str(address)
