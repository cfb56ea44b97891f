"""`posguard run` in live mode on a named venue, with the venue's hosts pointed at the simulator.

This is the README's live/demo command (mode live, a venue, keys from the environment) with
only `exchange.rest_url` / `exchange.stream_url` added: the engine takes its keys from the
environment, builds its stream URLs from the venue's one base, and protects a position
exactly as in paper mode. The simulator's own state is the judge.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.fixtures.launcher import Launched


@pytest.fixture
def live_env(monkeypatch, sim):
    monkeypatch.setenv("POSGUARD_API_KEY", sim.settings.api_key)
    monkeypatch.setenv("POSGUARD_API_SECRET", sim.settings.api_secret)


def test_live_mode_on_demo_trades_with_the_environments_keys_on_the_venues_entry_points(
        systems, sim, sim_control, live_env):
    ws = sim.url.replace("http", "ws", 1)
    system: Launched = systems("mode=live", "exchange.venue=demo",
                               f"exchange.rest_url={sim.url}", f"exchange.stream_url={ws}")
    status = system.json("status")
    assert status["mode"] == "live" and status["exchange_url"] == sim.url
    assert status["stream"]["user"]["state"] == "connected"

    r = system.cli("open", "BTCUSDT", "--side", "long", "--qty", "0.010")
    assert r.returncode == 0, r.stdout + r.stderr

    row = system.wait_state("BTCUSDT", "PROTECTED")
    truth = sim_control.state()
    stops = [o for o in truth["open_algo_orders"] if o["symbol"] == "BTCUSDT"]
    assert [str(o["algoId"]) for o in stops] == [row["stop_order_id"]]
    assert sum(Decimal(p["positionAmt"]) for p in truth["positions"]) == Decimal("0.010")
    # The mark-price subscription went over the venue's market entry point.
    system.wait_for(lambda: system.json("status")["stream"]["market"]["subscriptions"] == 1,
                    "the BTCUSDT mark-price subscription", 10)
    assert truth["market_stream_connections"] >= 1
