"""Request parameters of the Bybit front: the GET query or the POST JSON body, typed on access.

ccxt sends JSON numbers and booleans (`"triggerDirection":2`, `"reduceOnly":true`), pybit
casts prices and quantities to strings: both are accepted, as Bybit does.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from system.sim.bybit.errors import params_error


def parse(method: str, raw_query: str, raw_body: str) -> dict:
    """The parameters of one request (query for GET, JSON object body for POST)."""
    if method != "POST":
        return dict(parse_qsl(raw_query, keep_blank_values=True))
    if not raw_body.strip():
        return {}
    try:
        body = json.loads(raw_body)
    except ValueError as e:
        raise params_error("request body is not JSON") from e
    if not isinstance(body, dict):
        raise params_error("request body must be a JSON object")
    return body


class BParams:
    """Typed access to one request's parameters; every refusal is a 10001."""

    def __init__(self, values: dict) -> None:
        self.values = values

    def has(self, name: str) -> bool:
        """Whether `name` was sent non-empty."""
        return self.values.get(name) not in (None, "")

    def text(self, name: str, required: bool = True) -> str | None:
        """The value as a string (None when absent and not required)."""
        v = self.values.get(name)
        if v in (None, ""):
            if required:
                raise params_error(f"{name} is required")
            return None
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    def decimal(self, name: str, required: bool = True) -> Decimal | None:
        """A non-negative finite number."""
        v = self.text(name, required)
        if v is None:
            return None
        try:
            d = Decimal(v)
        except InvalidOperation as e:
            raise params_error(f"{name} invalid") from e
        if not d.is_finite() or d < 0:
            raise params_error(f"{name} invalid")
        return d

    def integer(self, name: str, required: bool = True) -> int | None:
        """An integer (JSON number or digits)."""
        v = self.text(name, required)
        if v is None:
            return None
        try:
            return int(v)
        except ValueError as e:
            raise params_error(f"{name} invalid") from e

    def boolean(self, name: str) -> bool:
        """true / false (absent: false)."""
        v = self.values.get(name)
        if v in (None, "", False, "false", 0, "0"):
            return False
        if v in (True, "true", 1, "1"):
            return True
        raise params_error(f"{name} invalid")

    def choice(self, name: str, allowed: tuple[str, ...], required: bool = True) -> str | None:
        """One of `allowed`."""
        v = self.text(name, required)
        if v is not None and v not in allowed:
            raise params_error(f"{name} invalid")
        return v
