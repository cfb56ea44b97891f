"""Amends and position-attached stops of the engine (Bybit), and the marks Bybit's stream needs.

A mixin of `Engine` (system/sim/engine.py), like AlgoOrders. A conditional order amended in
place keeps its id; a position-attached stop (Bybit `/v5/position/trading-stop`) is an
AlgoOrder with `attached` set: the venue sizes it to the whole position, resizes it with every
fill and cancels it when the position closes (trading-stop.mdx, cancelType
CancelByTpSlTsClear). Only the Bybit front calls these; with venue binanceusdm no event ever
carries an underscore mark (the frames stay Binance's). Marks: /work/h16/simrest-events.md.
"""

from __future__ import annotations

from decimal import Decimal

from system.sim import errors as E
from system.sim import events as ev
from system.sim import triggers
from system.sim.engine_algos import check_direction, direction_fires
from system.sim.errors import SimError, err
from system.sim.model import ZERO, AlgoOrder

STOP_LOSS, TRAILING_STOP = "StopLoss", "TrailingStop"
NOT_RESTING = (110001, "order not exists or too late to replace")
TRIGGER_BY = {"MarkPrice": "MARK_PRICE", "LastPrice": "CONTRACT_PRICE"}
"""Bybit triggerBy -> the engine's working type (IndexPrice is not simulated)."""


class AttachedStops:
    """Amend, trading-stop and the Bybit marks (mixed into Engine)."""

    @property
    def bybit(self) -> bool:
        """Whether the engine serves the Bybit front (its events carry the marks)."""
        return self.settings.venue == "bybit"

    # ---- events -------------------------------------------------------------------
    def _emit_algo(self, a: AlgoOrder, now_ms: int, **marks) -> None:
        e = ev.algo_update(a, self.markets[a.symbol], now_ms)
        if self.bybit:
            e.update(self._algo_marks(a), **marks)
        self.outbox.append(e)

    def _algo_marks(self, a: AlgoOrder) -> dict:
        m = self.markets[a.symbol]
        out = {"_trigger_direction": a.trigger_direction or (2 if a.side == "SELL" else 1),
               "_trigger_by": "MarkPrice" if a.working_type == "MARK_PRICE" else "LastPrice"}
        if a.attached:
            out["_attached"] = a.attached
        if a.attached == TRAILING_STOP:
            out["_trail_distance"] = m.fmt_price(a.trail_distance)
            out["_active_price"] = m.fmt_price(a.activate_price) if a.activate_price else "0"
        if a.status == "CANCELED":
            out["_cancel_type"] = a.cancel_type or "CancelByUser"
        return out

    def _mark_child(self, a: AlgoOrder, first: int) -> None:
        """Tag the triggered child's fill events (from outbox index `first`) with its algo."""
        if not self.bybit:
            return
        for e in self.outbox[first:]:
            if e.get("e") in ("ORDER_TRADE_UPDATE", "TRADE_LITE"):
                e["_algo_id"] = a.algo_id
                if a.attached:
                    e["_attached"] = a.attached

    def _account_event(self, symbol: str, now_ms: int) -> None:
        row = ev.position_row(self.ledger.position(symbol), self.markets[symbol],
                              self.marks[symbol])
        e = ev.account_update(self.ledger.wallet, [row], now_ms)
        if self.bybit:
            e["_tpsl"] = {symbol: self.tpsl(symbol)}
        self.outbox.append(e)

    def tpsl(self, symbol: str) -> dict:
        """The position's stopLoss / trailingStop / activePrice as Bybit shows them ("0": none)."""
        m = self.markets[symbol]
        out = {"stopLoss": "0", "trailingStop": "0", "activePrice": "0"}
        for a in self.attached_stops(symbol):
            if a.attached == STOP_LOSS:
                out["stopLoss"] = m.fmt_price(a.trigger_price)
            else:
                out["trailingStop"] = m.fmt_price(a.trail_distance)
                if a.activate_price:
                    out["activePrice"] = m.fmt_price(a.activate_price)
        return out

    def attached_stops(self, symbol: str) -> list[AlgoOrder]:
        """The symbol's resting position-attached stops."""
        return [a for a in self.open_algos(symbol) if a.attached]

    # ---- firing -------------------------------------------------------------------
    def _fires(self, a: AlgoOrder, price: Decimal) -> bool:
        if a.attached == TRAILING_STOP:
            return self._trail_by_distance(a, price)
        if a.trigger_direction:
            return direction_fires(a.trigger_direction, a.trigger_price, price)
        return triggers.observe(a, price)

    def _trail_by_distance(self, a: AlgoOrder, price: Decimal) -> bool:
        # Bybit's trailingStop: a fixed price distance behind the best price since activation.
        if not a.activated:
            if a.activate_price and not triggers.activation_reached(a.side, a.activate_price,
                                                                    price):
                return False
            a.activated, a.extreme = True, price
        if (price > a.extreme) if a.side == "SELL" else (price < a.extreme):
            a.extreme = price
        sign = -1 if a.side == "SELL" else 1
        a.trigger_price = self.markets[a.symbol].round_price(a.extreme + sign * a.trail_distance)
        return triggers.stop_fires(a.side, a.trigger_price, price)

    # ---- amend ----------------------------------------------------------------------
    def amend_algo(self, symbol: str, algo_id: int | None, client_id: str | None,
                   trigger_price: Decimal | None, qty: Decimal | None,
                   working_type: str | None = None) -> AlgoOrder:
        """POST /v5/order/amend of a resting conditional order: trigger and/or qty in place.

        Refused with 110001 when the order no longer rests (filled, triggered, cancelled):
        then nothing changes.
        """
        m = self.market(symbol)
        try:
            a = self.find_algo(symbol, algo_id, client_id)
        except SimError:
            raise SimError(*NOT_RESTING) from None
        if not a.is_open:
            raise SimError(*NOT_RESTING)
        if a.attached == TRAILING_STOP or (a.attached and qty is not None):
            # A Full-mode attached stop is sized by the position and a trailing one moves by
            # itself: trading-stop is the way to change them (what Bybit answers is unverified).
            raise SimError(10001, f"amending a {a.attached} order's "
                                  f"{'qty' if qty is not None else 'trigger'} is not simulated: "
                                  "use /v5/position/trading-stop")
        wt = working_type or a.working_type  # checked against the price it will watch
        if trigger_price is not None:
            if not m.price_ok(trigger_price):
                raise err(E.BAD_TICK)
            direction = a.trigger_direction or (2 if a.side == "SELL" else 1)
            ref = self.marks[symbol] if wt == "MARK_PRICE" else self.prices[symbol]
            check_direction(m, direction, trigger_price, ref)
        if qty is not None:
            self._check_qty(m, qty)
        a.working_type = wt
        if trigger_price is not None:
            a.trigger_price = trigger_price
        if qty is not None:
            a.quantity = qty
        a.update_ms = self.clock.now_ms()
        if self.probe is not None:
            # For the bench an amend is the old trigger gone and the new one resting at the
            # same instant (one order, no gap).
            t = self.clock.monotonic()
            self.probe.cancelled(a.symbol, t, a.client_algo_id)
            self.probe.placed(a.symbol, t, a.order_type, m.fmt_price(a.trigger_price),
                              m.fmt_qty(a.quantity), a.client_algo_id)
        self._emit_algo(a, a.update_ms, _amended=True)
        self._meter(symbol)
        return a

    # ---- trading-stop -----------------------------------------------------------------
    def set_trading_stop(self, symbol: str, stop_loss: Decimal | None, sl_trigger_by: str,
                         trailing: Decimal | None, active: Decimal | None) -> None:
        """POST /v5/position/trading-stop (Full mode): set, move or clear ("0") the stops."""
        m = self.market(symbol)
        amt = self.ledger.position(symbol).amt
        if amt == 0:
            # v5's code for this is unverified (bybit-linear.md); ccxt keeps legacy 30024.
            raise SimError(10001, "can not set tp/sl/ts for zero position")
        side = "SELL" if amt > 0 else "BUY"
        current = {a.attached: a for a in self.attached_stops(symbol)}
        changed = False
        if stop_loss is not None:
            changed |= self._set_stop_loss(m, side, current.get(STOP_LOSS), stop_loss,
                                           TRIGGER_BY.get(sl_trigger_by, "CONTRACT_PRICE"))
        if trailing is not None:
            changed |= self._set_trailing(m, side, current.get(TRAILING_STOP), trailing,
                                          active or ZERO)
        if not changed:
            raise SimError(34040, "not modified")
        self._meter(symbol)
        self._account_event(symbol, self.clock.now_ms())

    def _set_stop_loss(self, m, side: str, a: AlgoOrder | None, price: Decimal,
                       working_type: str) -> bool:
        if price == 0:
            if a is not None:
                self._cancel(a)
            return a is not None
        if not m.price_ok(price):
            raise err(E.BAD_TICK)
        base = self.marks[m.symbol] if working_type == "MARK_PRICE" else self.prices[m.symbol]
        if (price >= base) if side == "SELL" else (price <= base):
            pos = "Buy" if side == "SELL" else "Sell"
            rel = "lower" if side == "SELL" else "greater"
            name = "MarkPrice" if working_type == "MARK_PRICE" else "LastPrice"
            raise SimError(10001, f"sl:{int(price * 10**8)} set for {pos} position should "
                                  f"{rel} base_price:{int(base * 10**8)}??{name}")
        if a is not None:
            if a.trigger_price == price and a.working_type == working_type:
                return False
            a.trigger_price, a.working_type = price, working_type
            a.update_ms = self.clock.now_ms()
            self._emit_algo(a, a.update_ms, _amended=True)
            return True
        self._new_attached(m, side, STOP_LOSS, price, working_type, ZERO, ZERO)
        return True

    def _set_trailing(self, m, side: str, a: AlgoOrder | None, distance: Decimal,
                      active: Decimal) -> bool:
        if distance == 0:
            if a is not None:
                self._cancel(a)
            return a is not None
        if not m.price_ok(distance) or (active and not m.price_ok(active)):
            raise err(E.BAD_TICK)
        if a is not None:
            if a.trail_distance == distance and a.activate_price == active:
                return False
            self._cancel(a)  # Bybit replaces the trailing order (a new system order)
        self._new_attached(m, side, TRAILING_STOP, ZERO, "CONTRACT_PRICE", distance, active)
        return True

    def _new_attached(self, m, side: str, kind: str, trigger: Decimal, working_type: str,
                      distance: Decimal, active: Decimal) -> AlgoOrder:
        now = self.clock.now_ms()
        trailing = kind == TRAILING_STOP
        a = AlgoOrder(next(self._algo_ids), "", m.symbol, side,
                      "TRAILING_STOP_MARKET" if trailing else "STOP_MARKET",
                      abs(self.ledger.position(m.symbol).amt), trigger, True, False,
                      working_type, now, activate_price=active, update_ms=now,
                      attached=kind, trail_distance=distance)
        if trailing:
            self._trail_by_distance(a, self.reference_price(a))
        self.algos[a.algo_id] = a
        self._prune(self.algos)
        self._emit_algo(a, now)
        return a

    def _follow_position(self, symbol: str) -> None:
        """After a fill: attached stops take the new size, or go when the position is flat."""
        amt = self.ledger.position(symbol).amt
        now = self.clock.now_ms()
        for a in self.attached_stops(symbol):
            closing_side = "SELL" if amt > 0 else "BUY"
            if amt == 0 or a.side != closing_side:
                self._cancel(a, "CancelByTpSlTsClear")
            elif a.quantity != abs(amt):
                a.quantity, a.update_ms = abs(amt), now
                self._emit_algo(a, now)
