"""Where a venue lives: one REST base and one stream base, checked once (venue-neutral).

Each adapter knows its environments' default hosts (e.g. venues/binance/hosts.py); what is
common is the shape of a base (scheme://host[:port], no path: the adapter adds the paths)
and the simulator, which serves REST and streams from one server.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class VenueHosts:
    """One environment's REST base and stream base (scheme://host, no path)."""

    venue: str
    """The environment: live | demo | testnet | simulator."""
    rest_url: str
    """REST base, e.g. https://fapi.binance.com."""
    stream_base: str
    """WebSocket base, e.g. wss://fstream.binance.com; every stream path is built on it."""


class VenueURLError(ValueError):
    """A configured REST or stream base is not scheme://host[:port]."""


def check_base(url: str, schemes: tuple[str, ...], what: str) -> str:
    """`url` without a trailing slash, or VenueURLError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.netloc or parts.path not in ("", "/") \
            or parts.query or parts.fragment:
        raise VenueURLError(f"{what}: {url!r} is not {'|'.join(schemes)}://host[:port] "
                            "(no path: the stream and API paths are added by posguard)")
    return url.rstrip("/")


def stream_base_of(rest_url: str) -> str:
    """The stream base a simulator serves beside its REST base (http -> ws, https -> wss)."""
    base = check_base(rest_url, ("http", "https"), "REST base")
    return "ws" + base[len("http"):]


def simulator(rest_url: str) -> VenueHosts:
    """The built-in simulator's hosts: one server answers REST and streams."""
    return VenueHosts("simulator", check_base(rest_url, ("http", "https"), "simulator URL"),
                      stream_base_of(rest_url))
