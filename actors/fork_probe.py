"""Measurement only: what a forked actor process imports and dirties (issue 15, memory).

Installed by actors/forking.py when POSGUARD_FORK_PROBE=<dir> is set (system/bench/memprofile.py
sets it for the engine it starts; nothing else does). Every child forked afterwards, at its
first garbage collection PROBE_DELAY_SECS after the fork, writes <dir>/<pid>.json: the modules
it imported itself (compared with what it inherited), the small-object blocks and private
kB at the fork and then, and "milestones": its private kB the first time it unpickled each
class or opened its SQLite store. No thread and no timer: a thread's stack and malloc arena
(~0.3 MB, measured) would be counted in the very figure measured; nor gc.get_objects(),
which writes the reference count of every object (measured: private 9.7 -> 19.5 MB).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

PROBE_ENV = "POSGUARD_FORK_PROBE"
PROBE_DELAY_SECS = 8.0

_inherited: frozenset[str] = frozenset()
_at_fork: dict[str, float] = {}
_hooked: list[bool] = []
_milestones: list[tuple[str, int, int]] = []
_seen: set[str] = set()


def _probe_child() -> None:
    """In a freshly forked child: remember what it inherited, report what it adds later."""
    global _inherited
    _inherited = frozenset(sys.modules)
    _at_fork.update(blocks=sys.getallocatedblocks(), private_kb=_private_kb(),
                    at=time.monotonic())
    _milestones.clear()  # a grandchild inherits its parent's (the supervisor's) records
    _seen.clear()
    if _probe_on_gc not in gc.callbacks:
        gc.callbacks.append(_probe_on_gc)
    if not _hooked:
        _hooked.append(True)
        sys.addaudithook(_probe_audit)  # inherited by later forks; cannot be removed


def _probe_audit(event: str, args: tuple) -> None:
    """Private kB (and ms since the fork) the first time the child unpickles each class or
    opens its SQLite store: where in its start the private pages appear."""
    if event == "pickle.find_class":
        name = f"{args[0]}.{args[1]}"
    elif event == "sqlite3.connect":
        name = "sqlite3.connect"
    else:
        return
    if name in _seen or len(_seen) > 60:
        return
    _seen.add(name)
    _milestones.append((name, int((time.monotonic() - _at_fork["at"]) * 1000),
                        _private_kb()))


def _probe_on_gc(phase: str, info: dict) -> None:
    """Dump once, from the first collection PROBE_DELAY_SECS after the fork.

    A collection, not a timer: a thread would add its stack and a malloc arena (~0.3 MB,
    measured) to the very figure being measured.
    """
    if phase != "stop" or time.monotonic() - _at_fork["at"] < PROBE_DELAY_SECS:
        return
    gc.callbacks.remove(_probe_on_gc)
    _probe_dump()


def _probe_dump() -> None:
    folder = os.environ.get(PROBE_ENV)
    if not folder:
        return
    after = sorted(set(sys.modules) - _inherited)
    path = os.path.join(folder, f"{os.getpid()}.json")
    with open(path + ".tmp", "w") as fh:
        json.dump({"pid": os.getpid(), "ppid": os.getppid(), "inherited": len(_inherited),
                   "imported_after_fork": after, "gc_frozen": gc.get_freeze_count(),
                   "gc_counts": gc.get_count(),
                   "blocks_at_fork": _at_fork.get("blocks"), "blocks": sys.getallocatedblocks(),
                   "private_kb_at_fork": _at_fork.get("private_kb"),
                   "private_kb": _private_kb(), "milestones": _milestones}, fh)
    os.replace(path + ".tmp", path)


def _private_kb() -> int:
    with open("/proc/self/smaps_rollup") as fh:
        return sum(int(line.split()[1]) for line in fh if line.startswith("Private_"))


def install() -> None:
    """Probe every child this process forks from now on (actors/forking.py calls it)."""
    os.register_at_fork(after_in_child=_probe_child)
