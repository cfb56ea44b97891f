"""config.yaml -> one frozen, validated Config (loaded once, at the edge).

The key names of DESIGN.md (Contracts) are the contract: extend, never rename. Relative
paths are resolved against the config file's folder, so `posguard run` behaves the same from
any working directory. API keys are never in the file: only the names of the environment
variables that hold them. Accounts (`exchanges:`, or the legacy `exchange:` as the account
main) are validated in system/config_accounts.py.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml

import venues
from actors.protection import ProtectionPolicy
from ops.alerts.settings import AlertsConfig
from ops.metrics.settings import MetricsConfig
from ops.page.settings import StatusPageConfig
from system.config_accounts import (
    ACCOUNT_RE,
    LEGACY_ACCOUNT,
    ExchangeConfig,
    account_entry,
    accounts_of,
    check_account,
    check_distinct,
)
from system.config_schema import ConfigError, build, defaults_as_dict
from venue.hosts import VenueHosts

__all__ = ["ACCOUNT_RE", "LEGACY_ACCOUNT", "Config", "ConfigError", "ExchangeConfig",
           "load_config", "StoreTarget"]

DEFAULT_CONFIG_ENV = "POSGUARD_CONFIG"
_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,30}$")


def _m(doc: str, **kw: Any) -> dict[str, Any]:
    return {"doc": doc, **kw}


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """The durable store: embedded SQLite or PostgreSQL."""

    backend: Literal["sqlite", "postgres"] = field(default="sqlite", metadata=_m(
        "sqlite (embedded file) or postgres"))
    sqlite_path: str = field(default="var/posguard.sqlite3", metadata=_m(
        "SQLite database file; relative paths are relative to the config file's folder"))
    postgres_dsn_env: str = field(default="POSGUARD_PG_DSN", metadata=_m(
        "name of the environment variable holding the PostgreSQL DSN"))
    connect_timeout_secs: float = field(default=5.0, metadata=_m(
        "how long to wait for the store to answer, in seconds", min=0.1, max=120))
    busy_timeout_ms: int = field(default=10_000, metadata=_m(
        "SQLite: how long a writer waits for another writer, in milliseconds", min=100,
        max=120_000))
    sqlite_writer: bool = field(default=True, metadata=_m(
        "SQLite: a process of `posguard run` commits every actor's appends in groups "
        "(false: each process commits its own, one at a time)"))


@dataclass(frozen=True, slots=True)
class ActorSystemConfig:
    """The Thespian actor system and the admin port the CLI talks to."""

    base: Literal["multiprocTCPBase"] = field(default="multiprocTCPBase", metadata=_m(
        "Thespian system base; production needs multiprocTCPBase"))
    admin_address: str = field(default="127.0.0.1", metadata=_m(
        "address every actor port binds to (loopback unless you know why not)"))
    admin_port: int = field(default=1900, metadata=_m(
        "TCP port of the actor system's admin (the CLI connects here)", min=1024, max=65535))
    ask_timeout_secs: float = field(default=5.0, metadata=_m(
        "how long a CLI query waits for an answer, in seconds", min=0.1, max=300))
    shutdown_grace_secs: float = field(default=10.0, metadata=_m(
        "on SIGTERM, how long in-flight exchange requests may take to finish, in seconds",
        min=0.5, max=300))
    log_file: str = field(default="var/posguard-actors.log", metadata=_m(
        "where the actors' log lines go (alerts such as QUARANTINED included); relative to "
        "the config file's folder"))


@dataclass(frozen=True, slots=True)
class SupervisorConfig:
    """Restart intensity, backoff and passivation of symbol actors."""

    max_restarts: int = field(default=3, metadata=_m(
        "restarts allowed per symbol within within_secs before it is QUARANTINED", min=0,
        max=1000))
    within_secs: float = field(default=30.0, metadata=_m(
        "window for max_restarts, in seconds", min=1, max=86_400))
    backoff_min_ms: int = field(default=100, metadata=_m(
        "first restart delay in milliseconds (doubles per restart, with jitter)", min=0,
        max=600_000))
    backoff_max_ms: int = field(default=10_000, metadata=_m(
        "largest restart delay in milliseconds", min=0, max=3_600_000))
    passivate_after_secs: float = field(default=600.0, metadata=_m(
        "stop a FLAT symbol actor after this many idle seconds (0 = never)", min=0,
        max=604_800))


@dataclass(frozen=True, slots=True)
class StreamsConfig:
    """User-data and market streams."""

    stream_silence_secs: float = field(default=30.0, metadata=_m(
        "a stream silent for longer than this many seconds is treated as broken", min=1,
        max=3600))
    listen_key_keepalive_secs: float = field(default=1800.0, metadata=_m(
        "listenKey keepalive period in seconds (Binance expires keys after 3600)", min=1,
        max=3500))
    reconnect_backoff_min_ms: int = field(default=200, metadata=_m(
        "first reconnect delay in milliseconds", min=0, max=60_000))
    reconnect_backoff_max_ms: int = field(default=30_000, metadata=_m(
        "largest reconnect delay in milliseconds", min=0, max=600_000))
    market_shards: int = field(default=8, metadata=_m(
        "market-stream actors, each its own WebSocket with a fixed share of the symbols (one "
        "actor sending every tick was the limit at 500 symbols)", min=1, max=64))


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    """The periodic REST sweep against the exchange's truth."""

    interval_secs: float = field(default=60.0, metadata=_m(
        "seconds between reconcile sweeps", min=1, max=86_400))
    stop_check_min_interval_secs: float = field(default=10.0, metadata=_m(
        "least seconds between two sweeps that also check every stop (one account-wide "
        "read of the open algo orders, request weight 40)", min=1, max=86_400))


@dataclass(frozen=True, slots=True)
class ProtectionConfig:
    """Default stop policy plus resolved per-symbol policies."""

    default: ProtectionPolicy
    symbols: Mapping[str, ProtectionPolicy]

    def policy_for(self, symbol: str) -> ProtectionPolicy:
        """The policy for `symbol`: its override if configured, else the default."""
        return self.symbols.get(symbol, self.default)


@dataclass(frozen=True, slots=True)
class StoreTarget:
    """What the store factory needs: the backend with its paths and DSN resolved."""

    backend: str
    sqlite_path: str
    postgres_dsn: str | None
    connect_timeout_secs: float
    busy_timeout_ms: int
    sqlite_writer: bool = True


@dataclass(frozen=True, slots=True)
class Config:
    """The whole, validated configuration."""

    mode: Literal["paper", "live"]
    accounts: tuple[ExchangeConfig, ...]
    """Every account (`exchanges:`, or the legacy `exchange:` as the account main), in the
    file's order; never empty, names unique."""
    store: StoreConfig
    actor_system: ActorSystemConfig
    protection: ProtectionConfig
    supervisor: SupervisorConfig
    streams: StreamsConfig
    reconcile: ReconcileConfig
    alerts: AlertsConfig
    metrics: MetricsConfig
    status_page: StatusPageConfig
    source: str
    """The file this config was read from ("<defaults>" when none)."""

    @property
    def exchange(self) -> ExchangeConfig:
        """The first account (`posguard sim`, `check` and the benches use one account)."""
        return self.accounts[0]

    def account(self, name: str) -> ExchangeConfig:
        """The account named `name` (ConfigError naming the configured ones)."""
        for ex in self.accounts:
            if ex.account == name:
                return ex
        raise ConfigError(f"account {name!r} is not configured; configured: "
                          f"{', '.join(a.account for a in self.accounts)}")

    def store_target(self, env: Mapping[str, str] | None = None) -> StoreTarget:
        """Resolve the store settings; PostgreSQL's DSN comes from the named variable."""
        env = os.environ if env is None else env
        dsn = None
        if self.store.backend == "postgres":
            dsn = env.get(self.store.postgres_dsn_env)
            if not dsn:
                raise ConfigError(
                    f"store.backend is postgres but the environment variable "
                    f"{self.store.postgres_dsn_env} (store.postgres_dsn_env) is not set")
        return StoreTarget(self.store.backend, self.store.sqlite_path, dsn,
                           self.store.connect_timeout_secs, self.store.busy_timeout_ms,
                           self.store.sqlite_writer)

    def venue_hosts(self, ex: ExchangeConfig | None = None) -> VenueHosts:
        """Live mode: account `ex`'s venue REST and stream bases (overrides applied);
        default the first account."""
        ex = self.exchange if ex is None else ex
        return venues.adapter(ex.name).hosts(ex.venue, ex.rest_url, ex.stream_url)

    def api_keys(self, env: Mapping[str, str] | None = None,
                 ex: ExchangeConfig | None = None) -> tuple[str, str]:
        """Account `ex`'s (default: the first's) live API key and secret from the
        environment (paper mode: its simulator's)."""
        ex = self.exchange if ex is None else ex
        if self.mode == "paper":
            return ex.simulator.api_key, ex.simulator.api_secret
        env = os.environ if env is None else env
        names = (ex.api_key_env, ex.api_secret_env)
        missing = [n for n in names if not env.get(n)]
        if missing:
            raise ConfigError(f"account {ex.account!r}: mode is live but "
                              f"{' and '.join(missing)} (api_key_env / api_secret_env) not set")
        return env[names[0]], env[names[1]]


_SECTIONS: dict[str, type] = {
    "exchange": ExchangeConfig, "store": StoreConfig, "actor_system": ActorSystemConfig,
    "supervisor": SupervisorConfig, "streams": StreamsConfig, "reconcile": ReconcileConfig,
    "alerts": AlertsConfig, "metrics": MetricsConfig, "status_page": StatusPageConfig,
}
_TOP_KEYS = ("mode", *_SECTIONS, "exchanges", "protection")


def default_config_path() -> Path:
    """$POSGUARD_CONFIG, else ./config.yaml."""
    return Path(os.environ.get(DEFAULT_CONFIG_ENV, "config.yaml"))


def load_config(path: str | os.PathLike[str] | None = None,
                overrides: Sequence[str] = ()) -> Config:
    """Read, override (`dotted.key=value`) and validate a config file."""
    file = Path(path) if path is not None else default_config_path()
    data = _read_yaml(file)
    for item in overrides:
        _apply_override(data, item)
    return from_data(data, base_dir=file.resolve().parent, source=str(file))


def from_data(data: Mapping[str, Any], *, base_dir: Path, source: str = "<data>") -> Config:
    """Validate already-parsed config data."""
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key; allowed top-level keys: "
                          f"{', '.join(_TOP_KEYS)}")
    mode = data.get("mode", "paper")
    if mode not in ("paper", "live"):
        raise ConfigError(f"mode: {mode!r} is not allowed; choose one of paper, live")
    sections = {name: build(cls, data.get(name), name) for name, cls in _SECTIONS.items()
                if name != "exchange"}
    accounts = accounts_of(data)
    store = sections["store"]
    sqlite_path = Path(store.sqlite_path)
    if not sqlite_path.is_absolute():
        sqlite_path = base_dir / sqlite_path
    sections["store"] = _replace(store, sqlite_path=str(sqlite_path))
    log_file = Path(sections["actor_system"].log_file)
    if not log_file.is_absolute():
        sections["actor_system"] = _replace(sections["actor_system"],
                                            log_file=str(base_dir / log_file))
    _check_cross_fields(sections)
    check_distinct(mode, accounts)
    protection = _protection(data.get("protection"))
    for label, ex in accounts:
        check_account(mode, label, ex)
        _check_venue_can(label, ex.name, protection)
    return Config(mode=mode, accounts=tuple(ex for _, ex in accounts), protection=protection,
                  source=source, **sections)


def _replace(obj: Any, **changes: Any) -> Any:
    import dataclasses
    return dataclasses.replace(obj, **changes)


def _check_cross_fields(s: dict[str, Any]) -> None:
    sup, streams = s["supervisor"], s["streams"]
    if sup.backoff_min_ms > sup.backoff_max_ms:
        raise ConfigError(f"supervisor.backoff_min_ms: {sup.backoff_min_ms} is larger than "
                          f"supervisor.backoff_max_ms ({sup.backoff_max_ms})")
    if streams.reconnect_backoff_min_ms > streams.reconnect_backoff_max_ms:
        raise ConfigError("streams.reconnect_backoff_min_ms: larger than "
                          "streams.reconnect_backoff_max_ms")


def _check_venue_can(label: str, name: str, protection: ProtectionConfig) -> None:
    """A policy the venue cannot carry out is refused at start, naming the key (the
    venue's capability table: venue.interface.Capabilities)."""
    caps = venues.adapter(name).capabilities
    if caps.native_trailing:
        return
    policies = [("protection", protection.default),
                *((f"protection.symbols.{sym}", p) for sym, p in protection.symbols.items())]
    for key, policy in policies:
        if policy.trailing.mode == "native":
            raise ConfigError(f"{key}.trailing.mode: native, but {label}.name {name!r} has "
                              f"no native trailing stop (use mode: managed)")


def _protection(data: Any) -> ProtectionConfig:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"protection: expected a mapping of keys, got {data!r}")
    data = dict(data)
    overrides = data.pop("symbols", None) or {}
    default = build(ProtectionPolicy, data, "protection")
    if not isinstance(overrides, Mapping):
        raise ConfigError(f"protection.symbols: expected a mapping SYMBOL -> overrides, "
                          f"got {overrides!r}")
    base = defaults_as_dict(ProtectionPolicy)
    _deep_merge(base, data)
    symbols = {}
    for symbol, override in overrides.items():
        if not isinstance(symbol, str) or not _SYMBOL_RE.match(symbol):
            raise ConfigError(f"protection.symbols: {symbol!r} is not a symbol name "
                              f"(upper-case letters and digits, e.g. BTCUSDT)")
        merged = copy.deepcopy(base)
        if not isinstance(override, Mapping):
            raise ConfigError(f"protection.symbols.{symbol}: expected a mapping of keys, "
                              f"got {override!r}")
        _deep_merge(merged, override)
        symbols[symbol] = build(ProtectionPolicy, merged, f"protection.symbols.{symbol}")
    return ProtectionConfig(default=default, symbols=MappingProxyType(symbols))


def _deep_merge(into: dict[str, Any], over: Mapping[str, Any]) -> None:
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found (pass --config PATH)") from None
    except OSError as e:
        raise ConfigError(f"{file}: cannot read the config file: {e.strerror}") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{file}: not valid YAML{where}: {problem}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of keys, "
                          f"got {type(data).__name__}")
    return data


def _apply_override(data: dict[str, Any], item: str) -> None:
    key, sep, raw = item.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {item!r}: expected dotted.key=value, e.g. "
                          f"--set store.backend=postgres")
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {item!r}: the value is not valid YAML") from e
    parts = key.split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):  # exchanges.ACCOUNT.key: the account of that name
            node = account_entry(node, part, item)
            continue
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict | list):
            raise ConfigError(f"--set {item!r}: {'.'.join(parts[:i + 1])} is not a section")
        node = child
    if isinstance(node, list):
        raise ConfigError(f"--set {item!r}: {parts[-1]} is an account: name one of its keys, "
                          f"e.g. exchanges.{parts[-1]}.simulator.port=0")
    node[parts[-1]] = value
