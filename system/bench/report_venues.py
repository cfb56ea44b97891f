"""The bench's venue table: one row per figure, one column per venue (`--venues`).

Only the headline of each section (the first RTT's, as the top-level keys are); the sections
below it in the report give every figure per venue. Kept apart from report.py (small modules).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = tuple[str, Callable[[dict], str]]


def _ms(s: dict | None) -> str:
    if not s or s.get("n", 0) == 0 or s.get("p50_ms") is None:
        return "-"
    return f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f} ms (N {s['n']})"


def _bps(s: dict | None) -> str:
    if not s or s.get("n", 0) == 0 or s.get("p50_bps") is None:
        return "-"
    return f"{s['p50_bps']:.1f} / {s['p99_bps']:.1f} bps"


def _opm(o: dict | None) -> str:
    if not o or not o.get("moves"):
        return "-"
    return (f"{o['orders_per_move']:g} ({o['creates']} creates, {o['amends']} amends, "
            f"{o['cancels']} cancels / {o['moves']} moves)")


def _levels(vs: list[dict]) -> list[int]:
    return sorted({lv["symbols"] for v in vs for lv in v.get("levels", ())})


def _level(v: dict, n: int) -> dict | None:
    return next((lv for lv in v.get("levels", ()) if lv["symbols"] == n), None)


def _reaction(n: int) -> Callable[[dict], str]:
    def cell(v: dict) -> str:
        lv = _level(v, n)
        if lv is None:
            return "-"
        return f"{_ms(lv['reaction'])}, {lv['missed']} of {lv['ticks']} missed"
    return cell


def _routing(n: int) -> Callable[[dict], str]:
    def cell(v: dict) -> str:
        lv = _level(v, n)
        return "-" if lv is None else _ms(lv["routing"])
    return cell


def _burst(v: dict) -> str:
    b = (v.get("rtt") or [{}])[0].get("open_burst")
    if not b:
        return "-"
    return f"{_ms(b['open_to_stop'])}, {b['acknowledged']}/{b['positions']} acknowledged"


def _stop_lag(v: dict) -> list[str]:
    sl = v.get("stop_lag") or {}
    return [f"{lv['symbols']} sym: {_bps(lv['stop_lag'])}, {lv['uncovered_samples']} uncovered"
            for lv in sl.get("levels", ())]


def _budget(v: dict) -> str:
    b = (v.get("stop_lag") or {}).get("budget")
    if not b or "engine_effective" not in b:
        return "-"
    (short, long), (n_short, n_long) = b["engine_windows_secs"], b["engine_effective"]
    return f"engine {n_short}/{short:g} s, {n_long}/{long:g} s; venue {b['venue_limits']}"


def _recovery(v: dict) -> str:
    rec = v.get("recovery")
    return "-" if not rec else f"{_ms(rec['reconciled'])}, seq kept {rec['seq_kept']}/" \
                               f"{rec['trials']}"


def _cold(v: dict) -> str:
    c = v.get("cold_restart")
    if not c:
        return "-"
    o = c.get("orders")
    spent = "" if o is None else (f" ({o['creates']} creates, {o['amends']} amends, "
                                  f"{o['cancels']} cancels)")
    return f"{c['positions']} positions in {c['all_protected_secs']:.1f} s{spent}"


def _durability(v: dict) -> str:
    return ", ".join(f"{d['backend']} {d['lost']} lost of {d['acknowledged']} "
                     f"({d['trials']} trials)" for d in v.get("durability", ())) or "-"


def _coverage(v: dict) -> str:
    u = v.get("unprotected")
    return "-" if not u else f"{u['coverage_lost_total_ms']:.1f} ms in " \
                             f"{u['coverage_lost_gaps']} gaps"


def _load(v: dict) -> str:
    a, b = v.get("load_average"), v.get("load_average_end")
    return "-" if not a else f"{a[0]:.2f} -> {b[0] if b else '-'}"


def rows(vs: list[dict]) -> list[Row]:
    """(label, cell of a venue) for every row of the table, in order."""
    out: list[Row] = [
        ("floor: REST round trip p50 / p99", lambda v: _ms(v["floor"]["rest_round_trip"])),
        ("floor: order -> stream event", lambda v: _ms(v["floor"]["user_stream"])),
    ]
    levels = _levels(vs)
    out += [(f"reaction p50 / p99, {n} symbols", _reaction(n)) for n in levels]
    if levels:
        out.append((f"routing p50 / p99, {levels[-1]} symbols", _routing(levels[-1])))
    out += [
        ("open burst: fill -> first stop", _burst),
        ("coverage lost (simulator meter)", _coverage),
        ("orders per move, budget lifted", lambda v: _opm(v["orders_per_move"]["budget_lifted"])),
        ("orders per move, real budget", lambda v: _opm(v["orders_per_move"]["real_budget"])),
        ("order budget of the stop-lag section", _budget),
    ]
    n_lag = max((len(_stop_lag(v)) for v in vs), default=0)
    out += [(f"stop lag p50 / p99 ({i + 1})",
             lambda v, i=i: (_stop_lag(v) + ["-"] * n_lag)[i]) for i in range(n_lag)]
    out += [
        ("SIGKILL of a symbol actor -> PROTECTED", _recovery),
        ("cold restart -> all PROTECTED", _cold),
        ("I-1 durability trials", _durability),
        ("load average (1 min) start -> end", _load),
    ]
    return out


def venue_table(r: dict) -> list[str]:
    """The table's lines (empty for a result with fewer than two venues)."""
    vs: list[dict[str, Any]] = r.get("venues") or []
    if len(vs) < 2:
        return []
    table = [(label, [cell(v) for v in vs]) for label, cell in rows(vs)]
    w0 = max(len(label) for label, _ in table)
    widths = [max(len(v["venue"]), *(len(cells[i]) for _, cells in table))
              for i, v in enumerate(vs)]
    head = "  " + " " * w0 + "".join(f"  {v['venue']:<{w}}" for v, w in zip(vs, widths,
                                                                          strict=True))
    out = ["0. per venue (first RTT; every figure per venue in the sections below)", head]
    for label, cells in table:
        out.append(f"  {label:<{w0}}" + "".join(f"  {c:<{w}}" for c, w in zip(cells, widths,
                                                                               strict=True)))
    return out
