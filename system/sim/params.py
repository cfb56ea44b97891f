"""Request parameters: parsing, Binance-style validation errors, signature checks."""

from __future__ import annotations

import hashlib
import hmac
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from system.sim.errors import SimError, illegal, mandatory

_NUM = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$")
_INT = re.compile(r"^-?[0-9]{1,19}$")
CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
"""Binance's rule for newClientOrderId / clientAlgoId (and the ids they are looked up by)."""
CLIENT_ID_RANGE = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
"""The rule as Binance quotes it in the -1100 message."""


def split_pairs(raw: str) -> list[str]:
    """Raw `k=v` pairs of a query string or form body, in order."""
    return [p for p in raw.split("&") if p]


def parse(raw_query: str, raw_body: str) -> dict[str, str]:
    """All parameters; a parameter sent twice is -1101 (Binance refuses duplicates)."""
    out: dict[str, str] = {}
    for raw in (raw_query, raw_body):
        try:
            pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=False,
                              errors="strict")
        except (UnicodeDecodeError, ValueError) as e:
            raise SimError(-1100, "Illegal characters found in a parameter.") from e
        for k, v in pairs:
            if k in out:
                raise SimError(-1101, "Duplicate values for a parameter detected.")
            out[k] = v
    return out


def signed_payload(raw_query: str, raw_body: str) -> str:
    """The exact text Binance signs: query + body without the signature pair."""
    parts = []
    for raw in (raw_query, raw_body):
        pairs = [p for p in split_pairs(raw) if not p.startswith("signature=")]
        parts.append("&".join(pairs))
    return "".join(parts)


def check_signature(secret: str, payload: str, signature: str) -> None:
    """-1022 unless `signature` is HMAC-SHA256(secret, payload) in hex."""
    want = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, signature.lower()):
        raise SimError(-1022, "Signature for this request is not valid.")


class Params:
    """Typed accessors over the request's parameters."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def has(self, name: str) -> bool:
        """Sent and not empty."""
        return self.values.get(name, "") != ""

    def text(self, name: str, required: bool = True, default: str | None = None) -> str | None:
        """A string parameter."""
        v = self.values.get(name, "")
        if v == "":
            if required:
                raise mandatory(name)
            return default
        if len(v) > 200:
            raise illegal(name)
        return v

    def decimal(self, name: str, required: bool = True) -> Decimal | None:
        """A non-negative decimal (Binance's `^([0-9]{1,20})(\\.[0-9]{1,20})?$`)."""
        v = self.text(name, required)
        if v is None:
            return None
        if not _NUM.match(v):
            raise illegal(name)
        try:
            return Decimal(v)
        except InvalidOperation as e:
            raise illegal(name) from e

    def integer(self, name: str, required: bool = True) -> int | None:
        """An integer parameter."""
        v = self.text(name, required)
        if v is None:
            return None
        if not _INT.match(v):
            raise illegal(name)
        return int(v)

    def client_id(self, name: str) -> str | None:
        """An optional client order id; -1100 unless it matches Binance's rule."""
        v = self.values.get(name, "")
        if v == "":
            return None
        if not CLIENT_ID.fullmatch(v):
            raise SimError(-1100, f"Illegal characters found in parameter '{name}'; legal "
                                  f"range is '{CLIENT_ID_RANGE}'.")
        return v

    def boolean(self, name: str) -> bool:
        """`true` / `false` (any case); absent is false."""
        v = self.text(name, required=False)
        if v is None:
            return False
        if v.lower() not in ("true", "false"):
            raise SimError(-1100, f"Illegal characters found in parameter '{name}'; "
                                  "legal range is 'true, false'.")
        return v.lower() == "true"

    def choice(self, name: str, allowed: tuple[str, ...], code: int, msg: str,
               required: bool = True) -> str | None:
        """One of `allowed` or the given Binance error."""
        v = self.text(name, required)
        if v is None:
            return None
        if v not in allowed:
            raise SimError(code, msg)
        return v
