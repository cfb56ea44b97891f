"""`posguard bench`: it runs the real system end to end and reports every figure of issue 7.

Figures are measured, never asserted (a shared CI machine is noisy): these tests check that a
quick run produces every section with real samples, that its invariants hold (nothing lost,
no coverage lost), that it leaves no process behind, and that bad arguments are refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[3]
POSGUARD = [sys.executable, "-m", "system.cli"]


def _ours() -> set[int]:
    """Processes a bench could leave behind: actor systems and temp PostgreSQL servers."""
    out = set()
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(p.info.get("cmdline") or [])
        if "system.actor_system" in cmd or "posguard-pg-" in cmd:
            out.add(p.info["pid"])
    return out


@pytest.mark.timeout(300)
def test_a_quick_bench_measures_every_section_and_leaves_nothing_running(tmp_path):
    before = _ours()
    r = subprocess.run([*POSGUARD, "bench", "--quick", "--json"], cwd=REPO,
                       capture_output=True, text=True, timeout=280)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout)
    assert res["machine"]["cores"] >= 1
    assert res["floor"]["rest_round_trip"]["n"] == 300
    assert res["floor"]["user_stream"]["n"] > 0
    assert [lv["symbols"] for lv in res["levels"]] == [1, 10]
    for lv in res["levels"]:
        # Every symbol ticks once a second on a steady trend: each tick demands a move.
        assert lv["ticks"] >= lv["symbols"] * (res["options"]["duration_secs"] - 2)
        assert lv["reaction"]["n"] > 0 and lv["reaction"]["p50_ms"] > 0
        assert lv["reaction"]["p99_x_floor"] is not None
        assert lv["routing"]["n"] > 0 and lv["routing"]["p50_ms"] > 0
        assert lv["memory"]["symbol_actors"]["processes"] == lv["symbols"]
        assert lv["memory"]["symbol_actors"]["pss_mb_mean"] > 0
    assert res["levels"][-1]["burst"]["phase"] == "aligned"
    rec = res["recovery"]
    assert rec["trials"] == 3 and rec["reconciled"]["n"] == 3 and not rec["failures"]
    assert rec["seq_kept"] == 3
    assert res["cold_restart"]["positions"] == 10
    assert res["unprotected"]["coverage_lost_total_ms"] == 0
    assert {d["backend"] for d in res["durability"]} == {"sqlite", "postgres"}
    for d in res["durability"]:
        assert d["lost"] == 0 and d["found"] == d["acknowledged"] and not d["unsettled"]
        assert d["unclean_stops"] == [] and d["stop"]["n"] == d["trials"], d
    assert {s["backend"] for s in res["store_append"]} == {"sqlite", "postgres"}
    assert res["elapsed_secs"] < 120
    assert not _ours() - before, "the bench left processes running"


@pytest.mark.parametrize("args, message", [
    (["--symbols", "0,10"], "between 1 and"),
    (["--symbols", "ten"], "symbol counts like"),
    (["--duration-secs", "-1"], "must be > 0"),
    (["--store", "both"], "--store both applies to `bench store`"),
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
