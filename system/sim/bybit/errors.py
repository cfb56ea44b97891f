"""Bybit error replies: HTTP 200 with retCode / retMsg (only the IP limit is HTTP 403).

Codes and messages from bybit-linear.md "Errors". Engine refusals (system/sim/engine*.py
raise Binance's codes) are translated here, so the matching stays shared.
"""

from __future__ import annotations

from system.sim.errors import SimError


class BybitError(Exception):
    """A refused request: `{"retCode", "retMsg", "result": {}, ...}` with HTTP `status`."""

    def __init__(self, code: int, msg: str, status: int = 200) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg, self.status = code, msg, status


class IpBanned(BybitError):
    """The IP limit (600 requests / 5 s): HTTP 403, no JSON body, until the ban ends."""

    def __init__(self) -> None:
        super().__init__(403, "access too frequent", 403)


def params_error(detail: str) -> BybitError:
    """10001, Bybit's catch-all for a missing or malformed parameter."""
    return BybitError(10001, f"params error: {detail}")


_ENGINE = {
    -2011: (110001, "order not exists or too late to cancel"),
    -2013: (110001, "Order does not exist."),
    -2021: (110092, "Order would immediately trigger."),
    -2022: (110017, "Reduce-only rule not satisfied"),
    -2019: (110007, "ab not enough for new order"),
    -4116: (110072, "OrderLinkedID is duplicate"),
    -1121: (10001, "params error: symbol invalid"),
    -1111: (10001, "The number of contracts exceeds minimum limit allowed"),
    -4003: (10001, "The number of contracts exceeds minimum limit allowed"),
    -4005: (10001, "The number of contracts exceeds maximum limit allowed"),
    -4014: (10001, "params error: price not a multiple of the tick size"),
    -4164: (110094, "Order notional value below the lower limit"),
}
"""The engine's Binance codes -> Bybit (retCode, retMsg)."""


def from_engine(e: SimError) -> BybitError:
    """The Bybit refusal for an engine refusal; Bybit codes (> 0) pass through."""
    if e.code > 0:
        return BybitError(e.code, e.msg)
    code, msg = _ENGINE.get(e.code, (10016, f"Server error: {e.msg}"))
    return BybitError(code, msg)
