"""bench_store on the embedded backend (fast) and the table format."""

from __future__ import annotations

from system.bench.store import bench_store, format_bench_store


def test_bench_store_sqlite_reports_latency_and_rate():
    result = bench_store("sqlite", appends=30)
    assert result["backend"] == "sqlite" and result["n"] == 30 and result["cores"] >= 1
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["appends_per_sec"] > 0
    table = format_bench_store([result])
    assert table.splitlines()[0].split()[:2] == ["backend", "N"]
    assert "sqlite" in table.splitlines()[2]
