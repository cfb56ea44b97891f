"""What `posguard run` prints on its terminal: the banner and the live one-line status."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any

from actors.messages import SupervisorStatus


def banner(k: Any) -> str:
    """The first line `posguard run` prints: what runs and where (each account's exchange
    when there are several)."""
    runs = list(k.runs.values())
    if len(runs) == 1:
        where = runs[0].exchange_url or runs[0].ex.name
    else:
        where = ", ".join(f"{r.name} {r.ex.name} {r.exchange_url or r.ex.venue}" for r in runs)
    a = k.config.actor_system
    return (f"posguard {k.config.mode} | epoch {k.holder.epoch} | exchange {where} | store "
            f"{k.config.store.backend} | admin {a.admin_address}:{a.admin_port} | actor log "
            f"{a.log_file}")


def status_line(st: SupervisorStatus, supervisor_restarts: int = 0) -> str:
    """The live one-line status: symbols, protection, restarts, streams."""
    symbols = [e for e in st.actors if e.kind == "symbol"]
    count = {name: sum(1 for e in symbols if e.state in states) for name, states in (
        ("protected", ("PROTECTED", "MOVING_STOP")),
        ("in flight", ("OPENING", "CLOSING", "RECONCILING", "STARTING", "RESTARTING")),
        ("quarantined", ("QUARANTINED",)))}
    naked = sorted(e.symbol or "?" for e in symbols if e.state == "OPEN_UNPROTECTED"
                   or (e.view is not None and e.view.unprotected))
    restarts = sum(e.restarts for e in st.actors) + supervisor_restarts
    streams = " | ".join(
        f"{x.kind} stream {x.state}" + (f" ({x.subscriptions} subs)" if x.kind == "market"
                                        else "")
        for x in sorted(st.streams, key=lambda x: x.kind, reverse=True)) or "no streams"
    parts = [f"symbols {len(symbols)}", *(f"{k} {v}" for k, v in count.items()),
             f"restarts {restarts}", streams]
    parts.insert(2, _unprotected(naked))
    if st.stopping:
        parts.append("SHUTTING DOWN")
    return " | ".join(parts)


def status_lines(statuses: Mapping[str, SupervisorStatus],
                 supervisor_restarts: Mapping[str, int]) -> str:
    """The live status of every account: one account as before, several each named."""
    if len(statuses) == 1:
        ((name, st),) = statuses.items()
        return status_line(st, supervisor_restarts.get(name, 0))
    return " || ".join(f"{name}: {status_line(st, supervisor_restarts.get(name, 0))}"
                       for name, st in statuses.items())


def _unprotected(symbols: list[str]) -> str:
    """'unprotected 0', or UNPROTECTED in capitals with the symbols (a position with no stop
    of ours resting, whatever its state: OPEN_UNPROTECTED, QUARANTINED, ...)."""
    if not symbols:
        return "unprotected 0"
    names = ", ".join(symbols[:UNPROTECTED_NAMED]) + (", ..." if len(symbols) > UNPROTECTED_NAMED
                                                      else "")
    return f"UNPROTECTED {len(symbols)} ({names})"


UNPROTECTED_NAMED = 5
"""Symbols the status line names; `posguard status` lists every one."""


class Line:
    """Prints the status line: rewritten in place on a terminal, on change otherwise."""

    def __init__(self) -> None:
        self.last = ""
        self.tty = sys.stdout.isatty()

    def show(self, line: str) -> None:
        if line == self.last:
            return
        self.last = line
        if self.tty:
            sys.stdout.write("\r\x1b[K" + line)
        else:
            sys.stdout.write(time.strftime("%H:%M:%S ") + line + "\n")
        sys.stdout.flush()

    def note(self, text: str) -> None:
        """A line of its own (start progress), above the status line on a terminal."""
        if self.tty:
            sys.stdout.write("\r\x1b[K" + text + "\n" + self.last)
        else:
            sys.stdout.write(time.strftime("%H:%M:%S ") + text + "\n")
        sys.stdout.flush()
