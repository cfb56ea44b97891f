"""config `exchanges:` (several accounts) and the legacy `exchange:` (the account main)."""

from __future__ import annotations

from pathlib import Path

import pytest

from system.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "config.yaml"

TWO = """
exchanges:
  - account: main
    name: binanceusdm
  - account: by
    name: binanceusdm
    orders_per_10s: 100
    simulator: {seed: 7}
"""


def _load(tmp_path: Path, text: str, overrides: list[str] | None = None):
    f = tmp_path / "config.yaml"
    f.write_text(text)
    return load_config(f, overrides or [])


def test_the_legacy_exchange_section_is_the_one_account_main():
    config = load_config(SHIPPED)
    assert [a.account for a in config.accounts] == ["main"]
    assert config.exchange is config.accounts[0]
    assert config.account("main").name == "binanceusdm"


def test_exchanges_lists_accounts_in_order_each_with_its_own_settings(tmp_path):
    config = _load(tmp_path, TWO)
    assert [a.account for a in config.accounts] == ["main", "by"]
    assert config.account("by").orders_per_10s == 100
    assert config.account("by").simulator.seed == 7
    assert config.account("main").orders_per_10s == 250
    assert config.exchange.account == "main"  # the first: benches and `posguard sim`
    with pytest.raises(ConfigError, match="account 'xx' is not configured; configured: main, by"):
        config.account("xx")


def test_set_reaches_one_account_by_name(tmp_path):
    config = _load(tmp_path, TWO, ["exchanges.by.simulator.port=4567",
                                   "exchanges.main.workers=1"])
    assert config.account("by").simulator.port == 4567
    assert config.account("main").workers == 1 and config.account("by").workers == 0
    with pytest.raises(ConfigError, match="no account 'zz' in exchanges"):
        _load(tmp_path, TWO, ["exchanges.zz.workers=1"])


def test_the_simulators_front_follows_the_accounts_exchange(tmp_path):
    config = _load(tmp_path, TWO)
    assert [a.simulator.venue for a in config.accounts] == ["binanceusdm", "binanceusdm"]
    with pytest.raises(ConfigError, match=r'exchanges\[1\] \(account "by"\)\.simulator\.venue: '
                                          r"'bybit' differs from the account's exchange"):
        _load(tmp_path, TWO.replace("simulator: {seed: 7}", "simulator: {venue: bybit}"))


def test_live_keys_missing_name_the_account(tmp_path):
    config = _load(tmp_path, "mode: live\n" + TWO.replace("simulator: {seed: 7}",
                                                          "simulator: {embedded: false}\n"
                                                          "    api_key_env: BY_KEY\n"
                                                          "    api_secret_env: BY_SECRET")
                   .replace("name: binanceusdm\n  - account: by",
                            "name: binanceusdm\n    simulator: {embedded: false}\n"
                            "  - account: by"))
    env = {"POSGUARD_API_KEY": "k", "POSGUARD_API_SECRET": "s"}
    assert config.api_keys(env, config.account("main")) == ("k", "s")
    with pytest.raises(ConfigError, match="account 'by': mode is live but BY_KEY and BY_SECRET"):
        config.api_keys(env, config.account("by"))


BAD = [
    ("both sections", "exchange: {}\n" + TWO, "exchange and exchanges: both are set"),
    ("empty list", "exchanges: []\n", "exchanges: expected a non-empty list of accounts"),
    ("no account name", "exchanges:\n  - name: binanceusdm\n",
     r"exchanges\[0\]\.account: None is not an account name \(required"),
    ("bad account name", "exchanges:\n  - account: By-1\n",
     r"exchanges\[0\]\.account: 'By-1' is not an account name"),
    ("duplicate account", "exchanges:\n  - account: a\n  - account: a\n",
     r'exchanges\[1\] \(account "a"\): the account name \'a\' is used twice'),
    ("unknown venue", "exchanges:\n  - account: main\n  - account: kr\n    name: kraken\n",
     r'exchanges\[1\] \(account "kr"\)\.name: \'kraken\' is not an exchange posguard has an '
     r"adapter for"),
    ("legacy unknown venue", "exchange:\n  name: kraken\n",
     r"exchange\.name: 'kraken' is not an exchange"),
    ("legacy other account", "exchange:\n  account: by\n",
     "the single exchange: section is the account main"),
    ("unknown key in an account", "exchanges:\n  - account: by\n    workerz: 1\n",
     r'exchanges\[0\] \(account "by"\)\.workerz: unknown key'),
    ("bad env name in an account", "exchanges:\n  - account: by\n    api_key_env: 'k y'\n",
     r'exchanges\[0\] \(account "by"\)\.api_key_env: \'k y\' is not an environment variable'),
    ("live with embedded sim", "mode: live\nexchanges:\n  - account: by\n",
     r'exchanges\[0\] \(account "by"\)\.simulator\.embedded: true is not allowed'),
    ("two accounts on one simulator", "exchanges:\n  - account: a\n    simulator: {port: 5000}\n"
     "  - account: b\n    simulator: {port: 5000}\n",
     r'exchanges\[1\] \(account "b"\): reaches the same simulator port 5000 as '
     r'exchanges\[0\] \(account "a"\)'),
    ("two live accounts on one key", "mode: live\nexchanges:\n"
     "  - account: a\n    simulator: {embedded: false}\n"
     "  - account: b\n    simulator: {embedded: false}\n",
     r'exchanges\[1\] \(account "b"\): reaches the same venue with the same api_key_env'),
]


@pytest.mark.parametrize("name,text,message", BAD, ids=[b[0] for b in BAD])
def test_bad_accounts_are_refused_naming_the_account(tmp_path, name, text, message):
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, text)


def test_a_bybit_account_gets_a_simulator_serving_bybits_front(tmp_path):
    config = _load(tmp_path, TWO.replace("  - account: by\n    name: binanceusdm",
                                         "  - account: by\n    name: bybit"))
    assert config.account("by").name == "bybit"
    assert config.account("by").simulator.venue == "bybit"
    assert config.account("main").simulator.venue == "binanceusdm"
