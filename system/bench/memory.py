"""Process memory from /proc: PSS (shared pages split among sharers) and USS (private)."""

from __future__ import annotations

from collections.abc import Iterable


def read_kb(pid: int) -> dict[str, int] | None:
    """{'pss_kb', 'uss_kb', 'rss_kb'} of one process, or None if it is gone/unreadable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            fields = {}
            for line in fh:
                name, _, rest = line.partition(":")
                parts = rest.split()
                if len(parts) == 2 and parts[1] == "kB":
                    fields[name.strip()] = int(parts[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return {"pss_kb": fields.get("Pss", 0), "rss_kb": fields.get("Rss", 0),
            "uss_kb": fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)}


def group(pids: Iterable[int]) -> dict:
    """Totals and per-process figures (MB) of a group of processes that could be read."""
    rows = [r for r in (read_kb(p) for p in pids) if r is not None]
    if not rows:
        return {"processes": 0}
    n = len(rows)
    mb = 1024.0
    pss = sorted(r["pss_kb"] for r in rows)
    return {
        "processes": n,
        "total_pss_mb": round(sum(pss) / mb, 1),
        "total_rss_mb": round(sum(r["rss_kb"] for r in rows) / mb, 1),
        "pss_mb_mean": round(sum(pss) / n / mb, 2),
        "pss_mb_max": round(pss[-1] / mb, 2),
        "uss_mb_mean": round(sum(r["uss_kb"] for r in rows) / n / mb, 2),
        "rss_mb_mean": round(sum(r["rss_kb"] for r in rows) / n / mb, 2),
    }
