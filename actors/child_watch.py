"""Child processes that died without Thespian's exit notice.

Thespian learns of a child's death from SIGCHLD and then checks every child; signals that
arrive together are merged, and when several children die at once one of them can be missed
(measured: all 8 market shards SIGKILLed at once, 7 notices arrived and 1 never did). The
missed child stays listed, and nothing replaces it: a shard's symbols get no marks, so their
stops stop trailing.

So the supervisor checks, on its housekeeping timer, the pid of each child it knows: a pid
that is gone, a zombie, or no longer its child for `grace_secs` (longer than Thespian's own
notice takes, 2-4 ms in THESPIAN.md) is handled as exited. Only a pid seen dead is ever
declared dead, so a live child is never replaced twice over.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

GRACE_SECS = 2.0
"""How long a child must be seen dead before its missing exit notice is made up."""


def process_gone(pid: int, parent: int | None = None) -> bool:
    """Whether `pid` is no longer a live child of `parent` (default: this process).

    Gone: no such process, a zombie (dead, not yet reaped), or a process whose parent is
    someone else (the pid was reused). Where /proc cannot be read, only a missing process
    counts as gone.
    """
    parent = os.getpid() if parent is None else parent
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except FileNotFoundError:
        return True
    except OSError:
        return _missing(pid)
    fields = stat.rpartition(")")[2].split()  # the name, in (), may hold spaces
    if len(fields) < 2:
        return _missing(pid)
    state, ppid = fields[0], fields[1]
    return state in ("Z", "X", "x") or not ppid.isdigit() or int(ppid) != parent


def _missing(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # exists, but not ours to signal
    return False


@dataclass
class LostExits:
    """Which watched children have been seen dead for longer than the grace."""

    grace_secs: float = GRACE_SECS
    seen_dead: dict[int, float] = field(default_factory=dict)
    """pid -> when it was first seen dead."""

    def due(self, watched: Iterable[tuple[int, Any]], now: float,
            gone: Any = process_gone) -> list[tuple[int, Any]]:
        """(pid, address) of each watched child dead for `grace_secs` or longer.

        A pid no longer watched (its notice came, or it was replaced) is forgotten; a pid is
        returned once, and forgotten then too.
        """
        watched = dict(watched)
        self.seen_dead = {p: t for p, t in self.seen_dead.items() if p in watched}
        out = []
        for pid, address in watched.items():
            if not gone(pid):
                self.seen_dead.pop(pid, None)
                continue
            first = self.seen_dead.setdefault(pid, now)
            if now - first >= self.grace_secs:
                out.append((pid, address))
                del self.seen_dead[pid]
        return out
