"""The probe on a running SimServer: ticks, stops placed and cancelled over REST, take()."""

from __future__ import annotations

from system.sim.probe import Probe
from tests.integration.sim.wsutil import connect, read_until

BTC = "BTC/USDT:USDT"


def _enable(s) -> float:
    s.probe = Probe()
    return s.clock.monotonic()


def test_probe_is_off_by_default(sim):
    assert sim.call(lambda s: (s.probe, s.engine.probe, s.market_streams.probe)) == (
        None, None, None)


def test_probe_records_ticks_placements_and_cancels_on_the_sim_clock(sim, ccxt_sync):
    ws = connect(sim.url, "/market/ws/btcusdt@markPrice@1s")
    try:
        started = sim.call(_enable)
        ccxt_sync.create_order(BTC, "market", "buy", 0.01)
        order = ccxt_sync.create_order(BTC, "market", "sell", 0.01, None,
                                       {"stopPrice": 59000, "reduceOnly": True})
        ccxt_sync.cancel_order(order["id"], BTC, {"trigger": True})
        received = read_until(ws, lambda m: m.get("e") == "markPriceUpdate")
        got = sim.call(lambda s: s.probe.take())
        ended = sim.call(lambda s: s.clock.monotonic())
        again = sim.call(lambda s: s.probe.take())
    finally:
        ws.close()

    [placed] = got["placements"]
    assert {k: placed[k] for k in ("symbol", "order_type", "trigger_price", "quantity")} == {
        "symbol": "BTCUSDT", "order_type": "STOP_MARKET", "trigger_price": "59000.00",
        "quantity": "0.010"}
    [cancel] = got["cancels"]
    assert cancel["symbol"] == "BTCUSDT"
    assert cancel["client_algo_id"] == placed["client_algo_id"] == order["clientOrderId"]
    assert started <= placed["t_mono"] <= cancel["t_mono"] <= ended
    ticks = got["ticks"]
    mark = sim.call(lambda s: s._mark("BTCUSDT"))  # the stream carries the mark price
    assert ticks and {(t["symbol"], t["price"]) for t in ticks} == {("BTCUSDT", mark)}
    assert received[-1]["p"] == mark
    times = [t["t_mono"] for t in ticks]
    assert times == sorted(times) and started <= times[0] and times[-1] <= ended
    assert again["placements"] == [] and again["cancels"] == []
    assert all(t["t_mono"] > times[-1] for t in again["ticks"])


def test_array_stream_ticks_are_recorded_per_symbol(sim):
    ws = connect(sim.url, "/market/ws/!markPrice@arr@1s")
    try:
        sim.call(_enable)
        frame = read_until(ws, lambda m: isinstance(m, list))[-1]
        read_until(ws, lambda m: isinstance(m, list))
        ticks = sim.call(lambda s: s.probe.take())["ticks"]
    finally:
        ws.close()

    by_time = {}
    for t in ticks:
        by_time.setdefault(t["t_mono"], set()).add(t["symbol"])
    assert {r["s"] for r in frame} in by_time.values()
