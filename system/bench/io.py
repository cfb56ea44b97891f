"""I/O bench (issue 15): how many exchange requests can be in flight, and what each costs.

`python -m system.bench.io [--rtt-ms 20,60,150] [--moves 50] [--rounds 4] [--hop 400]`

At each simulated round trip (the simulator's latency model, system/sim/latency.py; the
simulator runs in its own process so the CPU figures are the client's alone), `moves`
concurrent stop moves (place a STOP_MARKET, then cancel it) go through:
- sync4: four blocking ccxt clients on four threads (the exchange workers before issue 15);
- async: one ccxt.async_support client on one event loop (what one worker runs now).
Per move: p50/p99 from the batch's start to its cancel's reply (the floor is 2 x RTT);
requests/s over the run; CPU ms per request (time.process_time of the bench process).

The actor hop: `hop` lookups at RTT 0 through the real pool (multiprocTCPBase, loopback),
with one worker process (workers1) and with the I/O on the pool's own loop (workers0), one
at a time and 50 at a time, against the same lookups done by the async gateway in this
process (in_process). What the actors cost is the difference: ms per request and the CPU of
the pool's and worker's processes per request (/proc/<pid>/stat; the driver's not counted).
The hop itself is workers1 minus workers0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import queue
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

from system.sim.latency import Latency
from system.sim.settings import SimSettings, unthrottled
from venue.requests import CancelStop, LookupOrder, PlaceStop

SYMBOLS = ("BTCUSDT",)
"""One symbol: the stops differ by client id (0.010 is below other markets' minimum qty)."""


# --------------------------------------------------------------------------- the simulator

def _serve(rtt_ms: float, conn: Any) -> None:
    from system.sim.server import SimServer
    settings = unthrottled(SimSettings(walk_interval_ms=3_600_000,
                                       latency=Latency(rest_rtt_ms=rtt_ms)))
    server = SimServer(settings)
    server.start()
    conn.send((server.url, settings.api_key, settings.api_secret))
    conn.recv()  # until told to stop
    server.stop()


@contextmanager
def simulator(rtt_ms: float) -> Iterator[tuple[str, str, str]]:
    """A simulator in its own process at `rtt_ms`: (url, key, secret)."""
    ctx = mp.get_context("spawn")
    here, there = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(rtt_ms, there), daemon=True)
    proc.start()
    try:
        if not here.poll(30):
            raise RuntimeError("the simulator did not start")
        yield here.recv()
    finally:
        here.send("stop")
        proc.join(10)
        if proc.is_alive():
            proc.kill()


# --------------------------------------------------------------------------- figures

def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))] if s else float("nan")


def _figures(latencies: list[float], requests: int, wall: float, cpu: float,
             failures: int) -> dict[str, Any]:
    return {"n": len(latencies), "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(_pct(latencies, 0.99), 1), "requests_per_s": round(requests / wall),
            "cpu_ms_per_request": round(cpu * 1000 / requests, 3), "failures": failures}


def _stop(symbol: str, cid: str) -> PlaceStop:
    return PlaceStop(symbol, "SELL", Decimal("0.010"), cid, "STOP_MARKET", Decimal("1000"),
                     "CONTRACT_PRICE")


def _moves(moves: int, rounds: int) -> list[list[tuple[str, str]]]:
    return [[(SYMBOLS[i % len(SYMBOLS)], f"pg-1-{SYMBOLS[i % len(SYMBOLS)]}-sl-{r}{i:03d}")
             for i in range(moves)] for r in range(rounds)]


# --------------------------------------------------------------------------- sync x4

def sync_moves(sim: tuple[str, str, str], moves: int, rounds: int,
               clients: int = 4) -> dict[str, Any]:
    """Batches of `moves` moves through `clients` blocking clients on their own threads."""
    from venue.interface import ExchangeError
    from venues.binance.gateway import Gateway, build_client
    url, key, secret = sim
    gws = [Gateway(build_client(venue="simulator", base_url=url, api_key=key, secret=secret,
                                timeout_ms=30_000)) for _ in range(clients)]
    for gw in gws:
        gw.warm_up()
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def run(gw: Any, work: queue.Queue, t0: float) -> None:
        nonlocal failures
        while True:
            try:
                symbol, cid = work.get_nowait()
            except queue.Empty:
                return
            try:
                gw.begin_call()
                placed = gw.execute(_stop(symbol, cid))
                gw.begin_call()
                gw.execute(CancelStop(symbol, placed.order_id, cid))
            except ExchangeError:
                with lock:
                    failures += 1
            with lock:
                latencies.append((time.perf_counter() - t0) * 1000)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    for batch in _moves(moves, rounds):
        work: queue.Queue = queue.Queue()
        for m in batch:
            work.put(m)
        t0 = time.perf_counter()
        threads = [threading.Thread(target=run, args=(gw, work, t0)) for gw in gws]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return _figures(latencies, 2 * moves * rounds, wall, cpu, failures)


# --------------------------------------------------------------------------- async

def async_moves(sim: tuple[str, str, str], moves: int, rounds: int) -> dict[str, Any]:
    """Batches of `moves` moves, all at once, through one async client on one loop."""
    return asyncio.run(_async_moves(sim, moves, rounds))


async def _async_moves(sim: tuple[str, str, str], moves: int, rounds: int) -> dict[str, Any]:
    from venues.binance.async_gateway import open_async_gateway
    url, key, secret = sim
    gw = await open_async_gateway(venue="simulator", base_url=url, api_key=key, secret=secret,
                                  timeout_ms=30_000)
    await gw.warm_up()
    latencies: list[float] = []
    failures = 0

    async def move(symbol: str, cid: str, t0: float) -> None:
        nonlocal failures
        placed = await gw.run(_stop(symbol, cid))
        if placed.failure is None:
            cancelled = await gw.run(CancelStop(symbol, placed.result.order_id, cid))
            failures += cancelled.failure is not None
        else:
            failures += 1
        latencies.append((time.perf_counter() - t0) * 1000)

    try:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for batch in _moves(moves, rounds):
            t0 = time.perf_counter()
            await asyncio.gather(*(move(s, c, t0) for s, c in batch))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        await gw.close()
    return _figures(latencies, 2 * moves * rounds, wall, cpu, failures)


async def _async_lookups(sim: tuple[str, str, str], n: int, concurrency: int) -> dict[str, Any]:
    from venues.binance.async_gateway import open_async_gateway
    url, key, secret = sim
    gw = await open_async_gateway(venue="simulator", base_url=url, api_key=key, secret=secret,
                                  timeout_ms=30_000)
    await gw.warm_up()
    latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            t0 = time.perf_counter()
            await gw.run(LookupOrder("BTCUSDT", f"pg-9-BTCUSDT-io-{i}", algo=False))
            latencies.append((time.perf_counter() - t0) * 1000)

    try:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        await gw.close()
    return _figures(latencies, n, wall, cpu, 0)


# --------------------------------------------------------------------------- the actor hop

def _cpu_secs(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def actor_lookups(sim: tuple[str, str, str], n: int, concurrencies: tuple[int, ...],
                  workers: int = 1) -> dict[str, dict[str, Any]]:
    """`n` lookups through the real pool and `workers` workers (0: the I/O in the pool's
    own process, actors/pool_io.py), at each concurrency."""
    from actors.messages import ExchangeSettings, PoolInit
    from system import actor_system
    from system.bench.io_actors import DriveIo, IoDriver, IoSeen, SeeIo, StartIo
    from system.launched import free_port
    from system.processes import kill, system_pids
    from venues.binance import BinanceUsdm
    url, key, secret = sim
    port = free_port()
    actor_system.start("127.0.0.1", port)
    ask = timedelta(seconds=10)
    out: dict[str, dict[str, Any]] = {}
    try:
        asys = actor_system.connect("127.0.0.1", port)
        driver = asys.createActor(IoDriver)
        settings = ExchangeSettings(url, "simulator", key, secret, "UNUSED", "UNUSED", 30_000,
                                    venue=BinanceUsdm(), max_in_flight=64)
        asys.ask(driver, StartIo(PoolInit(settings, workers, 300, 1200)), ask)
        seen = _poll(asys, driver, SeeIo(), lambda s: s.ready and len(s.pids) >= 1 + workers,
                     60)
        pids = [pid for _, pid in seen.pids]
        for c in concurrencies:
            each0 = {p: _cpu_secs(p) for p in pids}
            cpu0 = sum(each0.values())
            asys.ask(driver, DriveIo(n, c), ask)
            seen = _poll(asys, driver, SeeIo(), lambda s: s.done >= n and s.wall_secs > 0, 120)
            cpu = sum(_cpu_secs(p) for p in pids) - cpu0
            assert isinstance(seen, IoSeen)
            out[f"workers{workers}_c{c}"] = _figures(list(seen.latencies_ms), n, seen.wall_secs, cpu,
                                           seen.failures)
            out[f"workers{workers}_c{c}"]["cpu_ms_per_request_by_process"] = {
                kind: round((_cpu_secs(pid) - each0[pid]) * 1000 / n, 3)
                for kind, pid in seen.pids}
    finally:
        try:
            actor_system.shutdown("127.0.0.1", port, timeout_secs=10)
        finally:
            for pid in system_pids("127.0.0.1", port):
                kill(pid)
    return out


def _poll(asys: Any, addr: Any, msg: Any, pred: Any, timeout_secs: float) -> Any:
    deadline = time.monotonic() + timeout_secs
    while True:
        seen = asys.ask(addr, msg, timedelta(seconds=10))
        if seen is not None and pred(seen):
            return seen
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench: gave up waiting ({seen!r})")
        time.sleep(0.05)


# --------------------------------------------------------------------------- main

def run(rtts: list[float], moves: int, rounds: int, hop: int) -> dict[str, Any]:
    """Every figure, keyed by section."""
    result: dict[str, Any] = {"moves": moves, "rounds": rounds, "by_rtt": {}}
    for rtt in rtts:
        with simulator(rtt) as sim:
            result["by_rtt"][str(rtt)] = {"floor_ms": 2 * rtt,
                                          "sync4": sync_moves(sim, moves, rounds),
                                          "async": async_moves(sim, moves, rounds)}
    if hop:
        with simulator(0) as sim:
            section = {f"in_process_c{c}": asyncio.run(_async_lookups(sim, hop, c))
                       for c in (1, 50)}
            for workers in (1, 0):
                section.update(actor_lookups(sim, hop, (1, 50), workers))
        for c in (1, 50):
            b = section[f"in_process_c{c}"]
            for workers in (1, 0):
                a = section[f"workers{workers}_c{c}"]
                section[f"actors_over_bare_workers{workers}_c{c}"] = {
                    "ms_per_request_p50": round(a["p50_ms"] - b["p50_ms"], 3),
                    "cpu_ms_per_request": round(a["cpu_ms_per_request"]
                                                - b["cpu_ms_per_request"], 3)}
        result["hop"] = section
    return result


def _table(result: dict[str, Any]) -> str:
    lines = [f"{'RTT':>5} {'client':<7} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7} "
             f"{'CPU ms/req':>10}  (floor 2xRTT; {result['moves']} moves x {result['rounds']})"]
    for rtt, row in result["by_rtt"].items():
        for name in ("sync4", "async"):
            f = row[name]
            lines.append(f"{rtt:>5} {name:<7} {f['p50_ms']:>8} {f['p99_ms']:>8} "
                         f"{f['requests_per_s']:>7} {f['cpu_ms_per_request']:>10}"
                         + (f"  failures {f['failures']}" if f["failures"] else ""))
    if "hop" in result:
        lines.append("actor hop at RTT 0 (lookups):")
        for k, f in result["hop"].items():
            lines.append(f"  {k:<16} {json.dumps(f)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m system.bench.io", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rtt-ms", default="20,60,150")
    p.add_argument("--moves", type=int, default=50)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--hop", type=int, default=400, help="lookups per hop run (0: skip)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    result = run([float(x) for x in a.rtt_ms.split(",") if x], a.moves, a.rounds, a.hop)
    print(json.dumps(result, indent=1) if a.json else _table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
