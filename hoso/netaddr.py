"""The client's address as login throttling and the audit trail should see it, also behind a reverse proxy.

`X-Forwarded-For` is written by whoever sends the request, so it is believed only when the direct peer is one of
`settings.trusted_proxies`. Each trusted proxy appends the address it received the request from, so the list is read
from the right: the right-most entry that is not itself a trusted proxy is the client. Anything to its left was
written by the client and could be invented. A header that cannot be parsed where we read it is ignored (the peer is
used), never half-believed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(text: str) -> Address | None:
    """An address, with IPv4-mapped IPv6 (::ffff:192.0.2.1) unwrapped so one client has one throttling key."""
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _trusted(addr: Address, trusted: Sequence[Network]) -> bool:
    return any(addr.version == net.version and addr in net for net in trusted)


def resolve_client_ip(peer: str, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """The client address for a request from `peer` carrying these X-Forwarded-For header values.

    `peer` may be something other than an address (Starlette's TestClient says "testclient", a Unix socket gives
    ""): such a peer is never a trusted proxy and is returned as it is."""
    peer_addr = parse_ip(peer)
    if peer_addr is None:
        return peer
    if not trusted or not _trusted(peer_addr, trusted):
        return str(peer_addr)
    # several X-Forwarded-For headers are one list, in order (RFC 9110 field combination)
    hops = [h.strip() for value in forwarded_for for h in value.split(",")]
    if not any(hops):
        return str(peer_addr)
    chosen: Address | None = None
    for hop in reversed(hops):
        addr = parse_ip(hop)
        if addr is None:
            return str(
                peer_addr
            )  # malformed (or "unknown", or with a port) where we must read: trust nothing
        chosen = addr
        if not _trusted(addr, trusted):
            return str(addr)
    # every hop is a trusted proxy: the left-most one is the farthest we can see
    return str(chosen) if chosen is not None else str(peer_addr)
