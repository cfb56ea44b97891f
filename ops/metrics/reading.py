"""What the metrics show, read from each supervisor status the launcher gets (ops/hub.py).

`Tracker.observe` turns a SupervisorStatus into a Reading: every sample of every family in
ops/metrics/catalogue.py, frozen, so the HTTP thread serves one whole snapshot while the
launcher builds the next. Gauges come from the latest status only (a symbol gone from it has
none); counters come from Totals (ops/metrics/totals.py), which keeps them growing across
actor restarts, and stay for every symbol ever seen.

The unprotected time of a symbol is the actor's own bookkeeping: the stretches it finished
(SymbolCounters.unprotected_ms) plus the one under way, from its persisted start
(unprotected_since_ms) to now. A stretch that ended after the view was taken is counted up to
now until the next view; the total is held at its highest so that it never goes back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from actors.messages import ActorEntry, PoolStatus, StreamStatus, SupervisorStatus, SymbolView
from actors.tally import APPEND_BUCKETS_SECS
from ops.metrics.totals import Totals

Sample = tuple[tuple[str, ...], float]
"""(label values, value)."""
SIDES = {"long": 1.0, "short": -1.0}


@dataclass(frozen=True, slots=True)
class Histogram:
    """One histogram's figures."""

    buckets: tuple[tuple[float, float], ...] = ()
    """(upper bound, cumulative count), +Inf not included."""
    count: float = 0.0
    """Observations (the +Inf bucket)."""
    sum: float = 0.0
    """Their sum."""


@dataclass(frozen=True, slots=True)
class Reading:
    """Every sample the endpoint serves, as of one status."""

    at_ms: int
    """When the launcher read the status (epoch ms)."""
    samples: Mapping[str, tuple[Sample, ...]] = field(default_factory=dict)
    """Family name -> its samples (gauges and counters)."""
    appends: Histogram = Histogram()
    """posguard_store_append_seconds."""


def distance_bps(side: str | None, stop: str | None, mark: str | None) -> float | None:
    """The stop's distance from the mark in bps of the mark, positive on the protective side
    (below the mark for a long, above for a short); None without a stop, mark or side."""
    if side not in SIDES or stop is None or mark is None:
        return None
    try:
        s, m = float(Decimal(stop)), float(Decimal(mark))
    except (InvalidOperation, ValueError):
        return None
    if m <= 0:
        return None
    return SIDES[side] * (m - s) / m * 10_000


class Tracker:
    """Builds Readings; keeps what must outlive one status (totals, quarantines seen)."""

    def __init__(self) -> None:
        self.totals = Totals()
        self._bounds: tuple[float, ...] = APPEND_BUCKETS_SECS
        self._open_since: dict[str, int] = {}
        self._unprotected_high: dict[str, float] = {}
        self._sup_quarantined: set[str] = set()
        self._sup_quarantines: dict[str, int] = {}
        self._supervisor_pid: int | None = None
        self._supervisor_restarts = 0

    def observe(self, status: SupervisorStatus, now_ms: int) -> Reading:
        """The Reading for `status`, read at `now_ms`."""
        out: dict[str, list[Sample]] = defaultdict(list)
        self._engine(status, out)
        self._open_since = {}
        for e in status.actors:
            if e.kind == "symbol" and e.symbol:
                self._symbol(e, now_ms, out)
        self._restarts(status.actors, out)
        for s in status.streams:
            self._stream(s, now_ms, out)
        pools = status.pools or (((status.account, status.pool),) if status.pool else ())
        for account, pool in pools:
            _pool(pool, account, out)
        self._symbol_counters(now_ms, out)
        return Reading(now_ms, {k: tuple(v) for k, v in out.items()}, self._appends())

    # ------------------------------------------------------------------ symbols

    def _symbol(self, e: ActorEntry, now_ms: int, out: dict[str, list[Sample]]) -> None:
        sym, v = str(e.symbol), e.view
        out["posguard_symbol_state"].append(((sym, e.state), 1.0))
        if e.state == "QUARANTINED" and e.pid is None:  # the supervisor's: no actor runs
            if sym not in self._sup_quarantined:
                self._sup_quarantines[sym] = self._sup_quarantines.get(sym, 0) + 1
            self._sup_quarantined.add(sym)
        else:
            self._sup_quarantined.discard(sym)
        if v is None:
            return
        out["posguard_position_side"].append(((sym,), SIDES.get(v.side or "", 0.0)))
        out["posguard_position_size"].append(((sym,), _number(v.qty)))
        out["posguard_position_unprotected"].append(((sym,), float(v.unprotected)))
        d = distance_bps(v.side, v.stop_price, v.mark_price)
        if d is not None:
            out["posguard_stop_distance_bps"].append(((sym,), d))
        out["posguard_symbol_view_age_seconds"].append(((sym,),
                                                        max(now_ms - v.engine_ms, 0) / 1000))
        if v.counters is not None:
            self.totals.update(("symbol", sym), v.pid, _symbol_values(v))
            self._bounds = v.counters.append_le_secs or self._bounds
            if v.counters.unprotected_since_ms is not None:
                self._open_since[sym] = v.counters.unprotected_since_ms

    def _symbol_counters(self, now_ms: int, out: dict[str, list[Sample]]) -> None:
        symbols = sorted(str(src[1]) for src in self.totals.sources() if src[0] == "symbol")
        for sym in symbols:
            t = self.totals.get(("symbol", sym))
            out["posguard_stop_moves_total"].append(((sym,), t.get("moves", 0.0)))
            for name, n in sorted(t.items()):
                if name.startswith("fail:"):
                    out["posguard_stop_failures_total"].append(((sym, name[5:]), n))
            out["posguard_quarantines_total"].append(((sym, "actor"), t.get("quarantines", 0)))
            since = self._open_since.get(sym)
            running = max(now_ms - since, 0) if since is not None else 0
            total = (t.get("unprotected_ms", 0.0) + running) / 1000
            high = self._unprotected_high[sym] = max(self._unprotected_high.get(sym, 0.0),
                                                     total)
            out["posguard_unprotected_seconds_total"].append(((sym,), high))
        for sym, n in sorted(self._sup_quarantines.items()):
            out["posguard_quarantines_total"].append(((sym, "supervisor"), float(n)))

    def _appends(self) -> Histogram:
        count = total = 0.0
        buckets = [0.0] * len(self._bounds)
        for src in self.totals.sources():
            if src[0] != "symbol":
                continue
            t = self.totals.get(src)
            count += t.get("append_count", 0.0)
            total += t.get("append_sum", 0.0)
            for i, le in enumerate(self._bounds):
                buckets[i] += t.get(f"le:{le!r}", 0.0)
        return Histogram(tuple(zip(self._bounds, buckets, strict=True)), count, total)

    # ------------------------------------------------------------------ actors, engine

    def _restarts(self, actors: tuple[ActorEntry, ...], out: dict[str, list[Sample]]) -> None:
        by: dict[tuple[str, str], int] = defaultdict(int)
        for e in actors:
            by[(e.kind, e.symbol or "")] += e.restarts
        for (kind, sym), n in by.items():
            self.totals.update(("restarts", kind, sym), None, {"n": n})
        for src in sorted(s for s in self.totals.sources() if s[0] == "restarts"):
            out["posguard_actor_restarts_total"].append(
                ((str(src[1]), str(src[2])), self.totals.get(src)["n"]))

    def _engine(self, status: SupervisorStatus, out: dict[str, list[Sample]]) -> None:
        if self._supervisor_pid is not None and status.pid != self._supervisor_pid:
            self._supervisor_restarts += 1
        self._supervisor_pid = status.pid
        out["posguard_supervisor_restarts_total"].append(((), float(self._supervisor_restarts)))
        poison = self.totals.update(("supervisor",), status.pid, {"n": status.poison_messages})
        out["posguard_poison_messages_total"].append(((), poison["n"]))
        out["posguard_engine_info"].append(((status.mode, str(status.epoch)), 1.0))

    def _stream(self, s: StreamStatus, now_ms: int, out: dict[str, list[Sample]]) -> None:
        t = self.totals.update(("stream", s.kind), s.pid or None, {
            "frames": s.frames, "bad": s.bad_frames, "reconnects": s.reconnects})
        k = (s.kind,)
        out["posguard_stream_connected"].append((k, float(s.state == "connected")))
        out["posguard_stream_frames_total"].append((k, t["frames"]))
        out["posguard_stream_bad_frames_total"].append((k, t["bad"]))
        out["posguard_stream_reconnects_total"].append((k, t["reconnects"]))
        if s.last_frame_ms:
            out["posguard_stream_last_frame_age_seconds"].append(
                (k, max(now_ms - s.last_frame_ms, 0) / 1000))
        if s.event_lag_ms is not None:
            out["posguard_stream_event_lag_seconds"].append((k, s.event_lag_ms / 1000))
        if s.kind.rsplit(":", 1)[-1] == "market":  # "account:market" with several accounts
            out["posguard_stream_subscriptions"].append((k, float(s.subscriptions)))


def _symbol_values(v: SymbolView) -> dict[str, float]:
    """The counters of one view, flat, as Totals keeps them."""
    c = v.counters
    assert c is not None
    values: dict[str, float] = {"moves": c.moves, "quarantines": v.quarantines,
                                "unprotected_ms": c.unprotected_ms,
                                "append_count": c.append_count, "append_sum": c.append_sum_secs}
    values.update({f"fail:{kind}": n for kind, n in c.stop_failures})
    values.update({f"le:{le!r}": n for le, n in zip(c.append_le_secs, c.append_buckets,
                                                    strict=True)})
    return values


def _pool(p: PoolStatus, account: str, out: dict[str, list[Sample]]) -> None:
    """One account's exchange pool: every sample labelled with the account (each account
    has its own pool, budget and venue limits)."""
    a = (account,)
    for window, limit, used, sent, server in (
            ("10s", p.orders_limit_10s, p.orders_used_10s, p.orders_sent_10s,
             p.server_orders_10s),
            ("1m", p.orders_limit_1m, p.orders_used_1m, p.orders_sent_1m, p.server_orders_1m)):
        out["posguard_order_budget_limit"].append(((window, account), float(limit)))
        out["posguard_order_budget_used"].append(((window, account), float(used)))
        out["posguard_order_budget_sent"].append(((window, account), float(sent)))
        if server is not None:
            out["posguard_exchange_order_count"].append(((window, account), float(server)))
    if p.server_weight_1m is not None:
        out["posguard_exchange_used_weight_1m"].append((a, float(p.server_weight_1m)))
    if p.weight_used_1m is not None:
        out["posguard_request_weight_used_1m"].append((a, float(p.weight_used_1m)))
    out["posguard_request_weight_limit_1m"].append((a, float(p.weight_limit_1m)))
    out["posguard_pool_queued_requests"].append((a, float(p.queued)))
    out["posguard_pool_paused_seconds"].append((a, p.paused_secs))


def _number(text: Any) -> float:
    try:
        return float(Decimal(str(text)))
    except (InvalidOperation, ValueError):
        return 0.0
