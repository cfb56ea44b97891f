"""Where a symbol actor's memory goes: `python -m system.bench.memprofile --symbols 20,100`.

Starts the bench's target (simulator + engine, system/bench/target.py), grows it to each
level of symbol actors (each opens a position and gets PROTECTED, as in the bench's scale
section, prices paused), lets it settle, then reports:
- per-actor PSS/USS/RSS (/proc/<pid>/smaps_rollup) and the supervisor's;
- in the median actor: the mapping groups that dominate (/proc/<pid>/smaps), its threads, and
  how much of its private memory is byte-identical in three siblings (/proc/<pid>/pagemap);
- what the actors forked earlier gained while the later ones were made (their parent's writes);
- from actors/fork_probe.py (enabled only by this tool, through POSGUARD_FORK_PROBE): the
  modules a symbol actor imported after its fork, and its private kB at the fork and at
  each "milestone" (the first time it unpickled each class, opened its store).

`--prep` sets POSGUARD_FORK_PREP (actors/forking.py) for the engine it starts: "" runs no
fork preparation, else a subset of "imports,collect,freeze" (unset: all). A measurement
tool, not a test: the 8 MB target of issue 15 is a bench figure. Needs to read other
processes' memory maps (same user or root).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from system.bench import memory

TOP = 8


def profile(config: str, levels: list[int], backend: str, prep: str | None,
            settle_secs: float, say: Any = print) -> dict:
    """Grow the engine level by level; the memory figures at each level (module docstring)."""
    from system.bench.target import Target, synthetic
    probe = Path(tempfile.mkdtemp(prefix="posguard-memprobe-"))
    os.environ["POSGUARD_FORK_PROBE"] = str(probe)
    if prep is None:
        os.environ.pop("POSGUARD_FORK_PREP", None)
    else:
        os.environ["POSGUARD_FORK_PREP"] = prep
    result: dict[str, Any] = {"backend": backend, "prep": prep, "levels": []}
    try:
        with Target(config, [], backend=backend, symbols=max(levels), progress=say) as t:
            t.start()
            active: list[str] = []
            earlier: dict[int, int] = {}
            for level in levels:
                new = synthetic(level)[len(active):]
                say(f"creating and opening {len(new)} symbol actors (level {level}) ...")
                t.pause(True)
                _create(t, new)
                _open(t, new)
                t.wait_protected(active + new, 60 + len(new) / 2)
                active += new
                time.sleep(settle_secs)
                result["levels"].append(_level(t, probe, earlier))
                earlier = result["levels"][-1].pop("uss_by_pid")
                say(json.dumps(result["levels"][-1]["symbol_actors"]))
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return result


def _create(t: Any, symbols: list[str], tries: int = 4) -> None:
    """Create the symbol actors and wait until each answers; asked again when an answer is
    lost or mixed up (on a loaded machine a late reply can complete the next ask)."""
    for sym in symbols:
        for attempt in range(tries):
            try:
                t.k.symbol(sym)
                break
            except Exception:  # noqa: BLE001 - retried; the last failure is raised
                if attempt == tries - 1:
                    raise
    deadline = time.monotonic() + 120 + len(symbols)
    pending = set(symbols)
    while pending and time.monotonic() < deadline:
        pending = {s for s in pending if t.k.view(s, 2.0) is None}
    if pending:
        raise RuntimeError(f"{len(pending)} symbol actors did not answer")


def _open(t: Any, symbols: list[str], tries: int = 4) -> None:
    """Open a long on each symbol; a lost answer (a loaded machine) is asked again with the
    same command id, which the symbol actor answers "duplicate" instead of opening twice."""
    import uuid
    from decimal import Decimal
    for sym in symbols:
        cid = f"memprofile-{uuid.uuid4().hex[:12]}"
        for _ in range(tries):
            r = t.k.open(sym, "long", Decimal("10"), cid)
            if r is not None:
                break
        if r is None or r.outcome not in ("accepted", "duplicate"):
            raise RuntimeError(f"open {sym}: {r.detail if r else 'no answer'}")


def _level(t: Any, probe: Path, earlier: dict[int, int]) -> dict:
    """`earlier`: USS (kB) by pid at the previous level, to see what idle actors gained."""
    pids = sorted(t.symbol_pids().values())
    st = t.k.status(5.0)
    out: dict[str, Any] = {"symbols": len(pids), "symbol_actors": memory.group(pids)}
    uss = {p: r["uss_kb"] for p in pids if (r := memory.read_kb(p)) is not None}
    out["uss_by_pid"] = uss
    old = [p for p in uss if p in earlier]
    if old:
        # Idle since the previous level: growth here is pages their parent (the supervisor)
        # wrote after their fork (copy-on-write leaves the old copy private to the child).
        out["earlier_actors_uss_growth_mb"] = round(
            sum(uss[p] - earlier[p] for p in old) / len(old) / 1024, 2)
    if st is not None:
        out["supervisor"] = memory.read_kb(st.pid)
        out["supervisor_imported_after_fork"] = _packages(probe, st.pid)
    rows = [(r["pss_kb"], p) for p in pids if (r := memory.read_kb(p)) is not None]
    if rows:
        rows.sort()
        median_pid = rows[len(rows) // 2][1]
        out["median_actor"] = {"pid": median_pid, "rollup_kb": memory.read_kb(median_pid),
                               "threads": _threads(median_pid),
                               "common_with_siblings": memory.common_private(
                                   median_pid, [p for _, p in rows[:3] if p != median_pid]),
                               "top_by_pss": _top(memory.mappings(median_pid) or {}, "pss"),
                               "top_by_private_dirty": _top(memory.mappings(median_pid) or {},
                                                            "private_dirty")}
    out["imported_after_fork"] = _modules(probe, pids)
    return out


def _threads(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return None


def _top(groups: dict[str, dict[str, int]], key: str) -> list[dict]:
    ranked = sorted(groups.items(), key=lambda kv: -kv[1][key])[:TOP]
    return [{"group": name, **vals} for name, vals in ranked]


def _packages(probe: Path, pid: int) -> dict[str, int] | None:
    """Top-level package -> modules the process imported after its own fork (the largest)."""
    f = probe / f"{pid}.json"
    if not f.exists():
        return None
    c = Counter(m.split(".")[0] for m in json.loads(f.read_text())["imported_after_fork"])
    return dict(c.most_common(15))


def _modules(probe: Path, pids: list[int]) -> dict:
    """Modules imported after the fork: in every symbol actor, and in only some of them."""
    seen: Counter[str] = Counter()
    n = 0
    frozen = []
    extra: dict[str, list[int]] = {}
    marks: dict[str, list[tuple[int, int]]] = {}
    for pid in pids:
        f = probe / f"{pid}.json"
        if not f.exists():
            continue
        data = json.loads(f.read_text())
        n += 1
        seen.update(data["imported_after_fork"])
        frozen.append(data["gc_frozen"])
        for key in ("blocks_at_fork", "blocks", "private_kb_at_fork",
                    "private_kb"):
            if data.get(key) is not None:
                extra.setdefault(key, []).append(data[key])
        for name, ms, kb in data.get("milestones", ()):
            marks.setdefault(name, []).append((ms, kb))
    return {"actors_probed": n, **{f"{k}_median": statistics.median(v) for k, v in extra.items()},
            # The first time a symbol actor unpickled each class (or opened its store): ms
            # since its fork and its private kB then (medians), in the order they came.
            "milestones": sorted(
                ({"what": k, "ms": statistics.median(ms for ms, _ in v),
                  "private_kb": statistics.median(kb for _, kb in v), "actors": len(v)}
                 for k, v in marks.items()), key=lambda m: m["ms"]),
            "in_all": sorted(m for m, c in seen.items() if c == n),
            "in_some": sorted(m for m, c in seen.items() if c < n),
            "gc_frozen_median": statistics.median(frozen) if frozen else None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m system.bench.memprofile")
    p.add_argument("--config", default="config.yaml")
    p.add_argument("--symbols", default="20,100", help="levels, comma-separated")
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    p.add_argument("--prep", default=None, help="POSGUARD_FORK_PREP for the engine")
    p.add_argument("--settle-secs", type=float, default=10.0)
    p.add_argument("--out", default=None, help="also write the JSON here")
    a = p.parse_args(argv)
    levels = sorted(int(x) for x in a.symbols.split(","))
    res = profile(a.config, levels, a.backend, a.prep, a.settle_secs,
                  say=lambda s: print(s, file=sys.stderr, flush=True))
    text = json.dumps(res, indent=1)
    if a.out:
        Path(a.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
