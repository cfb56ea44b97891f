"""`posguard bench store`: durable append latency and throughput per backend.

Each append is one full, durable transaction (journal row + snapshot upsert, committed
with synchronous=FULL / synchronous_commit=on) from a single writer, as a symbol actor
does it: no batching, so appends/s is 1000 / mean latency, not a parallel throughput.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from types import SimpleNamespace

from persistence.factory import attach, open_instance
from system.clock import SystemClock


def bench_store(backend: str, *, appends: int = 500, dsn: str | None = None) -> dict:
    """Measure `appends` durable appends on `backend` ('sqlite' | 'postgres').

    PostgreSQL with dsn=None starts (and afterwards stops) a PgTempServer; SQLite uses a
    temp dir. Returns backend, n, p50_ms, p99_ms, max_ms, appends_per_sec, cores.
    """
    server = None
    tmp = tempfile.mkdtemp(prefix="posguard-bench-")
    try:
        if backend == "postgres" and dsn is None:
            from persistence.pg_tempserver import PgTempServer

            server = PgTempServer().start()
            dsn = server.dsn()
        cfg = SimpleNamespace(backend=backend, sqlite_path=os.path.join(tmp, "bench.sqlite3"),
                              postgres_dsn=dsn)
        return _measure(cfg, appends)
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def _measure(cfg: SimpleNamespace, appends: int) -> dict:
    clock = SystemClock()
    lock, holder = open_instance(cfg, clock)
    store = attach(cfg, holder.epoch, clock)
    symbol = f"BENCH{os.getpid()}{time.time_ns() % 10**6}"  # fresh on a shared database
    state = {"state": "PROTECTED", "qty": "0.010", "entry_price": "64000.5",
             "stop_price": "62720.4", "trailing_active": True, "peak_price": "65010.0",
             "stop_order_id": "pg-1-BTCUSDT-stop-17"}
    latencies = []
    try:
        started = time.perf_counter()
        for seq in range(appends):
            t0 = time.perf_counter()
            store.append(symbol, expected_seq=seq, kind="stop_moved",
                         payload={"stop_price": "62720.4", "seq": seq}, state=state,
                         live=True, correlation_id=f"bench-{seq}")
            latencies.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
    finally:
        store.close()
        lock.release()
    ordered = sorted(latencies)
    return {
        "backend": cfg.backend,
        "n": appends,
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "max_ms": round(ordered[-1], 3),
        "appends_per_sec": round(appends / elapsed, 1),
        "cores": os.cpu_count(),
    }


def format_bench_store(results: list[dict]) -> str:
    """A plain-text table of bench_store() results."""
    head = f"{'backend':<10} {'N':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} " \
           f"{'appends/s':>10} {'cores':>5}"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r['backend']:<10} {r['n']:>6} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} "
                     f"{r['max_ms']:>8.3f} {r['appends_per_sec']:>10.1f} {r['cores']:>5}")
    lines.append("durable single-writer appends: journal row + snapshot upsert per commit")
    return "\n".join(lines)
