"""Builders the stop-policy tests share (actors/protection.py): rules, policies, trails."""

from __future__ import annotations

from decimal import Decimal

from actors.protection import MarketRules, ProtectionPolicy, Side, TrailingPolicy, TrailState

D = Decimal
LONG, SHORT = Side.LONG, Side.SHORT
T0 = 1_700_000_000_000  # a realistic engine time (epoch ms); 0 means "never moved"


def rules(tick: str = "0.01", step: str = "0.001", min_qty: str = "0.001") -> MarketRules:
    return MarketRules(tick_size=D(tick), step_size=D(step), min_qty=D(min_qty))


def policy(stop_loss_pct: float = 2.0, **trailing: object) -> ProtectionPolicy:
    return ProtectionPolicy(stop_loss_pct=stop_loss_pct, trailing=TrailingPolicy(**trailing))


def state(stop: str, *, active: bool = False, peak: str | None = None,
          last_move_ms: int = 0, moves: int = 0) -> TrailState:
    return TrailState(active=active, peak=None if peak is None else D(peak),
                      stop_price=D(stop), last_move_ms=last_move_ms, moves=moves)
