"""`posguard check` for a Bybit account, against the Bybit simulator (unmodified ccxt.bybit and
websocket-client): every check passes placing nothing, a refused key is named with Bybit's
code and skips what needs it, and a symbol the venue does not list fails naming the account.
"""

from __future__ import annotations

import json
import re

import pytest

from system.sim.client import SimControl
from tests.integration.cli.test_check import _at_sim, _check

BYBIT_CHECKS = ["clock", "key", "permissions", "position mode", "user stream",
                "market stream", "symbols"]


@pytest.fixture
def keys(bybit_sim) -> dict[str, str]:
    s = bybit_sim.settings
    return {"POSGUARD_API_KEY": s.api_key, "POSGUARD_API_SECRET": s.api_secret}


def _live(sim, *more: str) -> list[str]:
    return ["--set", "mode=live", "--set", "exchange.name=bybit", "--set",
            "exchange.simulator.embedded=false", *_at_sim(sim), *more]


@pytest.mark.parametrize("environment", ["live", "demo", "testnet"])
def test_every_bybit_check_passes_against_the_simulator_placing_nothing(bybit_sim, keys,
                                                                        environment):
    venue = environment  # not `venue`: the fixture of tests/fixtures/venues.py
    r = _check(*_live(bybit_sim, "--set", f"exchange.venue={venue}"), "--json", env=keys)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert (out["exchange"], out["account"], out["venue"], out["ok"]) == \
        ("bybit", "main", venue, True)
    assert [c["name"] for c in out["checks"]] == BYBIT_CHECKS
    assert all(c["status"] == "ok" for c in out["checks"]), out["checks"]
    found = {c["name"]: c["detail"] for c in out["checks"]}
    assert "auth accepted" in found["user stream"]
    assert "tickers.BTCUSDT: mark" in found["market stream"]
    assert "one-way (positionIdx 0)" in found["position mode"]
    state = SimControl(bybit_sim.url, timeout_secs=5).state()
    assert state["open_orders"] == [] and state["open_algo_orders"] == []
    assert state["fills"] == []


def test_a_refused_bybit_key_fails_naming_bybits_error_and_skips_what_needs_it(bybit_sim,
                                                                             keys):
    r = _check(*_live(bybit_sim), env={**keys, "POSGUARD_API_KEY": "not-the-key"})
    assert r.returncode == 1
    assert re.search(r"FAIL\s+key: the key was refused: .*1000[34]", r.stdout), r.stdout
    for name in ("permissions", "position mode", "user stream"):
        assert re.search(rf"skipped\s+{name}: needs key", r.stdout), r.stdout
    assert re.search(r"ok\s+market stream", r.stdout)  # public: needs no key
    assert "FAILED (key, permissions, position mode, user stream)" in r.stdout


def test_a_wrong_secret_is_refused_on_the_private_socket_too(bybit_sim, keys):
    """The REST signature fails first (10004), so the socket check is skipped: the secret
    is named once, where Bybit refused it."""
    r = _check(*_live(bybit_sim), env={**keys, "POSGUARD_API_SECRET": "wrong"})
    assert r.returncode == 1
    assert re.search(r"FAIL\s+key: the key was refused", r.stdout), r.stdout
    assert re.search(r"skipped\s+user stream: needs key", r.stdout), r.stdout


def test_a_symbol_bybit_does_not_list_fails_naming_the_account(bybit_sim, keys):
    r = _check(*_live(bybit_sim, "--set", "protection.symbols.NOPEUSDT.stop_loss_pct=1.5",
                      "--set", "protection.symbols.ETHUSDT.stop_loss_pct=1.5"), env=keys)
    assert r.returncode == 1
    assert re.search(r"FAIL\s+symbols: account 'main' \(bybit\): NOPEUSDT not listed",
                     r.stdout), r.stdout
    # Bybit's position mode is per symbol: the unlisted one cannot be read, and says so.
    assert re.search(r"FAIL\s+position mode: position mode of NOPEUSDT unreadable", r.stdout)
