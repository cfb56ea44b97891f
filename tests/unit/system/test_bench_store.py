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


def test_contended_appends_through_the_store_writer_are_all_made_and_counted():
    from system.bench.store import bench_contended, format_contended
    direct = bench_contended("sqlite", writers=4, rounds=3)
    grouped = bench_contended("sqlite", writers=4, rounds=3, group_writer=True)
    assert (direct["backend"], grouped["backend"]) == ("sqlite", "sqlite+writer")
    assert direct["n"] == grouped["n"] == 12
    for r in (direct, grouped):
        assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]  # CPU: 10 ms ticks, 3 appends
    assert "sqlite+writer" in format_contended([direct, grouped])
