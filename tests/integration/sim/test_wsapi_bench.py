"""system/bench/wsapi.py: every transport runs, and each pays at least its round trips."""

from __future__ import annotations

from system.bench.wsapi import TRANSPORTS, measure, table

RTT = 30.0


def test_measure_reports_every_transport_and_never_beats_the_wire():
    r = measure(RTT, orders=3)

    t = r["transports"]
    assert list(t) == list(TRANSPORTS)
    assert all(t[name][k]["n"] == 3 for name in t for k in ("place", "cancel", "pair"))
    # Lower bounds are the latency model's guarantees; upper ones belong to the bench.
    for name in ("rest_keepalive", "ws_fapi", "rest_burst_warm", "ws_fapi_burst"):
        assert t[name]["place"]["p50_ms"] >= RTT, name
    assert t["rest_new_conn"]["place"]["p50_ms"] >= 3 * RTT  # 2 handshake round trips
    assert t["rest_burst_cold"]["place"]["max_ms"] >= 3 * RTT  # new connections too
    assert "rest_keepalive" in table([r])
