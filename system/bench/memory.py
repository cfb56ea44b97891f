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


def kind_of(path: str) -> str:
    """The group a mapping is counted in: [heap], [anon], [stack], a library's name, a file."""
    if not path:
        return "[anon]"
    if path.startswith("["):
        return path if path in ("[heap]", "[stack]") else "[other]"
    base = path.rsplit("/", 1)[-1]
    if ".so" in base or base.startswith("python"):
        return base
    return "file:" + base


def mappings(pid: int) -> dict[str, dict[str, int]] | None:
    """kB per mapping group of one process (/proc/<pid>/smaps): pss, private_dirty, ... .

    Private_Dirty of [heap]/[anon] in a forked child is mostly pages it inherited and then
    wrote to (copy-on-write); Shared_* are pages still shared with the parent or siblings.
    """
    keys = {"Rss": "rss", "Pss": "pss", "Private_Dirty": "private_dirty",
            "Private_Clean": "private_clean", "Shared_Dirty": "shared_dirty",
            "Shared_Clean": "shared_clean"}
    out: dict[str, dict[str, int]] = {}
    cur: dict[str, int] | None = None
    try:
        with open(f"/proc/{pid}/smaps") as fh:
            for line in fh:
                head = line.split(None, 5)
                if head and "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
                    path = head[5].strip() if len(head) > 5 else ""
                    cur = out.setdefault(kind_of(path), {v: 0 for v in keys.values()})
                    cur["mappings"] = cur.get("mappings", 0) + 1
                    continue
                name, _, rest = line.partition(":")
                if cur is not None and name in keys:
                    cur[keys[name]] += int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return out


PAGE = 4096


def private_pages(pid: int) -> dict[int, int] | None:
    """address -> hash of content, for every present, exclusively mapped page of `pid`'s
    [heap] and anonymous mappings (/proc/<pid>/pagemap bit 56; contents from /proc/<pid>/mem,
    which needs ptrace rights: the same user, or root). None if that cannot be read.

    Pages of siblings with the same address and content are copies the processes made
    identically (same objects written the same way): what kernel same-page merging could
    share, and a measure of how much of a child's private memory is common to all of them.
    """
    import struct
    out: dict[int, int] = {}
    try:
        with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/pagemap", "rb") as pm, \
                open(f"/proc/{pid}/mem", "rb") as mem:
            for line in maps:
                parts = line.split()
                path = parts[5] if len(parts) > 5 else ""
                if path not in ("", "[heap]") or "w" not in parts[1]:
                    continue
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                pm.seek(lo // PAGE * 8)
                raw = pm.read((hi - lo) // PAGE * 8)
                for i, (entry,) in enumerate(struct.iter_unpack("<Q", raw)):
                    if entry >> 63 & 1 and entry >> 56 & 1:
                        addr = lo + i * PAGE
                        mem.seek(addr)
                        out[addr] = hash(mem.read(PAGE))
    except (OSError, ValueError):
        return None
    return out


def common_private(pid: int, siblings: Iterable[int]) -> dict | None:
    """How much of `pid`'s private anonymous memory is byte-identical, at the same address, in
    every one of `siblings` (also private there), and how much of it is zero-filled."""
    mine = private_pages(pid)
    if mine is None:
        return None
    others = [p for p in (private_pages(s) for s in siblings) if p is not None]
    zero = hash(bytes(PAGE))
    same = sum(1 for a, h in mine.items() if others and all(o.get(a) == h for o in others))
    return {"private_anon_kb": len(mine) * PAGE // 1024, "siblings": len(others),
            "identical_in_all_siblings_kb": same * PAGE // 1024,
            "zero_kb": sum(1 for h in mine.values() if h == zero) * PAGE // 1024}
