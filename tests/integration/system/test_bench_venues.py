"""`posguard bench` on both venues: one quick run measures every per-venue section on the
Binance and on the Bybit simulator front (each its own simulator and engine) and reports them
in a column per venue.

Figures are measured, never asserted (a shared machine is noisy). What is asserted is what
must hold on any machine: every section has real samples on each venue, nothing
acknowledged is lost, no coverage is lost, no stop-lag sample finds the position without a
resting stop, a move costs the venue the orders its protocol needs (Binance: a new stop and
the old one's cancel; Bybit: one amend, read from the simulator's probe of accepted orders),
each venue runs under its own real order budget in the stop-lag section, and nothing is left
running. The run is the smallest that still shows all of it (one 10-symbol level, 3 s
windows, one durability trial per backend and venue).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[3]
POSGUARD = [sys.executable, "-m", "system.cli"]
QUICK = ["bench", "--quick", "--symbols", "10", "--duration-secs", "3", "--json"]


def _ours(tmpdir: Path) -> set[int]:
    """Actor systems and temp PostgreSQL servers of the bench under `tmpdir` (only this
    run's: other benches may run on the machine at the same time)."""
    out = set()
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info.get("cmdline") or [])
        if str(tmpdir) in cmd and ("system.actor_system" in cmd or "posguard-pg-" in cmd):
            out.add(p.info["pid"])
    return out


@pytest.fixture
def bench_tmp():
    """TMPDIR of the bench, short (PostgreSQL's socket path) and traversable."""
    tmp = Path(tempfile.mkdtemp(prefix="pgbv-"))
    tmp.chmod(0o755)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


def _check_venue(v: dict, name: str) -> None:
    assert v["venue"] == name
    fl = v["floor"]
    assert fl["rest_round_trip"]["n"] == 300 and fl["user_stream"]["n"] == 100, fl
    assert fl["user_stream"]["lost"] == 0
    assert ("/v5/position/list" in fl["rest_round_trip"]["call"]) is (name == "bybit")
    [lv] = v["levels"]
    assert lv["symbols"] == 10 and lv["memory"]["symbol_actors"]["processes"] == 10
    for w in (lv, lv["burst"]):
        # Every symbol ticks once a second on a steady trend: each tick demands a move.
        assert w["ticks"] >= 10 * 2, w["ticks"]
        assert w["reaction"]["n"] > 0 and w["moves"] > 0
    assert lv["routing"]["n"] > 0
    burst = v["rtt"][0]["open_burst"]
    assert burst["acknowledged"] == burst["open_to_stop"]["n"] == 10, burst
    assert v["unprotected"]["coverage_lost_total_ms"] == 0, v["unprotected"]
    rec = v["recovery"]
    assert rec["reconciled"]["n"] == 3 and rec["seq_kept"] == 3 and not rec["failures"], rec
    assert v["cold_restart"]["positions"] == 10
    [lag] = v["stop_lag"]["levels"]
    assert lag["stop_lag"]["n"] > 0 and lag["uncovered_samples"] == 0, lag
    assert lag["positions_skipped"] == 0 and lag["open_burst"]["open_to_stop"]["n"] == 10
    assert {d["backend"] for d in v["durability"]} == {"sqlite", "postgres"}
    for d in v["durability"]:
        assert d["venue"] == name
        # The first trial counts its kill from the first acknowledged open.
        assert d["acknowledged"] > 0 and d["lost"] == 0 and not d["unsettled"], d
        assert d["not_refused_as_duplicate"] == 0 and d["unclean_stops"] == [], d
    assert len(v["load_average"]) == 3


def test_a_quick_bench_on_both_venues_reports_every_section_per_venue(bench_tmp):
    r = subprocess.run([*POSGUARD, *QUICK], cwd=REPO, capture_output=True, text=True,
                       timeout=420, env={**os.environ, "TMPDIR": str(bench_tmp)})
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout)
    assert [v["venue"] for v in res["venues"]] == ["binanceusdm", "bybit"]
    binance, bybit = res["venues"]
    _check_venue(binance, "binanceusdm")
    _check_venue(bybit, "bybit")
    # The old top-level keys are the first venue's (readers of the old JSON keep working).
    assert res["levels"] == binance["levels"] and res["durability"] == binance["durability"]

    # A managed move: Binance places the new stop and cancels the old (2 orders), Bybit
    # amends the resting one in place (1), with the budget lifted and under the real one.
    for kind in ("budget_lifted", "real_budget"):
        b, y = binance["orders_per_move"][kind], bybit["orders_per_move"][kind]
        assert b["amends"] == 0 and 1.8 <= b["orders_per_move"] <= 2.2, b
        assert y["creates"] == y["cancels"] == 0 and y["orders_per_move"] == 1.0, y

    # Each venue's real budget: Binance's 10 s / 60 s windows, Bybit's 1 s / 60 s held to
    # posguard's ceiling of 8 orders a second (the venue allows 10 per endpoint).
    bb, yb = binance["stop_lag"]["budget"], bybit["stop_lag"]["budget"]
    assert bb["engine_windows_secs"] == [10.0, 60.0] and bb["engine_effective"] == [250, 1000]
    assert yb["engine_windows_secs"] == [1.0, 60.0] and yb["engine_effective"] == [8, 480]
    assert "10/s" in yb["venue_limits"] and "300/10 s" in bb["venue_limits"]

    assert {t["venue"] for t in res["targets"]} == {"binanceusdm", "bybit"}
    assert {s["backend"] for s in res["store_append"]} == {"sqlite", "postgres"}
    assert len(res["machine"]["load_average"]) == 3
    assert not _ours(bench_tmp), "the bench left processes running"

    # The table has a column per venue (rendered from the same result).
    from system.bench.report import format_table
    table = format_table(res)
    head = next(line for line in table.splitlines() if "binanceusdm" in line and "bybit" in line)
    assert head.index("binanceusdm") < head.index("bybit")


@pytest.mark.parametrize("venues", ["kraken", "bybit,bybit", ""])
def test_a_bad_venue_list_is_refused_naming_the_venues(venues):
    r = subprocess.run([*POSGUARD, "bench", "--venues", venues], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "binanceusdm, bybit" in r.stderr
