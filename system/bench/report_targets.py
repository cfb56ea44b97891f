"""The issue's Targets, judged on a bench result (met / missed, with the figure), and the
stop-lag section of the report. Kept apart from report.py so each stays small.

Each target is judged only where the run measured it (e.g. the 100-symbol reaction target
needs a 100-symbol level); a target the run did not measure is listed as not measured, never
as met.
"""

from __future__ import annotations


def evaluate(r: dict) -> list[dict]:
    """[{target, figure, met}] for every target of the issue (met None: not measured)."""
    out: list[dict] = []
    rtts = r.get("rtt") or []
    for x in rtts:
        rtt = x["rtt_ms"]
        at = {lv["symbols"]: lv for lv in x["levels"]}
        lv = at.get(100)
        t = lv.get("target") if lv else None
        out.append(_judged(f"reaction p99 <= floor + 25 ms, 0 missed, 100 symbols, RTT {rtt:g}",
                           t, lambda t: f"p99 {t['p99_ms']} ms vs {t['limit_ms']} ms, "
                                        f"{t['missed']} missed"))
        if rtt == 60:
            lv = at.get(300)
            t = lv.get("target") if lv else None
            out.append(_judged("reaction p99 <= floor + 50 ms, 300 symbols, RTT 60", t,
                               lambda t: f"p99 {t['p99_ms']} ms vs {t['limit_ms']} ms"))
        out.append(_burst(f"open -> first stop p99 <= 2 x RTT + 25 ms, RTT {rtt:g}",
                          x.get("open_burst")))
        u = x.get("unprotected")
        out.append({"target": f"unprotected window 0 ms (coverage lost), RTT {rtt:g}",
                    "figure": f"{u['coverage_lost_total_ms']} ms" if u else "not measured",
                    "met": u["coverage_lost_total_ms"] == 0 if u else None})
    if not any(x["rtt_ms"] == 60 for x in rtts):
        out.append({"target": "reaction p99 <= floor + 50 ms, 300 symbols, RTT 60",
                    "figure": "not measured (no --rtt-ms 60)", "met": None})
    sl = r.get("stop_lag")
    for lv in (sl or {}).get("levels", []):
        if lv.get("open_burst"):
            out.append(_burst(f"real budget, {lv['symbols']} symbols trailing, RTT "
                              f"{sl['rtt_ms']:g}: open -> first stop p99 <= 2 x RTT + 25 ms",
                              lv["open_burst"]))
        s = lv["stop_lag"]
        out.append({"target": f"stop lag reported, real budget, {lv['symbols']} symbols, RTT "
                              f"{sl['rtt_ms']:g}",
                    "figure": f"p50 {s['p50_bps']} / p99 {s['p99_bps']} bps (a perfect engine "
                              f"at the floor: p99 {lv['floor_lag']['p99_bps']} bps)",
                    "met": s["n"] > 0})
    for d in r.get("durability", []):
        out.append({"target": f"I-1 durability trials 0 lost ({d['backend']})",
                    "figure": f"{d['lost']} lost of {d['acknowledged']} acknowledged",
                    "met": d["lost"] == 0 and not d["unsettled"]})
    return out


def _judged(name: str, t: dict | None, figure) -> dict:
    if t is None:
        return {"target": name, "figure": "not measured", "met": None}
    return {"target": name, "figure": figure(t), "met": t["met"]}


def _burst(name: str, b: dict | None) -> dict:
    if not b or b.get("target_ms") is None:
        return {"target": name, "figure": "not measured", "met": None}
    s = b["open_to_stop"]
    few = "" if b["positions"] >= 100 else f" (only {b['positions']} opened; the target is 100)"
    met = s["p99_ms"] is not None and s["p99_ms"] <= b["target_ms"] and s["n"] == b["positions"]
    return {"target": name,
            "figure": f"p99 {s['p99_ms']} ms vs {b['target_ms']} ms, {s['n']} of "
                      f"{b['positions']} opened within {b['sent_within_secs']} s{few}",
            "met": met and not few}


def targets(r: dict) -> list[str]:
    """The targets as report lines."""
    out = ["targets (issue 15)"]
    several = len(r.get("venues") or ()) > 1
    for t in r.get("targets") or evaluate(r):
        mark = {True: "met   ", False: "MISSED", None: "  -   "}[t["met"]]
        venue = f"{t['venue']}: " if several and t.get("venue") else ""
        out.append(f"  [{mark}] {venue}{t['target']}: {t['figure']}")
    return out


def stop_lag(r: dict) -> list[str]:
    """Section 8: stop lag per level under the real budget."""
    sl = r.get("stop_lag")
    if not sl:
        return ["8. stop lag: not measured"]
    b = sl.get("budget", {})
    if "engine_effective" in b:
        (short, long), (n_short, n_long) = b["engine_windows_secs"], b["engine_effective"]
        budget = f"engine {n_short}/{short:g} s, {n_long}/{long:g} s; venue {b['venue_limits']}"
    else:  # a result from before the venues
        budget = (f"engine {b.get('engine_orders_per_10s')}/10 s, "
                  f"{b.get('engine_orders_per_min')}/min; venue 300/10 s, 1200/min")
    out = [f"8. stop lag: ideal stop (the policy on the true mark path) - resting stop, bps of "
           f"the mark, sampled every 100 ms; RTT {sl['rtt_ms']:g} ms, real order budget "
           f"({budget})",
           f"  {'symbols':>7}{'N':>8}{'p50 bps':>9}{'p99 bps':>9}{'max bps':>9}"
           f"{'floor p99':>10}{'uncovered':>10}{'moves':>7}{'missed':>8}{'react p99':>10}"
           f"{'drain s':>9}{'orders/move':>12}"]
    for lv in sl["levels"]:
        s, f, rc = lv["stop_lag"], lv["floor_lag"], lv["reaction"]
        drain = ">120" if lv.get("drain_secs") is None else f"{lv['drain_secs']:.1f}"
        react = "-" if rc["p99_ms"] is None else f"{rc['p99_ms']:.1f}"
        out.append(f"  {lv['symbols']:>7}{s['n']:>8}{_b(s['p50_bps'])}{_b(s['p99_bps'])}"
                   f"{_b(s['max_bps'])}{_b(f['p99_bps']):>10}{lv['uncovered_samples']:>10}"
                   f"{lv['moves']:>7}{lv['missed']:>8}"
                   f"{react:>10}"
                   f"{drain:>9}{_per_move(lv.get('orders')):>12}")
        if lv.get("open_burst"):
            from system.bench.report import _burst
            out.append(f"  {'':<7}{_burst(lv['open_burst'])}")
        if lv.get("collapsed"):
            out.append(f"  {lv['symbols']} symbols: FELL BEHIND ({lv['collapsed']})")
    out.append("  floor p99 = the lag of a perfect engine behind this RTT's reaction floor; "
               "uncovered = samples with no stop resting (must be 0)")
    return out


def _per_move(o: dict | None) -> str:
    return "-" if not o or o.get("orders_per_move") is None else f"{o['orders_per_move']:g}"


def _b(v: float | None) -> str:
    return f"{v:9.1f}" if v is not None else f"{'-':>9}"
