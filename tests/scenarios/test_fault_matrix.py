"""Every fault the simulator can inject, against the running system (`posguard run` + CLI).

Each case asserts the exchange's truth (`/_sim/state` and the simulator's order book): the
position's size, exactly one resting stop per open position, and no order posguard did not
mean to place (orders are counted by posguard's client-id prefix `pg-`). Cases the existing
suite already proves are not repeated: a stream closed after 20 dropped events, the listen
key expiring with the position open, a sweep adopting an unseen position
(tests/integration/system/test_running_system.py) and a stop placement timing out with its
events dropped (tests/integration/actors/test_symbol_actor.py).

Every case runs on both venues (the `venue` fixture, tests/fixtures/venues.py): its faults aim
at that venue's paths with that venue's codes (table VENUE_CODES below: Bybit's from
venues/bybit/errors.py and protocol/bybit-linear.md "Errors"). Where Bybit works differently
the case says what it checks instead:
- a trailing move is one amend in place (POST /v5/order/amend): one stop order throughout,
  its trigger changed, nothing cancelled; a resize after a partial fill amends the quantity;
- Bybit has no listen key to expire: the nearest real fault is the venue refusing the private
  socket's authentication (here: the socket is cut and every re-auth refused until the stop
  has fired, as when a key is briefly revoked or the signature clock is off);
- Bybit has no -4130 (a closePosition stop already resting): its nearest refusal of a
  stop placement is 10001 (a params error), REJECTED like -4130.
The simulator's stream faults count the simulator's events (one engine event may be several
Bybit pushes), so OPEN_EVENTS / STOP_FILL_EVENTS hold on both fronts; a Bybit move is 1 event
(so the reorder case duplicates it instead: one event has no order to change).
"""

from __future__ import annotations

import dataclasses
import os
import signal
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from system.sim.bybit.ws_private import private_streams
from tests.fixtures.launcher import Launched
from tests.fixtures.venues import VENUES, VenueCase

SYM, QTY, ENTRY = "BTCUSDT", "0.010", "60000"
STOP = Decimal("58800.0")          # 2 % below ENTRY
PEAK, MOVED = "60700", "60396.5"   # activates trailing; 0.5 % below the peak
BELOW_STOP = "58700"
# A fill is NEW, TRADE_LITE, TRADE, ACCOUNT_UPDATE; a move the new stop's NEW and the old
# one's CANCELED; a stop fill TRIGGERING, TRIGGERED, NEW, TRADE_LITE, TRADE, ACCOUNT_UPDATE,
# FINISHED (README, "Stream event order").
OPEN_EVENTS, MOVE_EVENTS, STOP_FILL_EVENTS = 4, 2, 7
AMEND_EVENTS = 1  # Bybit: the amended stop's one update


@dataclass(frozen=True, slots=True)
class VenueCodes:
    """One venue's refusals of a stop placement, as the cases inject them."""

    retried: tuple[tuple[int, int], ...]
    """(HTTP status, code) of the transient refusals a retry gets past (5xx, rate limit)."""
    would_trigger: tuple[int, str]
    """The trigger is already past (Binance -2021): close at market."""
    rejected: tuple[tuple[int, str], ...]
    """Refusals that leave the position without a stop (REJECTED): reconcile, place again."""
    reduce_only: int
    """The reduce-only refusal among `rejected` (counted as stop_rejected)."""


VENUE_CODES = {
    "binanceusdm": VenueCodes(
        retried=((500, -1000), (503, -1001), (429, -1003)),
        would_trigger=(-2021, "Order would immediately trigger."),
        rejected=((-2022, "ReduceOnly Order is rejected."),
                  (-4130, "An open stop or take profit order with GTE and closePosition in "
                          "the direction is existing.")),
        reduce_only=-2022),
    "bybit": VenueCodes(
        # 10016 "server error" (HTTP 200, and as a gateway's 503), 10006 "too many visits"
        # (posguard reads it as a 429 and pauses).
        retried=((200, 10016), (503, 10016), (200, 10006)),
        would_trigger=(110092, "expect Falling, but trigger_price[60000] >= current[60000]"),
        rejected=((110017, "Reduce-only rule not satisfied"),
                  (10001, "params error: triggerDirection invalid")),
        reduce_only=110017),
}
RETRIED = [pytest.param(v, status, code, id=f"{v.name}-{status}-{code}")
           for v in VENUES for status, code in VENUE_CODES[v.name].retried]
"""(venue, status, code): the `venue` fixture parametrised directly, with each venue's codes."""
REJECTED = [pytest.param(v, code, msg, id=f"{v.name}-{code}")
            for v in VENUES for code, msg in VENUE_CODES[v.name].rejected]
QUARANTINING = [pytest.param(v, code, msg, id=f"{v.name}-{code}") for v in VENUES
                for code, msg in ((VENUE_CODES[v.name].rejected[0]),
                                  (v.fail_code, "Internal error; unable to process your "
                                                "request. Please try again."))]


# --------------------------------------------------------------------------- helpers


def _open(system: Launched, symbol: str = SYM, qty: str = QTY, side: str = "long",
          wait: bool = True) -> None:
    r = system.cli("open", symbol, "--side", side, "--qty", qty,
                   *([] if wait else ["--no-wait"]))
    assert r.returncode == 0, f"open {symbol} failed: {r.stdout} {r.stderr}"


def _book(sim: Any, symbol: str = SYM) -> dict[str, list[tuple[str, str, str, str]]]:
    """posguard's orders on the exchange, ever: (client id, type, status, qty)."""
    def read(s: Any) -> dict[str, list[tuple[str, str, str, str]]]:
        return {"orders": [(o.client_id, o.orig_type, o.status, str(o.orig_qty))
                           for o in s.engine.orders.values()
                           if o.symbol == symbol and o.client_id.startswith("pg-")],
                "algos": [(a.client_algo_id, a.order_type, a.status, str(a.quantity))
                          for a in s.engine.algos.values()
                          if a.symbol == symbol and a.client_algo_id.startswith("pg-")]}
    return sim.call(read)


def _truth(system: Launched, symbol: str = SYM) -> dict[str, Any]:
    """Position amount, resting stops, fills and coverage lost for `symbol`."""
    st = system.control.state()
    per = st["unprotected"]["per_symbol"].get(symbol, {})
    return {"amount": sum((Decimal(p["positionAmt"]) for p in st["positions"]
                           if p["symbol"] == symbol), Decimal(0)),
            "stops": [o for o in st["open_algo_orders"] if o["symbol"] == symbol],
            "fills": [f for f in st["fills"] if f["symbol"] == symbol],
            "coverage_lost": per.get("total_ms_by_kind", {}).get("coverage_lost", 0)}


def _ids(venue: VenueCase, stops: list[dict[str, Any]]) -> list[str]:
    """The venue's ids (what posguard shows) of resting stops of /_sim/state."""
    return [venue.order_id(o["algoId"]) for o in stops]


def _kinds(system: Launched, symbol: str = SYM) -> list[str]:
    return [r["kind"] for r in system.json("journal", symbol)]


def _protected_by_one_stop(system: Launched, venue: VenueCase,
                           qty: str = QTY) -> dict[str, Any]:
    """PROTECTED in posguard, and on the exchange the position with exactly that one stop."""
    row = system.wait_state(SYM, "PROTECTED")
    truth = system.wait_for(lambda: (t := _truth(system)) and len(t["stops"]) == 1 and t,
                            "exactly one resting stop")
    assert truth["amount"] == Decimal(qty)
    assert _ids(venue, truth["stops"]) == [row["stop_order_id"]]
    assert Decimal(truth["stops"][0]["quantity"]) == Decimal(qty)
    return row


def _statuses(entries: list[tuple[str, str, str, str]]) -> list[str]:
    return [status for _, _, status, _ in entries]


def _arm(system: Launched, fault: str, n: int) -> None:
    if fault == "duplicate":
        system.control.duplicate_events(n)
    else:
        system.control.reorder_events(n)


def _refuse_stop(system: Launched, venue: VenueCase, code: int, msg: str) -> None:
    """The next stop placement refused with `code` (Binance HTTP 400, Bybit 200)."""
    t = venue.place_stop
    system.control.fail_next(t.method, t.path, code=code, msg=msg, with_param=t.with_param,
                             status=200 if venue.fail_status == 200 else 400)


# --------------------------------------------------------------------------- stream events


@pytest.mark.parametrize("fault", ["duplicate", "reorder"])
def test_duplicated_or_reordered_events_through_open_move_and_stop_fill_change_nothing(
        launched, sim, venue, fault):
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)

    _arm(system, fault, OPEN_EVENTS)
    _open(system)
    first = _protected_by_one_stop(system, venue)
    # Binance: the new stop's NEW, the old stop's CANCELED; Bybit: the amended stop's update
    # (a reorder of one event is no fault: it is duplicated there instead).
    _arm(system, "duplicate" if venue.amends else fault,
         AMEND_EVENTS if venue.amends else MOVE_EVENTS)
    system.control.set_price(SYM, PEAK, mark=PEAK)   # the market stream delivers it
    moved = system.wait_for(lambda: (s := system.symbols()[SYM])["state"] == "PROTECTED"
                            and s["stop_price"] == MOVED and s, "the trailed stop")
    assert _ids(venue, _truth(system)["stops"]) == [moved["stop_order_id"]]
    _arm(system, fault, STOP_FILL_EVENTS)
    system.control.set_price(SYM, BELOW_STOP, mark=BELOW_STOP)
    system.wait_state(SYM, "FLAT")

    truth, book = _truth(system), _book(sim)
    assert system.control.state()["faults"]["stream"] == [], "every armed fault was used"
    assert truth["amount"] == 0 and truth["stops"] == [] and len(truth["fills"]) == 2
    assert truth["coverage_lost"] == 0
    assert _statuses(book["orders"]) == ["FILLED", "FILLED"]  # the open, the stop's child
    if venue.amends:  # one stop, amended in place, then fired
        assert moved["stop_client_id"] == first["stop_client_id"]
        assert [(c, s) for c, _, s, _ in book["algos"]] == [(first["stop_client_id"],
                                                             "FINISHED")]
    else:
        assert [(c, s) for c, _, s, _ in book["algos"]] == [
            (first["stop_client_id"], "CANCELED"), (moved["stop_client_id"], "FINISHED")]


@pytest.mark.launch_config("reconcile.interval_secs=1")
def test_a_stop_fill_whose_events_were_all_dropped_is_found_by_the_periodic_sweep(
        launched, venue):
    # (Healing by a reconnect is test_running_system's stream-closed case.)
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    _open(system)
    system.control.drop_events(STOP_FILL_EVENTS)

    system.control.set_price(SYM, BELOW_STOP, mark=BELOW_STOP)

    system.wait_state(SYM, "FLAT", timeout_secs=20)
    truth = _truth(system)
    assert truth["amount"] == 0 and truth["stops"] == [] and len(truth["fills"]) == 2
    journal = system.json("journal", SYM)
    reasons = [r["payload"].get("reason") for r in journal if r["kind"] == "reconcile_started"]
    assert "sweep: exchange differs" in reasons
    assert journal[-1]["kind"] == "closed_while_away", [r["kind"] for r in journal]


# --------------------------------------------------------------------------- stream outages


class _Outage:
    """One user-stream outage: begun before the stop fires, ended once it has."""

    why = ""

    def __init__(self, system: Launched, sim: Any) -> None:
        self.system, self.sim = system, sim

    def begin(self) -> None:
        raise NotImplementedError

    def end(self) -> None:
        """After the stop fired on the exchange (most outages end by themselves)."""


class _Closed(_Outage):
    why = "closed by the server"

    def begin(self) -> None:
        self.system.control.close_user_streams()


class _Expired(_Outage):
    why = "listen key expired"

    def begin(self) -> None:
        self.system.control.expire_listen_key()


class _Silent(_Outage):
    why = "silent for"

    def begin(self) -> None:
        self.system.control.silence_user_streams(20)


class _AuthRefused(_Outage):
    """Bybit's stand-in for the listen key expiring (it has none): the socket is cut and the
    venue refuses every re-auth ("Params Error", as v5 sends it) until the stop has fired
    and posguard has been told so at least once."""

    why = "refused the authentication"

    def __init__(self, system: Launched, sim: Any) -> None:
        super().__init__(system, sim)
        self.key = ""
        """The key the simulator accepted before (restored by `end`)."""

    def _key(self, key: str | None) -> str:
        def swap(s: Any) -> str:
            streams = private_streams(s)
            old = streams.settings.api_key
            streams.settings = dataclasses.replace(streams.settings,
                                                   api_key=key if key else old + "-revoked")
            return old
        return self.sim.call(swap)

    def begin(self) -> None:
        self.key = self._key(None)
        self.system.control.close_user_streams()

    def end(self) -> None:
        self.system.wait_for(lambda: self.why in (self.system.json("status")["stream"]["user"]
                                                  ["last_error"] or ""),
                             "a re-auth to be refused", 30)
        self._key(self.key)


# Closed or expired: a slow first reconnect, so the stop fires while posguard is away and
# only a reconcile can tell it. Silent: the dead peer is found after stream_silence_secs.
SLOW_RECONNECT = pytest.mark.launch_config("streams.reconnect_backoff_min_ms=3000")
QUICK_SILENCE = pytest.mark.launch_config("streams.stream_silence_secs=2")


@pytest.mark.parametrize("outage", [
    pytest.param(_Closed, marks=SLOW_RECONNECT, id="stream-closed"),
    pytest.param(_Expired, marks=SLOW_RECONNECT, id="listen-key-expired"),
    pytest.param(_Silent, marks=QUICK_SILENCE, id="stream-silent")])
def test_a_stop_fill_during_a_stream_outage_is_healed_by_the_reconcile_after_reconnecting(
        launched, sim, venue, outage):
    if outage is _Expired and not venue.listen_key:
        outage = _AuthRefused  # the venue's nearest real fault (module docstring)
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    system.control.set_price("ETHUSDT", "3000", mark="3000")
    _open(system)
    _open(system, "ETHUSDT", "0.100", side="short")
    eth = system.symbols()["ETHUSDT"]
    before = system.json("status")["stream"]["user"]["reconnects"]
    fault = outage(system, sim)

    fault.begin()
    system.control.set_price(SYM, BELOW_STOP, mark=BELOW_STOP)  # the stop fires; nobody hears of it
    system.wait_for(lambda: _truth(system)["amount"] == 0, "the stop to fire on the exchange")
    fault.end()

    user = system.wait_for(lambda: (u := system.json("status")["stream"]["user"])
                           ["reconnects"] > before and u["state"] == "connected" and u,
                           "the user stream to reconnect", 30)
    assert fault.why in (user["last_error"] or ""), user
    system.wait_state(SYM, "FLAT", timeout_secs=20)
    kinds = _kinds(system)
    assert kinds[-1] == "closed_while_away", f"healed by the reconcile, not the stream: {kinds}"
    truth = _truth(system)
    assert truth["amount"] == 0 and truth["stops"] == []
    system.wait_for(lambda: any(r["kind"] == "reconcile_started" and "user stream connection"
                                in r["payload"].get("reason", "")
                                for r in system.json("journal", "ETHUSDT")),
                    "ETHUSDT to reconcile after the reconnect")
    after = system.wait_state("ETHUSDT", "PROTECTED")
    assert after["stop_order_id"] == eth["stop_order_id"]
    assert _ids(venue, _truth(system, "ETHUSDT")["stops"]) == [eth["stop_order_id"]]


# --------------------------------------------------------------------------- REST faults


def _drop_events_of(system: Launched, target: str) -> None:
    """Drop the stream events that would tell posguard the outcome of `target`."""
    if target == "open":
        system.control.drop_events(OPEN_EVENTS)
        return
    if target == "stop":  # the open's events pass (a fault must cover them) ...
        system.control.delay_events(OPEN_EVENTS, 1)
    system.control.drop_events(1)  # ... the new (Bybit: amended) stop's update does not


@pytest.mark.parametrize("target", ["open", "stop", "move"])
def test_a_rest_timeout_on_a_placed_order_never_places_it_twice(launched, sim, venue, target):
    # The request IS served (the order exists, or the stop is amended) but the reply never
    # comes and the order's stream events are dropped: only the lookup by client id can tell
    # what happened.
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    if target == "move":
        _open(system)
        _protected_by_one_stop(system, venue)
    aimed = {"open": venue.place_market, "stop": venue.place_stop, "move": venue.move_stop}
    venue.timeout_next(system.control, aimed[target], hold_ms=3000)
    _drop_events_of(system, target)

    if target == "move":
        system.control.set_price(SYM, PEAK, mark=PEAK)
        system.wait_for(lambda: system.symbols()[SYM]["stop_price"] == MOVED, "the move", 30)
    else:
        _open(system)

    row = _protected_by_one_stop(system, venue)
    book = _book(sim)
    assert [(c.split("-")[-2], s) for c, _, s, _ in book["orders"]] == [("op", "FILLED")]
    stops = [(c, s) for c, _, s, _ in book["algos"]]
    assert len({c for c, _ in stops}) == len(stops), f"a client id placed twice: {stops}"
    assert [c for c, s in stops if s == "NEW"] == [row["stop_client_id"]]
    # A Binance move places a second stop (new-first); a Bybit move amends the one it has.
    assert len(stops) == (2 if target == "move" and not venue.amends else 1), stops
    assert Decimal(_truth(system)["stops"][0]["triggerPrice"]) == Decimal(row["stop_price"])
    kind = {"open": "open_outcome_unknown", "stop": "stop_outcome_unknown",
            "move": "stop_amend_outcome_unknown" if venue.amends
            else "stop_outcome_unknown"}[target]
    assert kind in _kinds(system), _kinds(system)


@pytest.mark.parametrize("venue,status,code", RETRIED)
def test_5xx_and_429_on_stop_placement_are_retried_into_exactly_one_stop(
        launched, sim, venue, status, code):
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    for _ in range(2):  # two refusals in a row, then the exchange serves it
        system.control.fail_next(venue.place_stop.method, venue.place_stop.path, code=code,
                                 status=status, msg="Injected.",
                                 with_param=venue.place_stop.with_param)

    _open(system)

    _protected_by_one_stop(system, venue)
    assert system.control.state()["faults"]["http"] == [], "both failures were hit"
    book = _book(sim)
    assert [s for _, _, s, _ in book["algos"]] == ["NEW"], book
    assert _statuses(book["orders"]) == ["FILLED"]


def test_a_stop_whose_trigger_is_already_past_closes_the_position_at_market(
        launched, sim, venue):
    # Binance -2021, Bybit 110092 (VENUE_CODES).
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    _refuse_stop(system, venue, *VENUE_CODES[venue.name].would_trigger)

    _open(system, wait=False)

    system.wait_state(SYM, "FLAT")
    truth, book = _truth(system), _book(sim)
    assert truth["amount"] == 0 and truth["stops"] == [] and len(truth["fills"]) == 2
    kinds = _kinds(system)
    assert [(c.split("-")[-2], s) for c, _, s, _ in book["orders"]] == [
        ("op", "FILLED"), ("cl", "FILLED")], (book, kinds)
    # Nothing rests and no stop ever fired. A stop placed after the close was sent is legal
    # only as a reconcile's protection of the position it still found (the close's outcome
    # not known yet; seen once on a loaded CI machine): it must then be cancelled, never left.
    assert all(status == "CANCELED" for _, _, status, _ in book["algos"]), (book, kinds)
    if book["algos"]:
        after = kinds[kinds.index("stop_would_trigger_close"):]
        assert {"open_recovered", "stop_missing_replaced", "position_adopted"} & set(after), \
            (book, kinds)
    assert kinds.index("stop_would_trigger_close") < kinds.index("closed_at_market"), kinds




@pytest.mark.parametrize("venue,code,msg", REJECTED)
def test_a_stop_refused_once_is_placed_again_after_a_reconcile(launched, sim, venue, code, msg):
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    _refuse_stop(system, venue, code, msg)

    _open(system, wait=False)

    _protected_by_one_stop(system, venue)
    kinds = _kinds(system)
    # stop_rejected -> the reconcile finds the position without a stop -> placed again.
    assert kinds.index("stop_rejected") < kinds.index("open_recovered") < kinds.index(
        "stop_placed"), kinds
    assert [s for _, _, s, _ in _book(sim)["algos"]] == ["NEW"]


@pytest.mark.parametrize("venue,code,msg", QUARANTINING)
def test_a_stop_refused_three_times_in_a_row_quarantines_alerts_and_keeps_placing_it(
        launched, sim, venue, code, msg):
    # Issue 13: the quarantine used to leave the position naked until something unrelated
    # (a reconnect) released it. Now it alerts at once and the stop keeps being placed.
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    for _ in range(3):
        _refuse_stop(system, venue, code, msg)

    _open(system, wait=False)

    row = _protected_by_one_stop(system, venue)
    assert system.control.state()["faults"]["http"] == []
    kinds = _kinds(system)
    assert kinds.index("quarantined") < kinds.index("stop_placed"), kinds
    placed = next(r for r in system.json("journal", SYM) if r["kind"] == "stop_placed")
    assert placed["payload"]["released"] == "quarantine"
    assert [c for c, _, s, _ in _book(sim)["algos"] if s == "NEW"] == [row["stop_client_id"]]
    assert row["last_error"] is None and row["protection"] == "protected"
    log = (system.log.parent / "actors.log").read_text()
    assert f"ALERT {SYM} QUARANTINED and UNPROTECTED" in log
    if code == VENUE_CODES[venue.name].reduce_only:
        assert kinds.count("stop_rejected") == 2, kinds


def test_a_partial_fill_then_the_rest_resizes_the_stop_to_the_full_position(
        launched, sim, venue):
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    system.control.partial_fill(SYM, 0.3, after_ms=800)

    _open(system, wait=False)

    system.wait_for(lambda: (t := _truth(system))["amount"] == Decimal(QTY) and len(
        t["stops"]) == 1 and Decimal(t["stops"][0]["quantity"]) == Decimal(QTY),
        "one stop for the whole position", 20)
    _protected_by_one_stop(system, venue)
    book = _book(sim)
    assert [(s, Decimal(q)) for _, _, s, q in book["orders"]] == [("FILLED", Decimal(QTY))]
    stops = [(s, Decimal(q)) for _, _, s, q in book["algos"]]
    if venue.amends:  # the one stop's quantity amended from 0.003 to the whole 0.010
        assert stops == [("NEW", Decimal(QTY))], stops
        assert "stop_resized" in _kinds(system), _kinds(system)
    else:
        assert stops == [("CANCELED", Decimal("0.003")), ("NEW", Decimal(QTY))], stops
    assert _truth(system)["coverage_lost"] == 0
    assert Decimal(system.symbols()[SYM]["qty"]) == Decimal(QTY)


# --------------------------------------------------------------------------- actor kills


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead too
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_every_market_stream_shard_killed_at_once_is_replaced(launched, venue):
    # Found by the chaos run (kill_market_stream, seeds 1001, 1002, 2023): the shards SIGKILLed
    # back to back are not all replaced; the dead ones stay listed and their symbols get no
    # prices (no trailing) until something else restarts the supervisor. Thespian merged
    # the deaths' notices (7 of 8 came); actors/child_watch.py makes up the missing ones.
    system = launched
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    _open(system)
    shards = [r["pid"] for r in system.json("actors") if r["kind"] == "market_stream"]
    assert len(shards) > 1, shards

    for pid in shards:  # each a process of this test's own `posguard run`
        os.kill(pid, signal.SIGKILL)

    def replaced() -> list[dict[str, Any]] | None:
        rows = [r for r in system.json("actors") if r["kind"] == "market_stream"]
        fresh = [r for r in rows if r["pid"] and r["pid"] not in shards and _alive(r["pid"])]
        return rows if len(fresh) == len(shards) == len(rows) else None
    system.wait_for(replaced, f"all {len(shards)} market shards replaced", 20)
    system.control.set_price(SYM, PEAK, mark=PEAK)          # and prices reach the symbol
    system.wait_for(lambda: system.symbols()[SYM]["stop_price"] == MOVED, "the trail move", 15)
