"""The Prometheus endpoint of a running system (`posguard run` with metrics.port), scraped over
loopback and parsed with prometheus_client's own parser, checked against the system's own
`status --json` and the simulator's state (/_sim/state): a protected position whose stop
moved, then a SIGKILL of its actor, after which the counters keep their totals."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from system.launched import free_port
from tests.fixtures.launcher import sigkill
from tests.waiting import wait_for

SYM = "BTCUSDT"
Samples = dict[tuple[str, frozenset], float]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def value(m: Samples, name: str, **labels: str) -> float | None:
    return m.get((name, frozenset(labels.items())))


def wait_metrics(port: int, pred: Callable[[Samples], bool], what: str,
                 timeout_secs: float = 30) -> Samples:
    """Scrape until `pred` holds (the launcher reads the status once a second)."""
    return wait_for(pred, timeout_secs, what, 0.2, sample=lambda: scrape(port),
                    shown=lambda m: f"scrape {({k[0]: v for k, v in m.items() if SYM in str(k)})}")


def test_a_running_systems_metrics_match_its_status_and_the_exchange(systems, sim_control):
    port = free_port()
    sim_control.set_price(SYM, "60000", mark="60000")
    system = systems(f"metrics.port={port}", "metrics.refresh_secs=0.5")
    minute = sim_control.state()["clock"]["now_ms"] // 60_000
    r = system.cli("open", SYM, "--side", "long", "--qty", "0.010")
    assert r.returncode == 0, r.stderr
    first = system.wait_state(SYM, "PROTECTED")

    # Act: the mark runs past activation: the trailing stop moves once
    sim_control.set_price(SYM, "61000", mark="61000")
    row = system.wait_for(lambda: (s := system.symbols()[SYM])["state"] == "PROTECTED"
                          and s["stop_price"] != first["stop_price"] and s, "the stop moved")
    # The pool and the streams report on their own timers (1 s; the streams' health, <= 5 s)
    m = wait_metrics(port, lambda m: value(m, "posguard_stop_moves_total", symbol=SYM) == 1
                     and value(m, "posguard_store_append_seconds_count") == row["seq"]
                     and value(m, "posguard_stop_distance_bps", symbol=SYM) is not None
                     and (value(m, "posguard_order_budget_sent", window="1m", account="main") or 0) >= 3
                     and (value(m, "posguard_stream_frames_total", stream="market") or 0) > 0
                     and value(m, "posguard_stream_event_lag_seconds", stream="market")
                     is not None,
                     "the move, every journal row, the budget and the streams in the metrics")
    truth = sim_control.state()
    status = system.json("status")

    # Assert: per symbol, as status --json and the exchange have it
    (resting,) = [o for o in truth["open_algo_orders"] if o["symbol"] == SYM]
    stop, mark = Decimal(row["stop_price"]), Decimal(row["mark_price"])
    assert (Decimal(resting["triggerPrice"]), Decimal(truth["marks"][SYM])) == (stop, mark)
    assert value(m, "posguard_stop_distance_bps", symbol=SYM) == pytest.approx(
        float((mark - stop) / mark * 10_000))
    assert value(m, "posguard_symbol_state", symbol=SYM, state="PROTECTED") == 1
    assert value(m, "posguard_position_side", symbol=SYM) == 1
    assert value(m, "posguard_position_size", symbol=SYM) == float(row["qty"]) == 0.01
    assert value(m, "posguard_position_unprotected", symbol=SYM) == 0
    # The open -> first stop window, by the actor's bookkeeping and by the exchange's meter
    ours = value(m, "posguard_unprotected_seconds_total", symbol=SYM)
    meter = truth["unprotected"]["per_symbol"][SYM]
    assert meter["total_ms_by_kind"]["coverage_lost"] == 0
    assert ours is not None and ours > 0 and abs(ours - meter["total_ms"] / 1000) < 2.0
    # Order budget: at least three placements (the open, the first stop, the moved stop; a
    # slow reply may add a lookup's re-placement). posguard is the account's only client.
    sent = value(m, "posguard_order_budget_sent", window="1m", account="main")
    server = value(m, "posguard_exchange_order_count", window="1m", account="main")
    assert sent is not None and sent >= 3 and server is not None and 1 <= server <= sent
    assert value(m, "posguard_order_budget_used", window="1m", account="main") == sent
    assert value(m, "posguard_order_budget_limit", window="1m", account="main") == 1000  # config.yaml's
    if truth["clock"]["now_ms"] // 60_000 == minute:
        # The exchange's fixed minute has not rolled over since before the open: its count is
        # every order, the last reply's header said so, and the pool sent exactly those.
        assert server == truth["rate_limits"]["orders"]["count_1m"] == sent
    # Streams (the metrics were read first: frames only grow)
    for kind in ("user", "market"):
        assert status["stream"][kind]["state"] == "connected"
        assert value(m, "posguard_stream_connected", stream=kind) == 1
    frames = value(m, "posguard_stream_frames_total", stream="market")
    assert frames is not None and frames <= status["stream"]["market"]["frames"]
    lag = value(m, "posguard_stream_event_lag_seconds", stream="market")
    assert lag is not None and abs(lag) < 5, "the simulator shares the machine's clock"

    # A SIGKILLed actor comes back: its counters keep their totals, its restart is counted
    sigkill(row["pid"])
    after = system.wait_for(lambda: (s := system.symbols()[SYM])["pid"] not in (
        None, row["pid"]) and s["state"] == "PROTECTED" and s, "the actor back")

    def settled(m: Samples) -> bool:
        seq: Any = system.symbols()[SYM]["seq"]
        return (value(m, "posguard_actor_restarts_total", kind="symbol", symbol=SYM) == 1
                and value(m, "posguard_store_append_seconds_count") == seq)

    m = wait_metrics(port, settled, "the restart and the new actor's appends")
    assert after["restarts"] == 1
    assert value(m, "posguard_stop_moves_total", symbol=SYM) == 1, "kept across the restart"
    assert value(m, "posguard_unprotected_seconds_total", symbol=SYM) >= ours
