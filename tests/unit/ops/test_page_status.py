"""The status page's JSON, built from hand-made supervisor statuses."""

from __future__ import annotations

import pytest

from actors.messages import ActorEntry, StreamStatus, SupervisorStatus, SymbolView
from ops.hub import EngineEvent
from ops.page.status import page_row, status_json, stop_distance, trailing_state
from system.admin import symbol_row

NOW = 1_795_263_300_000


def view(symbol: str = "BTCUSDT", **changes) -> SymbolView:
    fields = dict(symbol=symbol, state="PROTECTED", side="long", qty="0.010",
                  entry_price="60000", mark_price="61000", stop_price="60695",
                  stop_order_id="7", stop_client_id="pg-3-BTCUSDT-sl-2", trailing_active=True,
                  peak_price="61000", seq=9, last_error=None, last_event_ms=NOW - 4_000,
                  pid=4242)
    fields.update(changes)
    return SymbolView(**fields)


def entry(v: SymbolView | None, symbol: str = "BTCUSDT", state: str = "PROTECTED",
          pid: int | None = 4242, restarts: int = 0, reason: str | None = None) -> ActorEntry:
    return ActorEntry("symbol", symbol, pid, state, restarts, reason, None, v)


def status(*entries: ActorEntry, stopping: bool = False) -> SupervisorStatus:
    return SupervisorStatus(
        True, stopping, (*entries, ActorEntry("exchange_pool", None, 11, "running", 0, None)),
        (StreamStatus("user", "connected", 5, 0, 0, NOW, None, 0, 12),
         StreamStatus("market", "connected", 9, 0, 1, NOW, None, 2, 13)), 0, 10, 3,
        mode="paper", exchange_url="http://127.0.0.1:9999")


def test_each_row_holds_the_status_json_values_plus_distance_trailing_and_last_event():
    e = entry(view())

    row = page_row(e, "managed")

    assert {k: row[k] for k in symbol_row(None, e)} == symbol_row(None, e)
    assert (row["distance"], row["distance_pct"]) == ("305", "0.50")
    assert row["trailing"] == "active, peak 61000"
    assert row["last_event_ms"] == NOW - 4_000
    assert row["protection"] == "protected"


@pytest.mark.parametrize(("side", "mark", "stop", "distance", "pct"), [
    ("long", "100", "98", "2", "2.00"),      # stop below the mark: room to fall
    ("long", "97", "98", "-1", "-1.03"),     # mark already below a long's stop
    ("short", "100", "102.5", "2.5", "2.50"),  # stop above the mark: room to rise
    ("short", "103", "102.5", "-0.5", "-0.49"),  # mark already above a short's stop
])
def test_distance_is_positive_while_the_stop_is_on_the_protective_side(side, mark, stop,
                                                                         distance, pct):
    assert stop_distance(side, mark, stop) == (distance, pct)


@pytest.mark.parametrize(("side", "mark", "stop"), [
    (None, "100", "98"), ("long", None, "98"), ("long", "100", None), ("long", "0", "98"),
    ("long", "x", "98"), ("short", "NaN", "98"),
])
def test_no_distance_without_a_position_a_mark_and_a_stop(side, mark, stop):
    assert stop_distance(side, mark, stop) == (None, None)


def test_trailing_state_in_words_for_each_mode():
    waiting = view(trailing_active=False, peak_price=None)
    native = view(trailing_active=False, trailing_order_id="55", trailing_callback_pct="0.5",
                  trailing_activate_price="60600")

    assert trailing_state(view(), "managed") == "active, peak 61000"
    assert trailing_state(waiting, "managed") == "not yet active"
    assert trailing_state(waiting, "off") == "off"
    assert trailing_state(native, "native") == "native, callback 0.5%, activates at 60600"
    assert trailing_state(waiting, "native") == "native, no trailing order resting"
    assert trailing_state(view(side=None, qty="0"), "managed") is None
    assert trailing_state(None, "managed") is None


def test_status_lists_only_symbol_actors_sorted_with_streams_and_engine_events():
    st = status(entry(view("SOLUSDT"), "SOLUSDT"), entry(view("BTCUSDT")))
    events = [EngineEvent("started", "posguard started (paper, epoch 3)", NOW - 9_000)]

    out = status_json(st, NOW - 1_000, NOW, lambda s: "managed", events)

    assert [r["symbol"] for r in out["symbols"]] == ["BTCUSDT", "SOLUSDT"]
    assert (out["observed_ms"], out["now_ms"], out["mode"], out["epoch"]) == (
        NOW - 1_000, NOW, "paper", 3)
    assert out["stream"]["market"]["subscriptions"] == 2
    assert out["engine_events"] == [{"kind": "started", "text": "posguard started (paper, "
                                     "epoch 3)", "at_ms": NOW - 9_000}]


def test_trailing_mode_is_asked_per_symbol():
    st = status(entry(view("SOLUSDT", trailing_active=False), "SOLUSDT"),
                entry(view("BTCUSDT", trailing_active=False)))

    out = status_json(st, NOW, NOW, {"BTCUSDT": "off", "SOLUSDT": "managed"}.get)

    assert [r["trailing"] for r in out["symbols"]] == ["off", "not yet active"]


def test_a_quarantined_symbol_without_a_view_still_has_a_row():
    e = entry(None, "ETHUSDT", "QUARANTINED", pid=None, restarts=3, reason="restarted 3 times")

    row = status_json(status(e), NOW, NOW, lambda s: "managed")["symbols"][0]

    assert (row["state"], row["last_error"], row["distance"], row["trailing"],
            row["last_event_ms"], row["protection"]) == (
        "QUARANTINED", "restarted 3 times", None, None, None, None)


def test_an_unprotected_position_is_flagged():
    naked = view(stop_price=None, stop_order_id=None, unprotected=True,
                 state="OPEN_UNPROTECTED")

    row = page_row(entry(naked, state="OPEN_UNPROTECTED"), "managed")

    assert (row["protection"], row["distance"]) == ("UNPROTECTED", None)


def test_before_the_first_status_the_page_has_no_symbols():
    out = status_json(None, None, NOW, lambda s: "managed")

    assert (out["observed_ms"], out["symbols"], out["now_ms"]) == (None, [], NOW)
