"""Preparing the supervisor to fork a symbol actor, so the child shares its pages.

Thespian's multiprocTCPBase forks every child from the process of the actor that creates
it: symbol actors are forked from the supervisor. A forked child shares every page with its
parent until one of the two writes to it, and CPython writes to objects it only reads: a
reference count changes on every use, and a collection of the oldest generation writes the
GC header of every tracked object, on nearly every page of the inherited heap (measured by
touching every object once in each child: private 9.7 -> 19.5 MB per actor). The parent's
own full collections do the same from its side: the child keeps the old copy, privately.

prepare_fork() runs just before each createActor of a symbol actor (actors/supervisor_children.py):
- "imports": what a symbol actor would otherwise import after its fork (each child would get
  its own copy of those modules). Today the supervisor has imported all of them already (it
  opens the store in _recover); the list keeps it so (tests/unit/actors/test_forking.py);
- "collect": gc.collect(), so no cyclic garbage is frozen for good in the supervisor. Only the
  objects made since the previous freeze are visited (~30 ms the first time, then well under
  a few ms); measured: no difference in the children's PSS;
- "freeze": gc.freeze() moves every object of the supervisor into the permanent generation,
  which no collection visits, in the supervisor and in the child (it inherits it): neither
  process's collections write the shared pages any more. Freed by reference count as before.
Measured at 100 symbols (system/bench/memprofile.py): see the README's memory notes.

POSGUARD_FORK_PREP (measurement only: memprofile's --prep) names the steps to run,
comma-separated; unset means all. POSGUARD_FORK_PROBE=<dir> (measurement only) installs
actors/fork_probe.py in this process.
"""

from __future__ import annotations

import gc
import importlib
import os

STEPS = ("imports", "collect", "freeze")
PREP_ENV = "POSGUARD_FORK_PREP"
PROBE_ENV = "POSGUARD_FORK_PROBE"

AFTER_FORK_IMPORTS = (
    # What a symbol actor imported after its fork (memprofile's probe, thespian 4.0.1, the
    # SQLite store): the store it opens, its codec, and the stdlib they need.
    "persistence.store",
    "persistence.factory",
    "persistence.codec",
    "persistence.outbox",
    "persistence.migrate",
    "persistence.sqlite",
    "sqlite3",
    "msgpack",
    "random",
)
"""Imported once in the parent (the supervisor), before its first symbol actor is forked."""

_imported = False


def steps() -> tuple[str, ...]:
    """The preparation steps to run (all, unless the measurement knob names fewer)."""
    raw = os.environ.get(PREP_ENV)
    if raw is None:
        return STEPS
    return tuple(s for s in (p.strip() for p in raw.split(",")) if s in STEPS)


def prepare_fork() -> None:
    """Make the next fork share as much as it can with this process (module docstring)."""
    todo = steps()
    if "imports" in todo:
        preimport()
    if "collect" in todo:
        gc.collect()
    if "freeze" in todo:
        gc.freeze()


def preimport(names: tuple[str, ...] = AFTER_FORK_IMPORTS) -> None:
    """Import `names` once; a module that fails to import is left to fail in the child."""
    global _imported
    if _imported:
        return
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    _imported = True


if os.environ.get(PROBE_ENV):
    from actors import fork_probe
    fork_probe.install()
