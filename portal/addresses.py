"""The client address D-14 counts and the logs name: an IP address, or "unknown". Behind a
trusted proxy it is the one the proxy's X-Forwarded-For names, which may pass on any text
a client wrote there; such text is kept in events and logs, so it is never taken as it is."""

from __future__ import annotations

import functools
import ipaddress

UNKNOWN_ADDRESS = "unknown"  # every client whose address is no plain IP address


LONGEST_ADDRESS = 45  # characters of an IPv6 address with an IPv4 tail


def address_or_unknown(host: str) -> str:
    """``host`` if it is an IP address without an IPv6 scope (``::1%eth0``: the scope may
    be any text), as Python writes it; else UNKNOWN_ADDRESS. Each request's client asks
    (its log lines, D-14): what could be an address is remembered, other text is not
    (behind a proxy, X-Forwarded-For may hold any)."""
    return _remembered(host) if len(host) <= LONGEST_ADDRESS else _parsed(host)


@functools.lru_cache(maxsize=1024)
def _remembered(host: str) -> str:
    return _parsed(host)


def _parsed(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return UNKNOWN_ADDRESS
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        return UNKNOWN_ADDRESS
    return str(address)
