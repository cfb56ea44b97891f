"""Bybit's REST limits (rate-limit/rate-limit.mdx): per UID per endpoint per second, and per IP.

- Each signed endpoint has its own per-second counter for the account (the simulator has one
  UID): create / amend / cancel / trading-stop / set-leverage 10/s, reads 50/s (SimSettings
  `bybit_order_limit_per_sec`, `bybit_read_limit_per_sec`). Past it: retCode 10006 "Too many
  visits!" (HTTP 200). Every signed reply carries `X-Bapi-Limit`, `X-Bapi-Limit-Status`
  (remaining) and `X-Bapi-Limit-Reset-Timestamp` (ms the window turns). A refused request is
  not counted.
- The IP limit: 600 requests per 5 s window (`bybit_ip_limit_per_5s`); past it HTTP 403 and
  every request from that IP is refused for `bybit_ip_ban_secs` (Bybit: "wait at least 10 min").
Fixed windows on the simulator's clock, like system/sim/ratelimit.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from system.sim.bybit.errors import BybitError, IpBanned

SECOND_MS = 1000
IP_WINDOW_MS = 5000


@dataclass(slots=True)
class _Window:
    """A fixed-window counter on the simulator's clock."""

    length_ms: int
    start_ms: int = -1
    """Start of the window `count` belongs to (-1: none yet)."""
    count: int = 0

    def roll(self, now_ms: int) -> None:
        """Start a new window when `now_ms` lies past this one."""
        start = now_ms - now_ms % self.length_ms
        if start != self.start_ms:
            self.start_ms, self.count = start, 0

    @property
    def reset_ms(self) -> int:
        """When this window turns (X-Bapi-Limit-Reset-Timestamp)."""
        return self.start_ms + self.length_ms


@dataclass(slots=True)
class _Ip:
    """What the limiter knows about one client address."""

    window: _Window
    banned_until_ms: int = 0
    """403 for every request before this (sim-clock ms)."""


class BybitLimiter:
    """Counters of one Bybit front; pure, time passed in."""

    def __init__(self, settings) -> None:
        self.order_limit = settings.bybit_order_limit_per_sec
        self.read_limit = settings.bybit_read_limit_per_sec
        self.ip_limit = settings.bybit_ip_limit_per_5s
        self.ban_ms = settings.bybit_ip_ban_secs * 1000
        self.reset()

    def reset(self) -> None:
        """Forget every counter and ban."""
        self._endpoints: dict[str, _Window] = {}
        self._ips: dict[str, _Ip] = {}

    def admit_ip(self, ip: str, now_ms: int) -> None:
        """Count one request of `ip`, or IpBanned (HTTP 403) while over the limit or banned."""
        s = self._ips.setdefault(ip, _Ip(_Window(IP_WINDOW_MS)))
        if now_ms < s.banned_until_ms:
            raise IpBanned()
        s.window.roll(now_ms)
        s.window.count += 1
        if s.window.count > self.ip_limit:
            s.banned_until_ms = now_ms + self.ban_ms
            raise IpBanned()

    def limit_of(self, kind: str) -> int:
        """The per-second limit of an endpoint kind ("order" | "read")."""
        return self.order_limit if kind == "order" else self.read_limit

    def admit(self, path: str, kind: str, now_ms: int) -> None:
        """Count one call of a signed endpoint, or 10006 past its per-second limit."""
        w = self._endpoints.setdefault(path, _Window(SECOND_MS))
        w.roll(now_ms)
        if w.count >= self.limit_of(kind):
            raise BybitError(10006, "Too many visits!")
        w.count += 1

    def headers(self, path: str, kind: str, now_ms: int) -> dict:
        """The three X-Bapi-Limit headers of a signed endpoint's reply."""
        w = self._endpoints.setdefault(path, _Window(SECOND_MS))
        w.roll(now_ms)
        limit = self.limit_of(kind)
        return {"X-Bapi-Limit": str(limit),
                "X-Bapi-Limit-Status": str(max(0, limit - w.count)),
                "X-Bapi-Limit-Reset-Timestamp": str(w.reset_ms)}

    def describe(self, now_ms: int) -> dict:
        """JSON for /_sim/state on the Bybit front."""
        return {"limits": {"order_per_sec": self.order_limit, "read_per_sec": self.read_limit,
                           "ip_per_5s": self.ip_limit, "ip_ban_ms": self.ban_ms},
                "endpoints": {p: w.count for p, w in self._endpoints.items()
                              if w.start_ms == now_ms - now_ms % SECOND_MS},
                "ips": {ip: {"count_5s": s.window.count,
                             "banned_until_ms": s.banned_until_ms
                             if now_ms < s.banned_until_ms else 0}
                        for ip, s in self._ips.items()}}
