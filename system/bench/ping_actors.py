"""The actors of the Thespian message-cost probe (system/bench/thespian_cost.py).

Their own module: Thespian pickles actor classes by reference, so the actor processes must be
able to import it.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from typing import Any

from thespian.actors import ActorTypeDispatcher


def cpu_secs() -> float:
    """This process's CPU time (user + system), in seconds."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@dataclass(frozen=True, slots=True)
class Ping:
    """One ping; the echo sends it back."""

    n: int
    payload: bytes = b"x" * 200


@dataclass(frozen=True, slots=True)
class Pings:
    """Ping `echo` `n` times, one at a time; answer with (wall secs, own CPU secs)."""

    n: int
    echo: Any


@dataclass(frozen=True, slots=True)
class Poke:
    """Send one ping to `target` (so that it keeps a connection from this actor)."""

    target: Any


@dataclass(frozen=True, slots=True)
class CpuQuery:
    """Answer with this actor's process CPU seconds."""


class Echo(ActorTypeDispatcher):
    """Sends every ping back; answers CPU queries."""

    def receiveMsg_Ping(self, msg: Ping, sender: Any) -> None:
        if msg.n >= 0:
            self.send(sender, msg)

    def receiveMsg_CpuQuery(self, msg: CpuQuery, sender: Any) -> None:
        self.send(sender, cpu_secs())


class Pinger(ActorTypeDispatcher):
    """Drives the pings (Pings) or pokes a target once (Poke)."""

    def receiveMsg_Pings(self, msg: Pings, sender: Any) -> None:
        self.run, self.client, self.left = msg, sender, msg.n
        self.started = (time.monotonic(), cpu_secs())
        self.send(msg.echo, Ping(0))

    def receiveMsg_Ping(self, msg: Ping, sender: Any) -> None:
        self.left -= 1
        if self.left > 0:
            self.send(self.run.echo, Ping(msg.n + 1))
        else:
            wall, cpu = self.started
            self.send(self.client, (time.monotonic() - wall, cpu_secs() - cpu))

    def receiveMsg_Poke(self, msg: Poke, sender: Any) -> None:
        self.send(msg.target, Ping(-1))
        self.send(sender, "poked")
