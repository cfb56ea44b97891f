"""`posguard bench`: it runs the real system end to end and reports every figure of issues 7,
15 and 16 (per RTT, the open burst, stop lag under the real order budget, a column per venue:
Binance and Bybit, each on its own simulator front and engine).

Figures are measured, never asserted (a shared CI machine is noisy): these tests check that a
quick run produces every section with real samples, that its invariants hold (nothing lost,
no coverage lost), that it leaves no process behind, and that bad arguments are refused.
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


def _ours(tmpdir: Path) -> set[int]:
    """Processes a bench under `tmpdir` could leave behind: its actor systems (their log file
    is in one of its temp dirs) and its temp PostgreSQL servers (their data dir is). Only
    this run's: other benches on the machine may be running at the same time."""
    out = set()
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info.get("cmdline") or [])
        if str(tmpdir) in cmd and ("system.actor_system" in cmd or "posguard-pg-" in cmd):
            out.add(p.info["pid"])
    return out


@pytest.fixture
def bench_tmp():
    """TMPDIR of the bench: every temp dir it makes is in here. Short (PostgreSQL's socket
    path must fit 107 bytes) and traversable (the temp server runs as another user as root)."""
    tmp = Path(tempfile.mkdtemp(prefix="pgbench-"))
    tmp.chmod(0o755)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


QUICK = ["bench", "--quick", "--symbols", "10", "--duration-secs", "3", "--rtt-ms", "0,20",
         "--venues", "binanceusdm,bybit", "--json"]
"""The smallest run that still shows every section on both venues (about 130 s idle)."""


@pytest.mark.timeout(480)
def test_a_quick_bench_measures_every_section_on_both_venues_and_leaves_nothing_running(
        bench_tmp):
    r = subprocess.run([*POSGUARD, *QUICK], cwd=REPO, capture_output=True, text=True,
                       timeout=460, env={**os.environ, "TMPDIR": str(bench_tmp)})
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout)
    assert res["machine"]["cores"] >= 1 and len(res["machine"]["load_average"]) == 3
    assert [v["venue"] for v in res["venues"]] == ["binanceusdm", "bybit"]
    binance, bybit = res["venues"]
    for v in res["venues"]:
        _check_venue(v, res["options"]["duration_secs"])
    # The old top-level keys are the first venue's (readers of the old JSON keep working).
    assert res["levels"] == binance["levels"] == binance["rtt"][0]["levels"]
    assert res["durability"] == binance["durability"]

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

    assert {t["met"] for t in res["targets"]} <= {True, False, None}
    assert {t["venue"] for t in res["targets"]} == {"binanceusdm", "bybit"}
    assert any(t["target"].startswith("stop lag reported") and t["met"] for t in res["targets"])
    assert {s["backend"] for s in res["store_append"]} == {"sqlite", "postgres"}
    for s in res["store_append"]:  # 20 writer processes x 10 aligned rounds (--quick)
        c = s["contended"]
        assert c["writers"] == 20 and c["n"] == 200 and c["p99_ms"] >= c["p50_ms"] > 0, c
        assert c["cpu_ms_per_append"] > 0
    assert res["elapsed_secs"] < 400  # a smoke run stays one (about 130 s idle on 2 cores)
    assert not _ours(bench_tmp), "the bench left processes running"

    # The table has a column per venue (rendered from the same result).
    from system.bench.report import format_table
    table = format_table(res)
    head = next(line for line in table.splitlines() if "binanceusdm" in line and "bybit" in line)
    assert head.index("binanceusdm") < head.index("bybit")


def _check_venue(v: dict, duration_secs: float) -> None:
    """Every section of one venue's column has real samples and its invariants hold."""
    name = v["venue"]
    assert v["floor"]["rest_round_trip"]["n"] == 300 and v["floor"]["user_stream"]["n"] > 0
    assert v["floor"]["user_stream"]["lost"] == 0
    assert ("/v5/position/list" in v["floor"]["rest_round_trip"]["call"]) is (name == "bybit")
    assert [x["rtt_ms"] for x in v["rtt"]] == [0, 20]
    for x in v["rtt"]:
        fl = x["floor"]
        assert fl["rest_round_trip"]["n"] > 0 and fl["user_stream"]["n"] > 0
        assert fl["reaction_floor_ms"] > 0 and fl["open_floor_ms"] > 0
        # Physical lower bounds, not speed targets: the latency model is in force.
        assert fl["rest_round_trip"]["p50_ms"] >= x["rtt_ms"], (name, fl)
        assert fl["user_stream"]["p50_ms"] >= x["rtt_ms"] / 2, (name, fl)
        [lv] = x["levels"]
        assert lv["symbols"] == 10
        # The aligned burst is measured at the first RTT only (--quick).
        assert ("burst" in lv) is (x["rtt_ms"] == 0), (name, sorted(lv))
        for w in (lv, lv["burst"]) if x["rtt_ms"] == 0 else (lv,):
            # Every symbol ticks once a second on a steady trend: each tick demands a move.
            assert w["ticks"] >= lv["symbols"] * (duration_secs - 1), (name, w["ticks"])
            assert w["reaction"]["n"] > 0 and w["moves"] > 0, (name, w)
        assert lv["reaction"]["p50_ms"] >= x["rtt_ms"]
        assert lv["reaction"]["p99_x_floor"] is not None
        assert lv["routing"]["n"] > 0 and lv["routing"]["p50_ms"] > 0
        assert lv["routing"]["p99_x_floor"] is not None
        assert lv["memory"]["symbol_actors"]["processes"] == lv["symbols"]
        assert lv["memory"]["symbol_actors"]["pss_mb_mean"] > 0
        burst = x["open_burst"]
        assert burst["positions"] == burst["acknowledged"] == 10, (name, burst)
        # fill -> first stop: at least the reply's way back and the stop's way there
        assert burst["open_to_stop"]["n"] == 10
        assert burst["open_to_stop"]["p50_ms"] >= x["rtt_ms"]
        assert x["unprotected"]["coverage_lost_total_ms"] == 0, (name, x["unprotected"])
    assert v["levels"] == v["rtt"][0]["levels"] and v["levels"][-1]["burst"]["phase"] == "aligned"
    lag = v["stop_lag"]
    assert lag["rtt_ms"] == 20 and [lv["symbols"] for lv in lag["levels"]] == [10]
    for lv in lag["levels"]:
        assert lv["stop_lag"]["n"] > 0 and lv["floor_lag"]["n"] > 0, (name, lv)
        assert lv["uncovered_samples"] == 0 and lv["positions_skipped"] == 0, (name, lv)
        burst = {k: val for k, val in lv["open_burst"].items() if k != "samples"}
        assert lv["moves"] > 0 and burst["open_to_stop"]["n"] == 10, (name, burst)
    assert lag["budget"]["engine_orders_per_10s"] < 1_000_000  # the real budget, not lifted
    rec = v["recovery"]
    assert rec["trials"] == 3 and rec["reconciled"]["n"] == 3 and not rec["failures"], rec
    assert rec["seq_kept"] == 3
    cold = v["cold_restart"]
    assert cold["positions"] == 10
    # what the restart spent on the venue: Binance never amends; on Bybit the resting stops
    # are kept and only amended (a restart that placed or cancelled one would show here)
    spent = cold["orders"]
    if name == "bybit":
        assert spent["creates"] == spent["cancels"] == 0, spent
    else:
        assert spent["amends"] == 0, spent
    assert v["unprotected"]["coverage_lost_total_ms"] == 0
    assert {d["backend"] for d in v["durability"]} == {"sqlite", "postgres"}
    for d in v["durability"]:
        assert d["venue"] == name
        # The first trial counts its kill from the first acknowledged open.
        assert d["acknowledged"] > 0 and d["lost"] == 0 and not d["unsettled"], d
        assert d["found"] == d["acknowledged"] and d["not_refused_as_duplicate"] == 0, d
        assert d["unclean_stops"] == [] and d["stop"]["n"] == d["trials"], d
    assert len(v["load_average"]) == 3


@pytest.mark.parametrize("args, message", [
    (["--symbols", "0,10"], "between 1 and"),
    (["--symbols", "ten"], "symbol counts like"),
    (["--duration-secs", "-1"], "must be > 0"),
    (["--store", "both"], "--store both applies to `bench store`"),
    (["--rtt-ms", "fast"], "like 0,20,60,150"),
    (["--rtt-ms", "0,-20"], "between 0 and 2000"),
    (["--rtt-ms", "0,5000"], "between 0 and 2000"),
    (["--stop-lag-rtt-ms", "20,60"], "give one round trip"),
    (["--open-burst", "-1"], "between 0 and"),
])
def test_bad_bench_arguments_are_refused_with_the_reason(args, message):
    r = subprocess.run([*POSGUARD, "bench", *args], cwd=REPO, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2
    assert message in r.stderr


def test_plot_without_matplotlib_is_refused_before_the_run(tmp_path):
    try:
        import matplotlib  # noqa: F401
        pytest.skip("matplotlib is installed here: the refusal cannot be observed")
    except ImportError:
        pass
    r = subprocess.run([*POSGUARD, "bench", "--plot", str(tmp_path / "x.png")], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "matplotlib" in r.stderr
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("venues", ["kraken", "bybit,bybit", ""])
def test_a_bad_venue_list_is_refused_naming_the_venues(venues):
    r = subprocess.run([*POSGUARD, "bench", "--venues", venues], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "binanceusdm, bybit" in r.stderr
