"""config.yaml -> frozen Config: the shipped file, overrides, and rejected configs."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from system.config import ConfigError, load_config
from system.config_schema import describe

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "config.yaml"


def test_shipped_config_is_paper_mode_with_embedded_simulator_and_sqlite_under_var():
    config = load_config(SHIPPED)

    assert config.mode == "paper"
    assert config.exchange.simulator.embedded is True
    assert config.store.backend == "sqlite"
    assert Path(config.store.sqlite_path) == REPO / "var" / "posguard.sqlite3"
    assert config.actor_system.admin_address == "127.0.0.1"


def test_shipped_config_documents_every_key_in_a_comment():
    text = SHIPPED.read_text()
    from system.config import _SECTIONS
    missing = []
    for section, cls in _SECTIONS.items():
        for key, _doc, _default in describe(cls):
            leaf = key.split(".")[-1]
            if not re.search(rf"^\s*{leaf}:.*#", text, re.M) and not re.search(
                    rf"^\s*{leaf}:\s*$", text, re.M):
                missing.append(f"{section}.{key}")
    from actors.protection import ProtectionPolicy
    for key, _doc, _default in describe(ProtectionPolicy):
        if not re.search(rf"^\s*{key.split('.')[-1]}:", text, re.M):
            missing.append(f"protection.{key}")
    assert missing == []


def test_frozen_config_cannot_be_changed():
    config = load_config(SHIPPED)

    with pytest.raises(dataclasses.FrozenInstanceError):
        config.store.backend = "postgres"  # type: ignore[misc]


def test_set_overrides_any_key_and_is_validated_like_the_file():
    config = load_config(SHIPPED, ["store.backend=postgres", "protection.trailing.callback_pct=0.3",
                                   "protection.symbols.ETHUSDT.stop_loss_pct=1.5"])

    assert config.store.backend == "postgres"
    assert config.protection.default.trailing.callback_pct == 0.3
    assert config.protection.policy_for("ETHUSDT").stop_loss_pct == 1.5
    assert config.protection.policy_for("ETHUSDT").trailing.callback_pct == 0.3
    assert config.protection.policy_for("BTCUSDT").stop_loss_pct == 2.0


def test_per_symbol_override_keeps_the_other_defaults(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("protection:\n  stop_loss_pct: 3.0\n  symbols:\n"
                 "    BTCUSDT: {trailing: {mode: 'off'}}\n")

    config = load_config(f)

    btc = config.protection.policy_for("BTCUSDT")
    assert btc.trailing.mode == "off" and btc.stop_loss_pct == 3.0
    assert btc.trailing.callback_pct == 0.5


def test_postgres_dsn_comes_only_from_the_named_environment_variable():
    config = load_config(SHIPPED, ["store.backend=postgres", "store.postgres_dsn_env=MY_DSN"])

    with pytest.raises(ConfigError, match="MY_DSN"):
        config.store_target(env={})
    assert config.store_target(env={"MY_DSN": "host=/tmp"}).postgres_dsn == "host=/tmp"


def test_live_mode_keys_come_from_the_environment_and_missing_ones_are_named():
    config = load_config(SHIPPED, ["mode=live", "exchange.simulator.embedded=false"])

    with pytest.raises(ConfigError, match="POSGUARD_API_KEY and POSGUARD_API_SECRET"):
        config.api_keys(env={})
    assert config.api_keys(env={"POSGUARD_API_KEY": "k", "POSGUARD_API_SECRET": "s"}) == ("k", "s")


BAD = [
    ("unknown top-level key", "modee: paper\n", "modee: unknown key"),
    ("unknown nested key", "store:\n  backendd: sqlite\n", "store.backendd: unknown key"),
    ("bad choice", "store:\n  backend: mysql\n",
     "store.backend: 'mysql' is not allowed; choose one of sqlite, postgres"),
    ("bad mode", "mode: demo\n", "mode: 'demo' is not allowed"),
    ("string for a number", "protection:\n  stop_loss_pct: two\n",
     "protection.stop_loss_pct: expected a number, got 'two'"),
    ("bool for an int", "supervisor:\n  max_restarts: yes\n",
     "supervisor.max_restarts: expected a whole number, got True"),
    ("out of range low", "protection:\n  trailing:\n    callback_pct: 0\n",
     "protection.trailing.callback_pct: 0.0 is out of range; allowed 0.01..50"),
    ("out of range high", "actor_system:\n  admin_port: 70000\n",
     "actor_system.admin_port: 70000 is out of range; allowed 1024..65535"),
    ("section not a mapping", "streams: 5\n", "streams: expected a mapping of keys, got 5"),
    ("top level not a mapping", "- a\n- b\n", "the top level must be a mapping"),
    ("invalid yaml", "store:\n  backend: [sqlite\n", "not valid YAML at line"),
    ("backoff min above max", "supervisor:\n  backoff_min_ms: 5000\n  backoff_max_ms: 100\n",
     "supervisor.backoff_min_ms: 5000 is larger than supervisor.backoff_max_ms"),
    ("api key in file", "exchange:\n  api_key_env: 'abc-123-secret!'\n",
     "exchange.api_key_env: 'abc-123-secret!' is not an environment variable name"),
    ("live with embedded sim", "mode: live\n",
     "exchange.simulator.embedded: true is not allowed with mode: live"),
    ("bad symbol override", "protection:\n  symbols:\n    btc-usdt: {stop_loss_pct: 1}\n",
     "protection.symbols: 'btc-usdt' is not a symbol name"),
    ("bad value in override", "protection:\n  symbols:\n    BTCUSDT: {stop_loss_pct: 150}\n",
     "protection.symbols.BTCUSDT.stop_loss_pct: 150.0 is out of range"),
    ("simulator port", "exchange:\n  simulator:\n    port: -1\n",
     "exchange.simulator.port: -1 is out of range"),
    ("trailing mode", "protection:\n  trailing:\n    mode: smart\n",
     "protection.trailing.mode: 'smart' is not allowed; choose one of managed, native, off"),
]


@pytest.mark.parametrize("name,text,message", BAD, ids=[b[0] for b in BAD])
def test_malformed_config_is_rejected_with_key_value_and_what_is_allowed(tmp_path, name, text,
                                                                          message):
    f = tmp_path / "config.yaml"
    f.write_text(text)

    with pytest.raises(ConfigError) as err:
        load_config(f)

    assert message in str(err.value)


@pytest.mark.parametrize("item,message", [
    ("store.backend", "expected dotted.key=value"),
    ("=1", "expected dotted.key=value"),
    ("store..backend=x", "expected dotted.key=value"),
    ("mode.x=1", "mode is not a section"),
    ("store.busy_timeout_ms=fast", "store.busy_timeout_ms: expected a whole number, got 'fast'"),
])
def test_malformed_set_override_is_rejected(item, message):
    with pytest.raises(ConfigError) as err:
        load_config(SHIPPED, [item])

    assert message in str(err.value)


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_native_trailing_on_a_venue_without_it_is_refused_naming_the_key(tmp_path, monkeypatch):
    import venues
    from venues.binance.adapter import CAPABILITIES, BinanceUsdm

    @dataclasses.dataclass(frozen=True, slots=True)
    class NoTrailing(BinanceUsdm):  # a venue whose capability table says no native trailing
        capabilities = dataclasses.replace(CAPABILITIES, native_trailing=False,
                                           trailing_callback_pct=None)

    f = tmp_path / "c.yaml"
    f.write_text("protection:\n  symbols:\n    ETHUSDT: {trailing: {mode: native}}\n")
    assert load_config(f).protection.policy_for("ETHUSDT").trailing.mode == "native"
    monkeypatch.setitem(venues.ADAPTERS, "binanceusdm", NoTrailing)

    with pytest.raises(ConfigError, match=r"protection\.symbols\.ETHUSDT\.trailing\.mode: "
                                          r"native, but exchange\.name 'binanceusdm' has no"):
        load_config(f)
    f.write_text("protection:\n  trailing: {mode: managed}\n")
    assert load_config(f).protection.default.trailing.mode == "managed"
