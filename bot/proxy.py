"""Who the client is and how it reached us, when the app may sit behind a reverse proxy.

Only a proxy listed in LOCAL_OFFER_TRUSTED_PROXIES (addresses or networks) is believed. Its
X-Forwarded-For (or Forwarded) header is read from the right: each hop that is itself a trusted
proxy is skipped, and the first one that is not is the client. Anything to the left of that was
written by the client and is ignored, so a parent cannot choose their own rate-limit key.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FORWARDED_FOR = re.compile(r'(?:^|;)\s*for\s*=\s*("[^"]*"|[^;,\s]*)', re.IGNORECASE)


def parse_networks(text: str | Iterable[str]) -> tuple[Network, ...]:
    """'127.0.0.1, 10.0.0.0/8' as networks; raises ValueError on anything that is not one."""
    items = text.split(",") if isinstance(text, str) else list(text)
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip().strip('"')
    if text.startswith("["):  # [2001:db8::1]:4711
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # 192.0.2.1:4711
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(address, proxies: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in proxies)


def _forwarded_hops(headers: Mapping[str, str]) -> list[str]:
    """The client addresses the proxies recorded, nearest hop last (RFC 7239 Forwarded, else X-Forwarded-For)."""
    forwarded = headers.get("Forwarded")
    if forwarded:
        return [match.group(1) for element in forwarded.split(",") for match in _FORWARDED_FOR.finditer(element)]
    return [hop for hop in headers.get("X-Forwarded-For", "").split(",") if hop.strip()]


def client_address(peer: str | None, headers: Mapping[str, str], proxies: tuple[Network, ...]) -> str:
    """The client's address: the peer itself, unless the peer is a trusted proxy (see the module docstring)."""
    address = _address(peer or "")
    if address is None:
        return peer or "unknown"
    if not _trusted(address, proxies):
        return str(address)
    for hop in reversed(_forwarded_hops(headers)):
        hop_address = _address(hop)
        if hop_address is None:
            break  # a hop we cannot read: stop at the last one we could
        address = hop_address
        if not _trusted(address, proxies):
            break
    return str(address)


def from_trusted_proxy(peer: str | None, proxies: tuple[Network, ...]) -> bool:
    return _trusted(_address(peer or ""), proxies)


def request_client(request) -> str:
    """The client address of an aiohttp request (the rate limits' and sign-in throttle's key)."""
    return client_address(request.remote, request.headers, request.app["settings"].trusted_proxies)


def request_origin(request) -> str:
    """This app's origin as the browser sees it: https when told it runs behind HTTPS, and the host
    the trusted proxy was asked for (its X-Forwarded-Host), else the Host header."""
    settings = request.app["settings"]
    scheme, host = request.scheme, request.host
    if from_trusted_proxy(request.remote, settings.trusted_proxies):
        scheme = _last(request.headers.get("X-Forwarded-Proto")) or scheme
        host = _last(request.headers.get("X-Forwarded-Host")) or host
    if settings.behind_https:
        scheme = "https"
    return f"{scheme}://{host}"


def _last(value: str | None) -> str:
    """The value the nearest proxy added (the rightmost of a comma-separated header)."""
    return (value or "").split(",")[-1].strip()
