"""Pure stop policy: initial stop, managed and native trailing, exchange rounding (no I/O)."""

# No `from __future__ import annotations` here on purpose: the config loader validates the
# policy dataclasses from `dataclasses.fields(...).type`, which must be real types, not strings.

from dataclasses import dataclass, field, fields, replace
from decimal import ROUND_FLOOR, Decimal
from enum import Enum, unique
from typing import Literal, get_args, get_origin

__all__ = [
    "MarketRules",
    "NativeTrailing",
    "PolicyError",
    "ProtectionPolicy",
    "Side",
    "TrailDecision",
    "TrailState",
    "TrailingPolicy",
    "accept_move",
    "closing_order_side",
    "initial_stop",
    "initial_trail_state",
    "native_trailing_params",
    "on_mark",
    "round_price_down",
    "round_price_up",
    "round_stop",
    "truncate_qty",
]

_HUNDRED = Decimal(100)


class PolicyError(ValueError):
    """A policy input the exchange would reject or that makes no sense (bad value, tiny qty)."""


# --------------------------------------------------------------------------- config schema
# The policy dataclasses are also the config schema: metadata["doc"] is each field's
# one-line docstring (with its unit); "min"/"max" are inclusive bounds. Literal fields carry
# their choices in the annotation, so no "choices" key is duplicated here.


def _check_bounds(obj: object) -> None:
    """Reject field values outside their metadata bounds or Literal choices."""
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        low, high = f.metadata.get("min"), f.metadata.get("max")
        choices = get_args(f.type) if get_origin(f.type) is Literal else ()
        too_low = low is not None and value < low
        too_high = high is not None and value > high
        if too_low or too_high or (choices and value not in choices):
            allowed = f"one of {choices}" if choices else f"{low}..{high}"
            raise PolicyError(f"{type(obj).__name__}.{f.name}={value!r}: allowed {allowed}")


@dataclass(frozen=True, slots=True)
class TrailingPolicy:
    """How a stop follows the price once the position is in profit."""

    mode: Literal["managed", "native", "off"] = field(
        default="managed",
        metadata={"doc": "managed: posguard moves a STOP_MARKET; native: exchange "
                         "TRAILING_STOP_MARKET; off: fixed stop only (enum)"},
    )
    activation_pct: float = field(
        default=1.0,
        metadata={"doc": "profit from entry that activates trailing (percent)",
                  "min": 0.0, "max": 100.0},
    )
    callback_pct: float = field(
        default=0.5,
        metadata={"doc": "distance of the stop behind the peak (percent)",
                  "min": 0.01, "max": 50.0},
    )
    min_move_ticks: int = field(
        default=1,
        metadata={"doc": "a move must tighten the stop by at least this much (ticks)", "min": 1},
    )
    min_update_interval_ms: int = field(
        default=500,
        metadata={"doc": "at most one managed move per this interval (milliseconds)", "min": 0},
    )

    def __post_init__(self) -> None:
        _check_bounds(self)


@dataclass(frozen=True, slots=True)
class ProtectionPolicy:
    """Per-symbol protection: the initial stop, trailing, and what to do on -2021."""

    stop_loss_pct: float = field(
        default=2.0,
        metadata={"doc": "initial stop distance from entry (percent)", "min": 0.01, "max": 99.0},
    )
    trailing: TrailingPolicy = field(
        default_factory=TrailingPolicy,
        metadata={"doc": "trailing-stop settings (section)"},
    )
    on_stop_would_trigger: Literal["close", "keep"] = field(
        default="close",
        metadata={"doc": "on -2021 for a stop move: close at market or keep the old stop (enum)"},
    )
    working_type: Literal["MARK_PRICE", "CONTRACT_PRICE"] = field(
        default="MARK_PRICE",
        metadata={"doc": "price that triggers the exchange stop orders (enum)"},
    )
    on_unprotectable: Literal["keep_retrying", "close"] = field(
        default="keep_retrying",
        metadata={"doc": "a position still without a resting stop after "
                         "unprotectable_after_minutes: keep retrying the stop (and alert "
                         "again), or close it at market (enum)"},
    )
    unprotectable_after_minutes: float = field(
        default=2.0,
        metadata={"doc": "how long a position may stay without a resting stop before "
                         "on_unprotectable applies (minutes)", "min": 0.0, "max": 1440.0},
    )

    def __post_init__(self) -> None:
        _check_bounds(self)


# --------------------------------------------------------------------------- market rules


@dataclass(frozen=True, slots=True)
class MarketRules:
    """The symbol's exchange filters (PRICE_FILTER tickSize, LOT_SIZE stepSize/minQty)."""

    tick_size: Decimal
    """Price increment (quote currency)."""
    step_size: Decimal
    """Quantity increment (base currency)."""
    min_qty: Decimal
    """Smallest order quantity the exchange accepts (base currency)."""

    def __post_init__(self) -> None:
        # A float here would silently reintroduce binary rounding into every price.
        for name in ("tick_size", "step_size", "min_qty"):
            if not isinstance(getattr(self, name), Decimal):
                raise PolicyError(f"MarketRules.{name} must be a Decimal")
        if self.tick_size <= 0 or self.step_size <= 0 or self.min_qty < 0:
            raise PolicyError(f"MarketRules out of range: {self!r}")


def round_price_down(price: Decimal, tick: Decimal) -> Decimal:
    """Round a positive price down to a multiple of tick."""
    # Decimal remainder is exact, unlike price / tick, which rounds to the context precision.
    return price - price % tick


def round_price_up(price: Decimal, tick: Decimal) -> Decimal:
    """Round a positive price up to a multiple of tick."""
    down = round_price_down(price, tick)
    return down if down == price else down + tick


@unique
class Side(Enum):
    """Direction of a position."""

    LONG = "LONG"
    SHORT = "SHORT"


def closing_order_side(side: Side) -> Literal["BUY", "SELL"]:
    """The order side that reduces or closes a position of this side."""
    return "SELL" if side is Side.LONG else "BUY"


def _sign(side: Side) -> int:
    """+1 for long, -1 for short: turns every comparison into one formula for both sides."""
    return 1 if side is Side.LONG else -1


def round_stop(side: Side, price: Decimal, rules: MarketRules) -> Decimal:
    """Round a stop to the tick, away from the market (long down, short up)."""
    # Rounding toward the market would put the stop closer than the policy computed, so it
    # could trigger earlier than configured or land on the wrong side of the mark (-2021).
    if side is Side.LONG:
        return round_price_down(price, rules.tick_size)
    return round_price_up(price, rules.tick_size)


def truncate_qty(qty: Decimal, rules: MarketRules) -> Decimal:
    """Truncate a quantity to the step; raise PolicyError below min_qty or at zero."""
    # Truncate, never round up: a reduce-only stop larger than the position is rejected.
    truncated = qty - qty % rules.step_size
    if truncated <= 0 or truncated < rules.min_qty:
        raise PolicyError(f"quantity {qty} truncates to {truncated}, below min_qty {rules.min_qty}")
    return truncated


# --------------------------------------------------------------------------- fixed stop


def _pct(value: float) -> Decimal:
    """A config percentage as an exact Decimal fraction (str() avoids binary float digits)."""
    return Decimal(str(value)) / _HUNDRED


def _require_positive(**prices: Decimal) -> None:
    """Reject non-positive prices before they produce a nonsense stop."""
    for name, price in prices.items():
        if price <= 0:
            raise PolicyError(f"{name} must be positive, got {price}")


def initial_stop(
    side: Side, entry: Decimal, policy: ProtectionPolicy, rules: MarketRules
) -> Decimal:
    """The fixed stop stop_loss_pct away from entry, rounded away from the market."""
    _require_positive(entry=entry)
    raw = entry * (1 - _sign(side) * _pct(policy.stop_loss_pct))
    stop = round_stop(side, raw, rules)
    if stop <= 0:
        # Only a long with a huge stop_loss_pct and a coarse tick gets here.
        raise PolicyError(f"stop for entry {entry} rounds to {stop} at tick {rules.tick_size}")
    return stop


# --------------------------------------------------------------------------- managed trailing


@dataclass(frozen=True, slots=True)
class TrailState:
    """Managed-trailing state of one position (snapshotted by the symbol actor)."""

    active: bool
    """The activation threshold has been reached (never resets while the position lives)."""
    peak: Decimal | None
    """Best mark since activation: highest for long, lowest for short; None until active."""
    stop_price: Decimal
    """The stop protecting the position now: the resting order's trigger price."""
    last_move_ms: int
    """Engine time of the last accepted move in epoch milliseconds (0 = never)."""
    moves: int
    """Number of accepted managed moves."""


@dataclass(frozen=True, slots=True)
class TrailDecision:
    """Outcome of one mark price: the new state and maybe a stop to place."""

    state: TrailState
    """The new state (activation and peak updated even when nothing moves)."""
    move_to: Decimal | None
    """A strictly tighter stop to place, or None."""


def initial_trail_state(
    side: Side, entry: Decimal, policy: ProtectionPolicy, rules: MarketRules
) -> TrailState:
    """The state of a freshly protected position: inactive, resting at the initial stop."""
    stop = initial_stop(side, entry, policy, rules)
    return TrailState(active=False, peak=None, stop_price=stop, last_move_ms=0, moves=0)


def _track(side: Side, entry: Decimal, mark: Decimal, state: TrailState,
           trailing: TrailingPolicy) -> TrailState:
    """Update activation and peak for one mark; the peak only ever improves."""
    sign = _sign(side)
    if state.active and state.peak is not None:
        improved = sign * (mark - state.peak) > 0
        return replace(state, peak=mark) if improved else state
    threshold = entry * (1 + sign * _pct(trailing.activation_pct))
    if sign * (mark - threshold) >= 0:
        return replace(state, active=True, peak=mark)
    return state


def _move_allowed(side: Side, candidate: Decimal, mark: Decimal, state: TrailState,
                  trailing: TrailingPolicy, rules: MarketRules, now_ms: int) -> bool:
    """A candidate is placed only if it tightens enough, is not too soon, and cannot fire."""
    sign = _sign(side)
    tightens = sign * (candidate - state.stop_price) >= trailing.min_move_ticks * rules.tick_size
    # last_move_ms == 0 means "never moved": the first move is not rate-limited.
    rested = state.last_move_ms == 0 or now_ms - state.last_move_ms >= (
        trailing.min_update_interval_ms
    )
    # A stop at or beyond the mark would trigger at once (-2021): leave the current one.
    protective = sign * (mark - candidate) > 0
    return tightens and rested and protective and candidate > 0


def on_mark(side: Side, entry: Decimal, mark: Decimal, state: TrailState,
            policy: ProtectionPolicy, rules: MarketRules, now_ms: int) -> TrailDecision:
    """Apply one mark price to managed trailing; modes off and native never move."""
    _require_positive(entry=entry, mark=mark)
    trailing = policy.trailing
    if trailing.mode != "managed":
        # native: the exchange trails; off: the fixed stop stays. Nothing to track here.
        return TrailDecision(state=state, move_to=None)
    tracked = _track(side, entry, mark, state, trailing)
    if tracked.peak is None:
        return TrailDecision(state=tracked, move_to=None)
    raw = tracked.peak * (1 - _sign(side) * _pct(trailing.callback_pct))
    candidate = round_stop(side, raw, rules)
    allowed = _move_allowed(side, candidate, mark, tracked, trailing, rules, now_ms)
    return TrailDecision(state=tracked, move_to=candidate if allowed else None)


def accept_move(state: TrailState, new_stop: Decimal, now_ms: int) -> TrailState:
    """The exchange accepted the new stop: it now protects the position."""
    return replace(state, stop_price=new_stop, last_move_ms=now_ms, moves=state.moves + 1)


# --------------------------------------------------------------------------- native trailing


@dataclass(frozen=True, slots=True)
class NativeTrailing:
    """Parameters of an exchange TRAILING_STOP_MARKET order."""

    callback_rate_pct: Decimal
    """The callback rate as the venue takes it (percent, on its step, in its range)."""
    activate_price: Decimal
    """activatePrice, on the tick (quote currency)."""


def native_trailing_params(
    side: Side, entry: Decimal, policy: ProtectionPolicy, rules: MarketRules,
    callback_pct: tuple[str, str, str] | None,
) -> NativeTrailing:
    """callbackRate and activatePrice for the exchange's own trailing stop.

    `callback_pct` is the venue's (lowest, highest, step) callback rate in percent
    (venue.interface.Capabilities.trailing_callback_pct; Binance: 0.1..10 by 0.1); None, a
    venue that does not trail, is a PolicyError.
    """
    _require_positive(entry=entry)
    if callback_pct is None:
        raise PolicyError("this venue has no native trailing stop (trailing.mode: native)")
    lowest, highest, step = (Decimal(x) for x in callback_pct)
    trailing = policy.trailing
    # Floor to the step so the exchange never trails looser than configured (0.55 -> 0.5);
    # only the clamp to the venue's minimum can make it looser, and nothing avoids that.
    rate = (Decimal(str(trailing.callback_pct)) / step).to_integral_value(ROUND_FLOOR) * step
    rate = min(max(rate, lowest), highest)
    raw = entry * (1 + _sign(side) * _pct(trailing.activation_pct))
    # Round away from entry (long up, short down): activation never comes earlier than the
    # policy says, and the price stays on the side Binance requires (SELL: above the market).
    tick = rules.tick_size
    activate = round_price_up(raw, tick) if side is Side.LONG else round_price_down(raw, tick)
    if activate <= 0:
        # Only a short with activation_pct near 100 gets here: it could never activate.
        raise PolicyError(f"activatePrice for entry {entry} rounds to {activate}")
    return NativeTrailing(callback_rate_pct=rate, activate_price=activate)
