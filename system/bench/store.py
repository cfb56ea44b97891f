"""`posguard bench store`: durable append latency and throughput per backend.

Each append is one full, durable transaction (journal row + snapshot upsert, committed
with synchronous=FULL / synchronous_commit=on) from a single writer, as a symbol actor
does it: no batching, so appends/s is 1000 / mean latency, not a parallel throughput.

bench_contended: `writers` processes (spawned: fresh interpreters, as each symbol actor is
its own process) append to one store at the same instants, `rounds` times: what 100 symbol
actors committing the same aligned tick cost, in wait (p50 / p99 per append) and in CPU
(user + system of the writers, per append). On SQLite twice: each process committing its
own appends ("sqlite"), and through the store's writer process as `posguard run` starts it
("sqlite+writer", persistence/writer_process.py; its CPU counted in).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from persistence.factory import attach, open_instance
from system.clock import SystemClock


def bench_store(backend: str, *, appends: int = 500, dsn: str | None = None) -> dict:
    """Measure `appends` durable appends on `backend` ('sqlite' | 'postgres').

    PostgreSQL with dsn=None starts (and afterwards stops) a PgTempServer; SQLite uses a
    temp dir. Returns backend, n, p50_ms, p99_ms, max_ms, appends_per_sec, cores.
    """
    with _store_settings(backend, dsn) as cfg:
        return _measure(cfg, appends)


@contextlib.contextmanager
def _store_settings(backend: str, dsn: str | None) -> Iterator[SimpleNamespace]:
    """The store settings of one measurement: a temp dir for SQLite, and for PostgreSQL with
    dsn=None a PgTempServer of its own; both removed afterwards."""
    server = None
    tmp = tempfile.mkdtemp(prefix="posguard-bench-")
    try:
        if backend == "postgres" and dsn is None:
            from persistence.pg_tempserver import PgTempServer

            server = PgTempServer().start()
            dsn = server.dsn()
        yield SimpleNamespace(backend=backend, sqlite_path=os.path.join(tmp, "bench.sqlite3"),
                              postgres_dsn=dsn)
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


CONTENDED_ROUND_SECS = 0.5
"""Between two aligned rounds: long enough for 100 appends to drain on a slow disk."""


def bench_contended(backend: str, *, writers: int = 100, rounds: int = 10,
                    dsn: str | None = None, timeout_secs: float = 120.0,
                    group_writer: bool = False) -> dict:
    """`writers` processes append once each at the same instant, `rounds` times (module);
    with `group_writer` (SQLite) through the store's writer process.

    Returns backend, writers, rounds, n, p50_ms, p99_ms, max_ms, cpu_ms_per_append."""
    ctx = multiprocessing.get_context("spawn")
    procs: list[Any] = []
    writer = None
    with _store_settings(backend, dsn) as cfg:
        cfg.sqlite_writer = group_writer
        lock, holder = open_instance(cfg, SystemClock())
        if group_writer:
            from persistence import writer_process
            writer = writer_process.spawn(cfg.sqlite_path, 5000, _raise)
        ready, results = ctx.Queue(), ctx.Queue()
        start = ctx.Value("d", 0.0)
        go, finish = ctx.Event(), ctx.Event()
        try:
            procs = [ctx.Process(target=_contend, args=(cfg, holder.epoch, i, rounds, ready,
                                                       go, start, results, finish),
                                 daemon=True)
                     for i in range(writers)]
            for p in procs:
                p.start()
            deadline = time.monotonic() + timeout_secs
            try:
                for _ in procs:
                    ready.get(timeout=max(deadline - time.monotonic(), 0.1))
                start.value = time.time() + 0.2
                writer_cpu = _cpu_secs(writer)
                go.set()
                got = [results.get(timeout=max(deadline - time.monotonic(), 0.1))
                       for _ in procs]
                writer_cpu = _cpu_secs(writer) - writer_cpu
                finish.set()  # only now may they exit: 100 exiting interpreters starve the rest
            except queue.Empty:
                raise RuntimeError(f"contended appends on {backend}: the {writers} writers "
                                   f"did not finish within {timeout_secs:.0f} s") from None
        finally:
            finish.set()  # a writer still waiting (an error, a timeout) exits now
            lock.release()
            if writer is not None:
                from persistence import writer_process
                writer_process.end(writer, _raise)
            for p in procs:
                if p.pid is None:
                    continue  # never started
                p.join(timeout=5)
                if p.is_alive():
                    p.kill()
                    p.join(timeout=5)
    failed = [g for g in got if isinstance(g, str)]
    if failed:
        raise RuntimeError(f"{len(failed)} of {writers} writers failed: {failed[0]}")
    lat = sorted(ms for g in got for ms in g[0])
    cpu = sum(g[1] for g in got) + writer_cpu
    return {"backend": backend + ("+writer" if group_writer else ""), "writers": writers,
            "rounds": rounds, "n": len(lat),
            "p50_ms": round(statistics.median(lat), 3),
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 3),
            "max_ms": round(lat[-1], 3),
            "cpu_ms_per_append": round(cpu * 1000 / len(lat), 3)}


def _raise(message: str) -> None:
    """The writer process's complaints: a measurement without it would be the other one."""
    raise RuntimeError(message)


def _cpu_secs(proc: Any) -> float:
    """A child's CPU seconds so far (0 without one)."""
    if proc is None:
        return 0.0
    import psutil
    t = psutil.Process(proc.pid).cpu_times()
    return t.user + t.system


def _contend(cfg: SimpleNamespace, epoch: int, i: int, rounds: int, ready: Any, go: Any,
             start: Any, results: Any, finish: Any) -> None:
    """One writer (a spawned process): its latencies and CPU seconds, or its error; then it
    waits for `finish` with its store open (a writer that closes or exits while the others
    still append takes their CPU, and a closing connection may checkpoint the WAL)."""
    try:
        store = attach(cfg, epoch, SystemClock())
        state = {"state": "PROTECTED", "qty": "0.010", "stop_price": "62720.4",
                 "peak_price": "65010.0", "stop_order_id": f"pg-1-S{i}-stop-17"}
        ready.put(i)
        go.wait(60)
        cpu0 = os.times()
        lat = []
        for r in range(rounds):
            pause = start.value + r * CONTENDED_ROUND_SECS - time.time()
            if pause > 0:
                time.sleep(pause)
            t0 = time.perf_counter()
            store.append(f"S{i}", expected_seq=r, kind="stop_moved", payload={"r": r},
                         state=state, live=True, correlation_id=f"c-{r}")
            lat.append((time.perf_counter() - t0) * 1000)
        cpu1 = os.times()
        if cfg.sqlite_writer and getattr(store, "through_writer", rounds) != rounds:
            raise RuntimeError(f"only {store.through_writer} of {rounds} appends reached the "
                               "store's writer")
        results.put((lat, (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)))
        finish.wait(60)
        store.close()
    except Exception as e:  # reported by the parent, which names it
        results.put(f"writer {i}: {type(e).__name__}: {e}")


def format_contended(results: list[dict]) -> str:
    """A plain-text table of bench_contended() results."""
    head = f"{'backend':<10} {'writers':>7} {'N':>6} {'p50 ms':>8} {'p99 ms':>8} " \
           f"{'max ms':>8} {'CPU ms/append':>13}"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(f"{r['backend']:<10} {r['writers']:>7} {r['n']:>6} {r['p50_ms']:>8.3f} "
                     f"{r['p99_ms']:>8.3f} {r['max_ms']:>8.3f} {r['cpu_ms_per_append']:>13.3f}")
    lines.append("contended appends: every writer a process, all appending at the same "
                 "instant (one aligned tick's commits); +writer: through the store's writer "
                 "process, its CPU included")
    return "\n".join(lines)


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
