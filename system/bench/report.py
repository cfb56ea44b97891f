"""The bench result as one plain-text table, and (optionally) a PNG of the distributions."""

from __future__ import annotations

from typing import Any

from system.bench.report_targets import stop_lag, targets


def _ms(v: float | None) -> str:
    return f"{v:8.2f}" if v is not None else f"{'-':>8}"


def _x(v: float | None) -> str:
    return f"{v:6.1f}x" if v is not None else f"{'-':>7}"


def _drained(v: float | None) -> str:
    return ">120" if v is None else f"{v:.1f}"


def _row(label: str, s: dict, width: int = 30) -> str:
    return (f"  {label:<{width}}{s['n']:>6}{_ms(s['p50_ms'])}{_ms(s['p99_ms'])}"
            f"{_ms(s['max_ms'])}")


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("  [target met]" if ok else "  [TARGET MISSED]")


def _le(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


HEAD = f"{'':<32}{'N':>6}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}"


def format_table(r: dict) -> str:
    """Everything the bench measured, one section per figure of the issue; with several
    venues a table with a column per venue first, then every section per venue."""
    from system.bench.report_venues import venue_table
    m, o = r["machine"], r["options"]
    quick = " (QUICK: a smoke run, not figures)" if o["quick"] else ""
    vs = r.get("venues") or []
    load = m.get("load_average")
    out = [f"posguard bench: {m['cores']} cores, Python {m['python']}, store {o['store']}, "
           f"{o['duration_secs']:g} s windows, RTT "
           f"{', '.join(f'{x:g}' for x in o.get('rtt_ms', (0,)))} ms"
           f"{', order budget kept' if o.get('real_budget') else ''}"
           f"{', venues ' + ', '.join(v['venue'] for v in vs) if vs else ''}"
           f"{f', load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}' if load else ''}"
           f"{quick}"]
    table = venue_table(r)
    if table:
        out += ["", *table]
    for v in vs or [r]:
        view = {**r, **v}
        if len(vs) > 1:
            out += ["", f"==== {v['venue']} " + "=" * 60]
        for section in (_floor, _reaction, _profile, _unprotected, _routing, _recovery,
                        _durability, _scale, stop_lag):
            out += ["", *section(view)]
    out += ["", *targets(r)]
    out += ["", f"elapsed {r['elapsed_secs']:.0f} s; /fl = multiple of that RTT's floor "
            "(reaction: stream one-way + half a REST round trip; routing: stream one-way; "
            "open -> stop: min(half a round trip, stream one-way) + half a round trip)"]
    return "\n".join(out)


def _rtts(r: dict) -> list[dict]:
    """One entry per RTT (a result from before --rtt-ms: its one loopback run)."""
    return r.get("rtt") or [{"rtt_ms": 0.0, "floor": r["floor"], "levels": r["levels"],
                             "unprotected": r.get("unprotected")}]


def _windows(r: dict):
    """(rtt, level, window) of every reaction window, the aligned ones after their level."""
    for x in _rtts(r):
        for lv in x["levels"]:
            for w in (lv, lv.get("burst")):
                if w and "reaction" in w:
                    yield x["rtt_ms"], lv, w


def _per_move(o: dict | None) -> str:
    return "-" if not o or o.get("orders_per_move") is None else f"{o['orders_per_move']:g}"


def _floor(r: dict) -> list[str]:
    out = ["1. floor (bare simulator, same run; RTT = the simulator's latency model)", HEAD]
    for x in _rtts(r):
        fl = x["floor"]
        out += [_row(f"RTT {x['rtt_ms']:g}: REST round trip", fl["rest_round_trip"]),
                _row(f"RTT {x['rtt_ms']:g}: order -> stream event", fl["user_stream"])]
        if "reaction_floor_ms" in fl:
            out.append(f"  {'':<30}floors: reaction {_ms(fl['reaction_floor_ms']).strip()} ms, "
                       f"routing {_ms(fl['routing_floor_ms']).strip()} ms, open -> stop "
                       f"{_ms(fl['open_floor_ms']).strip()} ms")
    return out


def _reaction(r: dict) -> list[str]:
    out = ["2. reaction: mark tick emitted -> replacement stop arrived at the venue (simulator "
           "clock)",
           f"  {'RTT':>5}{'symbols':>8} {'ticks':<8}{'demanded':>9}{'moves':>7}{'missed':>7}"
           f"{'N':>7}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'p50/fl':>8}{'p99/fl':>8}"
           f"{'actor p50':>10}{'p99':>8}{'drain s':>9}{'ord/move':>9}"]
    for rtt, lv, w in _windows(r):
        s, a = w["reaction"], w["mark_routing"]
        out.append(f"  {rtt:>5g}{lv['symbols']:>8} {w['phase']:<8}{w['ticks']:>9}"
                   f"{w['moves']:>7}{w['missed']:>7}{s['n']:>7}{_ms(s['p50_ms'])}"
                   f"{_ms(s['p99_ms'])}{_ms(s['max_ms'])}{_x(s['p50_x_floor']):>8}"
                   f"{_x(s['p99_x_floor']):>8}{_ms(a['p50_ms']):>10}{_ms(a['p99_ms'])}"
                   f"{_drained(w.get('drain_secs')):>9}{_per_move(w.get('orders')):>9}")
    out.append("  drain = seconds until every symbol was PROTECTED again after the window "
               "(the backlog; '>120' = never caught up)")
    out.append("  ord/move = orders the venue accepted per move (creates + amends + cancels, "
               "from the simulator's probe: Binance places new and cancels old, Bybit amends)")
    out.append("  actor = of which: tick frame read -> applied in the symbol actor (the stop "
               "move committed and its request sent to the exchange pool)")
    for rtt, lv, w in _windows(r):
        if w.get("collapsed"):
            out.append(f"  RTT {rtt:g}, {lv['symbols']} symbols, {w['phase']}: FELL BEHIND "
                       f"({w['collapsed']}); engine restarted, all PROTECTED again in "
                       f"{w.get('restart_secs', '-')} s")
    return out


def _profile(r: dict) -> list[str]:
    out = ["   where the time goes (per window): delivery = frame read -> symbol actor's handler "
           "starts (stream actor, supervisor hop, transport, queueing); CPU = cores used per "
           "component"]
    for rtt, lv, w in _windows(r):
        if "profile" not in w:
            continue
        p = w["profile"]
        td, ed = p["tick_delivery"], p["event_delivery"]
        cpu = ", ".join(f"{k} {v:.2f}" for k, v in p["cpu_cores"].items() if v >= 0.01)
        total = sum(p["cpu_cores"].values())
        out.append(f"  RTT {rtt:g} {lv['symbols']:>4} {w['phase']:<8} tick delivery p50/p99 "
                   f"{_ms(td['p50_ms']).strip()}/{_ms(td['p99_ms']).strip()} ms, event "
                   f"delivery {_ms(ed['p50_ms']).strip()}/{_ms(ed['p99_ms']).strip()} ms; "
                   f"CPU {total:.2f} cores ({cpu}); {p['cpu_ms_per_move'] or '-'} CPU ms "
                   "per move")
    return out


def _unprotected(r: dict) -> list[str]:
    out = ["3. unprotected window (simulator meter, whole run per RTT)"]
    for x in _rtts(r):
        u = x.get("unprotected")
        if not u:
            out.append(f"  RTT {x['rtt_ms']:g}: not measured")
            continue
        moves = sum(w["moves"] for rtt, _lv, w in _windows(r) if rtt == x["rtt_ms"])
        op = u["open_to_protected"]
        out += [f"  RTT {x['rtt_ms']:g}: coverage lost {u['coverage_lost_total_ms']:.1f} ms in "
                f"{u['coverage_lost_gaps']} gaps over {moves} measured stop moves and "
                f"{u['symbols']} symbols{_verdict(u['coverage_lost_total_ms'] == 0)}",
                f"  {'':<9}open -> first stop resting, every open of the run: N {op['n']}, "
                f"p50 {_ms(op['p50_ms']).strip()} ms, p99 {_ms(op['p99_ms']).strip()} ms, "
                f"max {_ms(op['max_ms']).strip()} ms"]
        if x.get("open_burst"):
            out.append(f"  {'':<9}{_burst(x['open_burst'])}")
    return out


def _burst(b: dict) -> str:
    s = b["open_to_stop"]
    return (f"open burst: {b['positions']} opened within {b['sent_within_secs']} s "
            f"({b.get('holding', b['positions'])} holding a position), fill -> first stop "
            f"resting N {s['n']}, p50 {_ms(s['p50_ms']).strip()} / p99 "
            f"{_ms(s['p99_ms']).strip()} ms ({_x(s['p50_x_floor']).strip()} / "
            f"{_x(s['p99_x_floor']).strip()} floor), target <= {b['target_ms']} ms"
            f"{_verdict(_le(s['p99_ms'], b['target_ms']) if b['target_ms'] else None)}")


def _routing(r: dict) -> list[str]:
    out = ["4. routing: user-stream frame read -> state applied in the symbol actor",
           f"  {'RTT':>5}{'symbols':>8}{'N':>8}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}"
           f"{'p50/fl':>8}{'p99/fl':>8}"]
    for rtt, lv, w in _windows(r):
        if w is not lv:
            continue
        s = lv["routing"]
        verdict = _verdict(_le(s["p99_ms"], 10.0)) if lv["symbols"] >= 100 else ""
        out.append(f"  {rtt:>5g}{lv['symbols']:>8}{s['n']:>8}{_ms(s['p50_ms'])}"
                   f"{_ms(s['p99_ms'])}"
                   f"{_ms(s['max_ms'])}{_x(s['p50_x_floor']):>8}{_x(s['p99_x_floor']):>8}"
                   f"{verdict}")
    return out


def _recovery(r: dict) -> list[str]:
    rec, cold = r.get("recovery"), r.get("cold_restart")
    out = ["5. recovery", HEAD]
    if rec:
        out += [_row("SIGKILL -> replacement answers", rec["restored"]),
                _row("SIGKILL -> reconciled, PROTECTED", rec["reconciled"]),
                f"  journal continued at the killed actor's seq: {rec['seq_kept']}/"
                f"{rec['trials']}; failures: {len(rec['failures'])}"
                f"{_verdict(_le(rec['reconciled']['p99_ms'], 250.0))}"]
        out += [f"    {f}" for f in rec["failures"][:5]]
    if cold:
        out.append(f"  cold restart, {cold['positions']} open positions: engine up "
                   f"{cold['system_up_secs']:.2f} s, all PROTECTED "
                   f"{cold['all_protected_secs']:.2f} s"
                   f"{_verdict(_le(cold['all_protected_secs'], 10.0))}")
        if cold.get("orders"):
            o = cold["orders"]
            out.append(f"    orders on the way: {o['creates']} creates, {o['amends']} amends, "
                       f"{o['cancels']} cancels")
    return out


def _durability(r: dict) -> list[str]:
    out = ["6. durability: whole-system SIGKILL trials",
           f"  {'backend':<10}{'trials':>7}{'acked':>7}{'found':>7}{'lost':>6}{'dup-ok':>8}"
           f"{'unsettled':>10}{'positions':>10}"]
    for d in r["durability"]:
        out.append(f"  {d['backend']:<10}{d['trials']:>7}{d['acknowledged']:>7}{d['found']:>7}"
                   f"{d['lost']:>6}{d['acknowledged'] - d['not_refused_as_duplicate']:>8}"
                   f"{len(d['unsettled']):>10}{d['positions_restored']:>10}"
                   f"{_verdict(d['lost'] == 0 and not d['unsettled'])}")
    out += ["  store append (journal row + snapshot, one durable commit)",
            f"  {'backend':<30}{'N':>6}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'per s':>9}"]
    for s in r["store_append"]:
        out.append(f"  {s['backend']:<30}{s['n']:>6}{_ms(s['p50_ms'])}{_ms(s['p99_ms'])}"
                   f"{_ms(s['max_ms'])}{s['appends_per_sec']:>9.0f}")
    contended = [c for s in r["store_append"]
                 for c in (s.get("contended"), s.get("contended_writer")) if c]
    if contended:
        out.append("  contended: every writer a process, all appending at the same instant "
                   "(+writer: through the store's writer process, its CPU included)")
        out.append(f"  {'backend':<22}{'writers':>8}{'N':>6}{'p50 ms':>8}{'p99 ms':>8}"
                   f"{'max ms':>8}{'CPU ms/append':>15}")
        for c in contended:
            out.append(f"  {c['backend']:<22}{c['writers']:>8}{c['n']:>6}{_ms(c['p50_ms'])}"
                       f"{_ms(c['p99_ms'])}{_ms(c['max_ms'])}{c['cpu_ms_per_append']:>15.2f}")
    return out


def _scale(r: dict) -> list[str]:
    out = ["7. scale",
           f"  {'symbols':>7}{'create s':>10}{'ms/actor':>10}{'PSS/actor':>11}{'USS/actor':>11}"
           f"{'actors PSS':>12}{'system PSS':>12}{'routing p99':>13}"]
    for lv in r["levels"]:
        sm, sy = lv["memory"]["symbol_actors"], lv["memory"]["actor_system"]
        per = lv["create_ms_per_actor"]
        out.append(f"  {lv['symbols']:>7}{lv['create_secs']:>10.2f}"
                   f"{(f'{per:.1f}' if per is not None else '-'):>10}"
                   f"{sm.get('pss_mb_mean', 0):>9.2f}MB{sm.get('uss_mb_mean', 0):>9.2f}MB"
                   f"{sm.get('total_pss_mb', 0):>10.0f}MB{sy.get('total_pss_mb', 0):>10.0f}MB"
                   f"{_ms(lv['routing']['p99_ms']):>13}")
    top = r["levels"][-1]["memory"]["symbol_actors"]
    out.append("  target <= 8 MB PSS per symbol actor"
               f"{_verdict(_le(top.get('pss_mb_mean'), 8.0))}")
    return out


def plot(r: dict, path: str) -> None:
    """Reaction, routing and recovery distributions (CDFs) in one PNG (needs matplotlib)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(16, 5))

    def cdf(ax: Any, samples: list[float], label: str) -> None:
        if not samples:
            return
        s = sorted(samples)
        ax.plot(s, [(i + 1) / len(s) for i in range(len(s))], label=f"{label} (N={len(s)})")

    for lv in r["levels"]:
        cdf(axes[0], lv["samples"]["reaction"], f"{lv['symbols']} sym spread")
        if lv.get("burst"):
            cdf(axes[0], lv["burst"]["samples"]["reaction"], f"{lv['symbols']} sym aligned")
        cdf(axes[1], lv["samples"]["routing"], f"{lv['symbols']} sym")
    if r.get("recovery"):
        cdf(axes[2], r["recovery"]["samples"]["reconciled"], "SIGKILL -> PROTECTED")
    titles = ("reaction: tick -> stop accepted", "routing: frame -> applied",
              "recovery: kill -> reconciled")
    limits = (50.0, 10.0, 250.0)
    for ax, title, limit in zip(axes, titles, limits, strict=True):
        ax.set_title(title)
        ax.set_xscale("log")
        ax.set_xlabel("ms (log)")
        ax.set_ylabel("fraction <= x")
        ax.axvline(limit, color="red", linestyle="--", linewidth=1, label=f"target {limit:g} ms")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"posguard bench, {r['machine']['cores']} cores")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
