"""Every metric the endpoint exposes: name, type, help and labels, in one table.

Names carry the `posguard_` prefix and their unit (`_seconds`, `_bps`, `_total`); position
sizes are in the symbol's base asset. docs/grafana-posguard.json uses only these names (a unit
test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

GAUGE, COUNTER, HISTOGRAM = "gauge", "counter", "histogram"
RESTARTED = (" Counted in the actor's process, which starts from zero when it restarts: the "
             "launcher adds what the old process had reached by the last status it read, so "
             "the total only grows (counts made after that status are lost).")


@dataclass(frozen=True, slots=True)
class Spec:
    """One metric family."""

    name: str
    """Family name (a counter's samples add `_total` if the name has none)."""
    kind: str
    """gauge, counter or histogram."""
    help: str
    """One line for the HELP comment."""
    labels: tuple[str, ...] = ()
    """Label names, in the order samples give their values."""


SPECS: tuple[Spec, ...] = (
    # ------------------------------------------------------------------ per symbol
    Spec("posguard_symbol_state", GAUGE, "1 for the state the symbol is in (FLAT, OPENING, "
         "OPEN_UNPROTECTED, PROTECTED, MOVING_STOP, CLOSING, RECONCILING, QUARANTINED, or the "
         "supervisor's STARTING, RESTARTING, PASSIVATED).", ("symbol", "state")),
    Spec("posguard_position_side", GAUGE, "Position side: 1 long, -1 short, 0 none.",
         ("symbol",)),
    Spec("posguard_position_size", GAUGE, "Position size in the base asset (0 when flat).",
         ("symbol",)),
    Spec("posguard_position_unprotected", GAUGE, "1 while a position is open and no stop of "
         "posguard's rests for it.", ("symbol",)),
    Spec("posguard_stop_distance_bps", GAUGE, "The resting stop's distance from the mark "
         "price in basis points of the mark: (mark - stop) / mark for a long, (stop - mark) / "
         "mark for a short; below 0 the mark is past the stop.", ("symbol",)),
    Spec("posguard_symbol_view_age_seconds", GAUGE, "Age of the symbol actor's view these "
         "figures come from (metrics.refresh_secs bounds it while the actor runs).",
         ("symbol",)),
    Spec("posguard_stop_moves_total", COUNTER, "Managed trailing-stop moves accepted by the "
         "exchange." + RESTARTED, ("symbol",)),
    Spec("posguard_stop_failures_total", COUNTER, "Stop placements (fixed or trailing) that "
         "failed, by failure kind (temporary, unknown, would_trigger, rejected, not_found, "
         "halt)." + RESTARTED, ("symbol", "kind")),
    Spec("posguard_quarantines_total", COUNTER, "Times a symbol was quarantined: by=actor by "
         "its state machine (counted in the actor's process; the launcher keeps the total "
         "across restarts), by=supervisor after supervisor.max_restarts (counted when the "
         "launcher first sees it).", ("symbol", "by")),
    Spec("posguard_unprotected_seconds_total", COUNTER, "Time a position of the symbol had no "
         "resting stop of posguard's, from the actor's own bookkeeping (the stretch under way "
         "included)." + RESTARTED, ("symbol",)),
    # ------------------------------------------------------------------ actors
    Spec("posguard_actor_restarts_total", COUNTER, "Restarts of an actor by the supervisor "
         "(kept across the supervisor's re-creation by the launcher).", ("kind", "symbol")),
    Spec("posguard_supervisor_restarts_total", COUNTER, "Times the launcher saw a new "
         "supervisor process (re-created after it died or stopped answering)."),
    Spec("posguard_poison_messages_total", COUNTER, "Messages whose handler raised twice "
         "(Thespian PoisonMessage), as the supervisor counts them." + RESTARTED),
    # ------------------------------------------------------------------ streams
    Spec("posguard_stream_connected", GAUGE, "1 while the stream's WebSocket is connected.",
         ("stream",)),
    Spec("posguard_stream_frames_total", COUNTER, "WebSocket frames received." + RESTARTED,
         ("stream",)),
    Spec("posguard_stream_bad_frames_total", COUNTER, "Malformed frames (logged and skipped)."
         + RESTARTED, ("stream",)),
    Spec("posguard_stream_reconnects_total", COUNTER, "Reconnects of the stream." + RESTARTED,
         ("stream",)),
    Spec("posguard_stream_last_frame_age_seconds", GAUGE, "Time since the stream's last frame "
         "or pong (as of its last health report, at most 5 s old).", ("stream",)),
    Spec("posguard_stream_event_lag_seconds", GAUGE, "The last event's lag: when posguard read "
         "it minus the exchange's event time (includes the clock skew).", ("stream",)),
    Spec("posguard_stream_subscriptions", GAUGE, "Symbols the market stream is subscribed to.",
         ("stream",)),
    # ------------------------------------------------------------------ order budget
    # One pool per account: every sample names its account (the legacy one: main).
    Spec("posguard_order_budget_limit", GAUGE, "The pool's order budget per window (config, "
         "lowered to the exchange's published limits).", ("window", "account")),
    Spec("posguard_order_budget_used", GAUGE, "Orders the pool counts in the window: its own "
         "plus the others the server's X-MBX-ORDER-COUNT reported.", ("window", "account")),
    Spec("posguard_order_budget_sent", GAUGE, "Orders this pool sent in the window.",
         ("window", "account")),
    Spec("posguard_exchange_order_count", GAUGE, "The server's last X-MBX-ORDER-COUNT-10S / -1M "
         "(absent when none arrived within the window).", ("window", "account")),
    Spec("posguard_exchange_used_weight_1m", GAUGE, "The server's last X-MBX-USED-WEIGHT-1M "
         "(absent when none arrived within the minute).", ("account",)),
    Spec("posguard_request_weight_used_1m", GAUGE, "Request weight of the minute as the pool "
         "estimates it: the server's figure plus what it sent since.", ("account",)),
    Spec("posguard_request_weight_limit_1m", GAUGE, "Request weight allowed per minute.",
         ("account",)),
    Spec("posguard_pool_queued_requests", GAUGE, "Exchange requests waiting in the pool.",
         ("account",)),
    Spec("posguard_pool_paused_seconds", GAUGE, "Longest pause left after a 429 / 418 "
         "(Retry-After).", ("account",)),
    # ------------------------------------------------------------------ store, engine
    Spec("posguard_store_append_seconds", HISTOGRAM, "Latency of the symbol actors' journal "
         "appends (one durable transaction each), all symbols." + RESTARTED),
    Spec("posguard_status_age_seconds", GAUGE, "Time since the launcher last read the "
         "supervisor's status (every figure here is as of then)."),
    Spec("posguard_engine_info", GAUGE, "1, labelled with the instance's mode and fencing "
         "epoch.", ("mode", "epoch")),
)
BY_NAME = {s.name: s for s in SPECS}
