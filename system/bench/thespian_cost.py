"""CPU of one Thespian message, by how many idle connections the receiving actor holds.

An Echo actor answers pings from a Pinger one at a time; before the run, `--idle` other
actors each send the Echo one message, so it holds that many kept-open connections, as the
pool, the supervisor and the user stream hold one per symbol actor. Printed per ping and
answer (two messages): the Echo's CPU (one receive and one send, with every pass of its loop
over its connections) and the Pinger's. On the project's actor system (system/actor_system.py:
its selector and idle-connection patches included).

Run: `.venv/bin/python -m system.bench.thespian_cost [--idle 0,100] [--pings 2000] [--runs 3]`.
"""

from __future__ import annotations

import argparse
import sys

from thespian.actors import ActorExitRequest

from system import actor_system
from system.bench.ping_actors import CpuQuery, Pings, Poke
from system.launched import free_port

ASK_SECS = 120.0


def one_run(asys: object, idle: int, pings: int) -> tuple[float, float, float]:
    """(wall, echo CPU, pinger CPU) per ping and answer, in ms."""
    echo = asys.createActor("system.bench.ping_actors.Echo")
    pinger = asys.createActor("system.bench.ping_actors.Pinger")
    others = [asys.createActor("system.bench.ping_actors.Pinger") for _ in range(idle)]
    for other in others:
        if asys.ask(other, Poke(echo), ASK_SECS) != "poked":
            raise RuntimeError("an idle-connection actor did not answer")
    asys.ask(pinger, Pings(100, echo), ASK_SECS)  # warm up: connections open
    before = asys.ask(echo, CpuQuery(), ASK_SECS)
    result = asys.ask(pinger, Pings(pings, echo), ASK_SECS)
    after = asys.ask(echo, CpuQuery(), ASK_SECS)
    if not isinstance(result, tuple) or before is None or after is None:
        raise RuntimeError(f"the probe's actors did not answer: {result!r}")
    for addr in (echo, pinger, *others):
        asys.tell(addr, ActorExitRequest())
    wall, pinger_cpu = result
    return (wall / pings * 1e3, (after - before) / pings * 1e3, pinger_cpu / pings * 1e3)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m system.bench.thespian_cost")
    p.add_argument("--idle", default="0,100", help="idle connections of the echo, e.g. 0,100")
    p.add_argument("--pings", type=int, default=2000)
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args(argv)
    try:
        idles = [int(n) for n in a.idle.split(",")]
    except ValueError:
        p.error(f"--idle {a.idle!r}: a comma-separated list of integers, e.g. 0,100")
    if a.pings < 1 or a.runs < 1 or any(n < 0 or n > 500 for n in idles):
        p.error("--pings and --runs must be >= 1 and each --idle count 0..500")
    port = free_port()
    actor_system.start("127.0.0.1", port)
    try:
        asys = actor_system.connect("127.0.0.1", port)
        print(f"{'idle':>5} {'run':>4} {'wall ms':>8} {'echo CPU ms':>12} {'pinger CPU ms':>14}"
              "   (per ping and answer)")
        for idle in idles:
            for run in range(1, a.runs + 1):
                wall, echo, pinger = one_run(asys, idle, a.pings)
                print(f"{idle:>5} {run:>4} {wall:>8.3f} {echo:>12.3f} {pinger:>14.3f}",
                      flush=True)
    finally:
        actor_system.shutdown("127.0.0.1", port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
