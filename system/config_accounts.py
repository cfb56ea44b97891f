"""The accounts of a config: `exchanges:` (a list, each entry an account on its venue) or the
legacy single `exchange:` section (the account `main`), validated into ExchangeConfig with
every error naming the account (`exchanges[1] (account "by").name: ...`)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import venues
from system.config_schema import ConfigError, build
from system.sim.settings import SIM_VENUES, SimSettings
from venue.hosts import VenueURLError

ACCOUNT_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
"""An account name (also in client ids: actors/client_ids.py, and the store)."""
LEGACY_ACCOUNT = "main"
"""The account the single `exchange:` section (before accounts existed) is."""
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _m(doc: str, **kw: Any) -> dict[str, Any]:
    return {"doc": doc, **kw}


@dataclass(frozen=True, slots=True)
class ExchangeConfig:
    """One account: where its orders go and how fast posguard may send them."""

    account: str = field(default="main", metadata=_m(
        "the account's name (^[a-z][a-z0-9]{0,11}$): in client ids, the store, the CLI "
        "(ACCOUNT:SYMBOL); the legacy `exchange:` section is the account main"))
    name: str = field(default="binanceusdm", metadata=_m(
        "exchange adapter (venues/): binanceusdm (Binance USDT-M) | bybit (Bybit v5 linear)"))
    venue: Literal["live", "demo", "testnet"] = field(default="live", metadata=_m(
        "mode live: which of the exchange's environments (live | demo: Demo Trading | "
        "testnet); paper mode always uses the simulator"))
    rest_url: str = field(default="", metadata=_m(
        "REST base replacing the venue's (scheme://host[:port]); empty: the venue's own"))
    stream_url: str = field(default="", metadata=_m(
        "WebSocket base replacing the venue's (ws[s]://host[:port]); empty: the venue's own, "
        "or the rest_url server's when rest_url is set"))
    api_key_env: str = field(default="POSGUARD_API_KEY", metadata=_m(
        "name of the environment variable holding the live API key"))
    api_secret_env: str = field(default="POSGUARD_API_SECRET", metadata=_m(
        "name of the environment variable holding the live API secret"))
    simulator: SimSettings = field(default_factory=SimSettings, metadata=_m(
        "the built-in exchange simulator (paper mode)"))
    request_timeout_ms: int = field(default=10_000, metadata=_m(
        "REST request timeout in milliseconds", min=500, max=120_000))
    orders_per_10s: int = field(default=250, metadata=_m(
        "account-wide order budget per 10 s (Binance allows 300)", min=1, max=300))
    orders_per_min: int = field(default=1000, metadata=_m(
        "account-wide order budget per minute (Binance allows 1200)", min=1, max=1200))
    workers: int = field(default=0, metadata=_m(
        "exchange worker processes, each with one asynchronous client (~64 MB); 0 (the "
        "default, measured cheaper: README, exchange I/O): the client on the exchange pool's "
        "own event loop, no actor hop per request", min=0, max=16))
    max_in_flight: int = field(default=64, metadata=_m(
        "requests one exchange worker keeps in flight at once (aiohttp pools at most 100 "
        "connections per client)", min=1, max=100))


def accounts_of(data: Mapping[str, Any]) -> list[tuple[str, ExchangeConfig]]:
    """(key path for errors, account) of `exchanges:` or of the legacy `exchange:`."""
    if "exchange" in data and "exchanges" in data:
        raise ConfigError("exchange and exchanges: both are set; use exchanges: (a list of "
                          "accounts) or the single exchange: section, not both")
    if "exchanges" not in data:
        legacy = data.get("exchange")
        if isinstance(legacy, Mapping) and legacy.get("account", LEGACY_ACCOUNT) != \
                LEGACY_ACCOUNT:
            raise ConfigError("exchange.account: the single exchange: section is the account "
                              f"{LEGACY_ACCOUNT}; name accounts in an exchanges: list")
        return [("exchange", venue_follows(build(ExchangeConfig, legacy, "exchange"),
                                            "exchange", legacy))]
    items = data["exchanges"]
    if not isinstance(items, list) or not items:
        raise ConfigError(f"exchanges: expected a non-empty list of accounts, got {items!r}")
    out: list[tuple[str, ExchangeConfig]] = []
    for i, item in enumerate(items):
        name = item.get("account") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not ACCOUNT_RE.match(name):
            raise ConfigError(f"exchanges[{i}].account: {name!r} is not an account name "
                              f"(required; a lower-case letter, then up to 11 lower-case "
                              f"letters or digits, e.g. main, by2)")
        label = f'exchanges[{i}] (account "{name}")'
        if any(ex.account == name for _, ex in out):
            raise ConfigError(f"{label}: the account name {name!r} is used twice")
        out.append((label, venue_follows(build(ExchangeConfig, item, label), label, item)))
    return out


def venue_follows(ex: ExchangeConfig, label: str, raw: Any) -> ExchangeConfig:
    """The account's simulator serves the front of the account's exchange."""
    if ex.name not in venues.names():
        raise ConfigError(f"{label}.name: {ex.name!r} is not an exchange posguard has an "
                          f"adapter for; choose one of {', '.join(venues.names())}")
    front = ex.name if ex.name in SIM_VENUES else ex.simulator.venue
    sim_raw = raw.get("simulator") if isinstance(raw, Mapping) else None
    if isinstance(sim_raw, Mapping) and "venue" in sim_raw and sim_raw["venue"] != front:
        raise ConfigError(f"{label}.simulator.venue: {sim_raw['venue']!r} differs from the "
                          f"account's exchange {ex.name!r}; leave it out (it follows name)")
    return dataclasses.replace(ex, simulator=dataclasses.replace(ex.simulator, venue=front))


def check_distinct(mode: str, accounts: list[tuple[str, ExchangeConfig]]) -> None:
    """Two accounts that reach the same venue account would each protect the same positions
    (two stops each): refused, naming both."""
    seen: dict[tuple[Any, ...], str] = {}
    for label, ex in accounts:
        sim = ex.simulator
        if mode == "live":
            key: tuple[Any, ...] | None = ("live", ex.name, ex.venue, ex.rest_url, ex.api_key_env)
            what = "the same venue with the same api_key_env"
        elif not sim.embedded or sim.port:
            key, what = ("sim", sim.host, sim.port), f"the same simulator port {sim.port}"
        else:
            key = None  # an embedded simulator of its own on a free port
        if key is None:
            continue
        if key in seen:
            raise ConfigError(f"{label}: reaches {what} as {seen[key]}; each account needs "
                              f"its own")
        seen[key] = label


def check_account(mode: str, label: str, ex: ExchangeConfig) -> None:
    for key in ("api_key_env", "api_secret_env"):
        if not _ENV_NAME_RE.match(getattr(ex, key)):
            raise ConfigError(f"{label}.{key}: {getattr(ex, key)!r} is not an environment "
                              f"variable name (keys never go in the file, only the name)")
    try:
        venues.adapter(ex.name).hosts(ex.venue, ex.rest_url, ex.stream_url)
    except VenueURLError as e:
        prefix = "" if label == "exchange" else f"{label}: "
        raise ConfigError(f"{prefix}{e}") from e
    if mode == "live" and ex.simulator.embedded:
        raise ConfigError(f"{label}.simulator.embedded: true is not allowed with mode: live "
                          "(set it to false, or use mode: paper)")


def account_entry(entries: list[Any], name: str, item: str) -> dict[str, Any]:
    for entry in entries:
        if isinstance(entry, dict) and entry.get("account") == name:
            return entry
    names = [e.get("account") for e in entries if isinstance(e, dict)]
    raise ConfigError(f"--set {item!r}: no account {name!r} in exchanges (accounts: "
                      f"{', '.join(map(str, names))})")
