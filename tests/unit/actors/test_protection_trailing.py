"""The managed trail and the native trailing order's parameters (actors/protection.py):
activation, the peak, moves and their rate limit, and properties over random marks."""

from dataclasses import fields

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.protection import (
    MarketRules,
    PolicyError,
    ProtectionPolicy,
    Side,
    TrailingPolicy,
    accept_move,
    initial_trail_state,
    native_trailing_params,
    on_mark,
)
from tests.fakes.protection import LONG, SHORT, T0, D, policy, rules, state
from venues.binance.adapter import CAPABILITIES

BINANCE_CALLBACK = CAPABILITIES.trailing_callback_pct


# --------------------------------------------------------------------------- managed trailing


@pytest.mark.parametrize(
    ("side", "mark", "active"),
    [
        (LONG, "101.00", True),   # exactly 1.0 % profit
        (LONG, "100.99", False),
        (SHORT, "99.00", True),
        (SHORT, "99.01", False),
    ],
)
def test_trailing_activates_exactly_at_the_activation_threshold(side, mark, active) -> None:
    start = initial_trail_state(side, D("100"), policy(), rules())

    decision = on_mark(side, D("100"), D(mark), start, policy(), rules(), T0)

    assert decision.state.active is active
    assert decision.state.peak == (D(mark) if active else None)


@pytest.mark.parametrize(
    ("side", "marks", "peak"),
    [
        (LONG, ["101", "103", "102", "102.5", "104", "100"], "104"),
        (SHORT, ["99", "97", "98", "97.5", "96", "100"], "96"),
        (LONG, ["100.5", "101.2", "101.1"], "101.2"),  # peak starts at the activating mark
    ],
)
def test_peak_only_improves_and_activation_never_resets(side, marks, peak) -> None:
    s = initial_trail_state(side, D("100"), policy(), rules())

    for mark in marks:
        s = on_mark(side, D("100"), D(mark), s, policy(), rules(), T0).state

    assert s.active and s.peak == D(peak)


@pytest.mark.parametrize(
    ("side", "mark", "expected"),
    [
        (LONG, "110", "109.45"),  # 110 x 0.995
        (SHORT, "90", "90.45"),   # 90 x 1.005
        (LONG, "110.03", "109.47"),  # 109.47985 rounds down
        (SHORT, "89.97", "90.42"),   # 90.41985 rounds up
    ],
)
def test_active_trail_proposes_peak_minus_callback_rounded_away(side, mark, expected) -> None:
    start = initial_trail_state(side, D("100"), policy(), rules())

    decision = on_mark(side, D("100"), D(mark), start, policy(), rules(), T0)

    assert decision.move_to == D(expected)
    assert decision.state.stop_price == start.stop_price  # unchanged until accepted


@pytest.mark.parametrize(
    ("side", "stop", "min_move_ticks", "moves"),
    [
        (LONG, "109.41", 4, True),    # candidate 109.45 is exactly 4 ticks tighter
        (LONG, "109.42", 4, False),   # only 3 ticks
        (LONG, "109.45", 1, False),   # equal is not tighter
        (LONG, "109.50", 1, False),   # current stop is already tighter: never loosen
        (SHORT, "90.49", 4, True),    # candidate 90.45 is 4 ticks tighter
        (SHORT, "90.48", 4, False),
        (SHORT, "90.40", 1, False),
    ],
)
def test_move_needs_at_least_min_move_ticks_of_tightening(side, stop, min_move_ticks,
                                                           moves) -> None:
    mark = "110" if side is LONG else "90"
    s = state(stop, active=True, peak=mark)
    p = policy(min_move_ticks=min_move_ticks)

    decision = on_mark(side, D("100"), D(mark), s, p, rules(), T0)

    assert (decision.move_to is not None) is moves


@pytest.mark.parametrize(
    ("last_move_ms", "now_ms", "moves"),
    [
        (0, 100, True),               # never moved: not rate-limited even at small times
        (T0, T0 + 499, False),
        (T0, T0 + 500, True),         # exactly the interval
        (T0, T0 - 10, False),         # time went backwards: hold
    ],
)
def test_moves_are_rate_limited_by_min_update_interval_ms(last_move_ms, now_ms, moves) -> None:
    s = state("105.00", active=True, peak="110", last_move_ms=last_move_ms, moves=1)

    decision = on_mark(LONG, D("100"), D("110"), s, policy(), rules(), now_ms)

    assert (decision.move_to is not None) is moves


@pytest.mark.parametrize(
    ("side", "peak", "mark"),
    [
        (LONG, "110", "109.40"),   # candidate 109.45 is above the mark: would trigger now
        (LONG, "110", "109.45"),   # at the mark also triggers
        (SHORT, "90", "90.50"),    # candidate 90.45 is below the mark
        (SHORT, "90", "90.45"),
    ],
)
def test_no_move_when_the_candidate_is_not_on_the_protective_side_of_the_mark(
    side, peak, mark
) -> None:
    s = state("105.00" if side is LONG else "95.00", active=True, peak=peak, last_move_ms=T0)

    decision = on_mark(side, D("100"), D(mark), s, policy(), rules(), T0 + 10_000)

    assert decision.move_to is None
    assert decision.state.peak == D(peak)


@pytest.mark.parametrize("mode", ["off", "native"])
@pytest.mark.parametrize("side", [LONG, SHORT])
def test_modes_off_and_native_never_move_and_leave_state_alone(mode, side) -> None:
    start = initial_trail_state(side, D("100"), policy(), rules())
    p = policy(mode=mode)

    decisions = [on_mark(side, D("100"), D(m), start, p, rules(), T0)
                 for m in ("50", "100", "110", "150", "90")]

    assert all(d.move_to is None and d.state == start for d in decisions)


def test_accept_move_records_the_stop_time_and_count() -> None:
    s = state("98.00", active=True, peak="110", last_move_ms=T0, moves=2)

    after = accept_move(s, D("109.45"), T0 + 700)

    assert after == state("109.45", active=True, peak="110", last_move_ms=T0 + 700, moves=3)


def test_non_positive_mark_is_rejected() -> None:
    start = initial_trail_state(LONG, D("100"), policy(), rules())

    with pytest.raises(PolicyError, match="mark"):
        on_mark(LONG, D("100"), D("0"), start, policy(), rules(), T0)


# --------------------------------------------------------------------------- native trailing


@pytest.mark.parametrize(
    ("callback_pct", "rate"),
    [
        (0.05, "0.1"),   # below Binance's minimum: clamped up (unavoidably looser)
        (0.1, "0.1"),
        (0.55, "0.5"),   # floored: never trail looser than configured
        (0.99, "0.9"),
        (2.0, "2.0"),
        (10.0, "10.0"),
        (15.0, "10"),    # above Binance's maximum: clamped down
        (50.0, "10"),
    ],
)
def test_native_callback_rate_is_floored_to_one_decimal_and_clamped(callback_pct, rate) -> None:
    params = native_trailing_params(LONG, D("100"), policy(callback_pct=callback_pct), rules(),
                                    BINANCE_CALLBACK)

    assert params.callback_rate_pct == D(rate)


@pytest.mark.parametrize(
    ("side", "entry", "activation_pct", "tick", "activate"),
    [
        (LONG, "100", 1.0, "0.01", "101.00"),
        (SHORT, "100", 1.0, "0.01", "99.00"),
        (LONG, "123.457", 1.0, "0.005", "124.695"),   # 124.69157 rounds up (away from entry)
        (SHORT, "123.457", 1.0, "0.005", "122.220"),  # 122.22243 rounds down (away from entry)
        (LONG, "100", 0.0, "0.1", "100.0"),
    ],
)
def test_native_activate_price_is_activation_pct_from_entry_rounded_away_from_entry(
    side, entry, activation_pct, tick, activate
) -> None:
    p = policy(activation_pct=activation_pct)

    params = native_trailing_params(side, D(entry), p, rules(tick=tick), BINANCE_CALLBACK)

    assert params.activate_price == D(activate)


def test_the_callback_range_and_step_are_the_venues() -> None:
    coarse = ("0.5", "5", "0.5")  # a venue that takes half percents from 0.5 to 5
    p = policy(callback_pct=0.9)
    assert native_trailing_params(LONG, D("100"), p, rules(), coarse).callback_rate_pct == D(
        "0.5")
    assert native_trailing_params(LONG, D("100"), policy(callback_pct=0.2), rules(),
                                  coarse).callback_rate_pct == D("0.5")
    assert native_trailing_params(LONG, D("100"), policy(callback_pct=9.0), rules(),
                                  coarse).callback_rate_pct == D("5")


def test_a_venue_without_native_trailing_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="no native trailing"):
        native_trailing_params(LONG, D("100"), policy(), rules(), None)


def test_native_short_that_could_never_activate_raises_policy_error() -> None:
    with pytest.raises(PolicyError):
        native_trailing_params(SHORT, D("100"), policy(activation_pct=100.0), rules(),
                               BINANCE_CALLBACK)


# --------------------------------------------------------------------------- properties


def _bounds(cls: type, name: str) -> tuple[float, float]:
    """A config field's (min, max) from its metadata, so the properties follow the schema."""
    meta = next(f.metadata for f in fields(cls) if f.name == name)
    return meta["min"], meta["max"]


ticks = st.builds(lambda m, e: D(m).scaleb(-e),
                  st.sampled_from([1, 2, 5, 25]), st.integers(min_value=0, max_value=6))

policies = st.builds(
    ProtectionPolicy,
    stop_loss_pct=st.floats(*_bounds(ProtectionPolicy, "stop_loss_pct")),
    trailing=st.builds(
        TrailingPolicy,
        mode=st.sampled_from(["managed", "managed", "native", "off"]),
        # Mostly small activations so trailing actually happens; the whole range too.
        activation_pct=st.floats(0, 3) | st.floats(*_bounds(TrailingPolicy, "activation_pct")),
        callback_pct=st.floats(0.01, 3) | st.floats(*_bounds(TrailingPolicy, "callback_pct")),
        min_move_ticks=st.integers(1, 50),
        min_update_interval_ms=st.integers(0, 5_000),
    ),
)

# One tick: a price change in basis points of entry and the engine time that passes.
marks = st.lists(st.tuples(st.integers(-300, 300), st.integers(0, 2_000)),
                 min_size=1, max_size=80)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(side=st.sampled_from(Side), tick=ticks, entry_ticks=st.integers(1_000, 10_000_000),
       p=policies, path=marks, accepts=st.lists(st.booleans(), min_size=80, max_size=80))
def test_trailing_stop_never_loosens_never_crosses_the_mark_and_stays_on_tick(
    side, tick, entry_ticks, p, path, accepts
) -> None:
    r = MarketRules(tick_size=tick, step_size=D("0.001"), min_qty=D("0.001"))
    entry = tick * entry_ticks
    sign = 1 if side is LONG else -1
    s = initial_trail_state(side, entry, p, r)
    assert s.stop_price % tick == 0 and sign * (entry - s.stop_price) > 0
    bp, now = 0, T0
    for i, (step_bp, dt_ms) in enumerate(path):
        bp, now = max(bp + step_bp, -9_000), now + dt_ms  # mark stays positive
        mark = entry * (1 + D(bp) / 10_000)

        decision = on_mark(side, entry, mark, s, p, r, now)

        new = decision.state
        if s.peak is not None:  # peak is monotone and activation never resets
            assert new.active and sign * (new.peak - s.peak) >= 0
        assert (new.peak is None) is (not new.active)
        if decision.move_to is not None:
            move = decision.move_to
            assert p.trailing.mode == "managed"
            assert sign * (mark - move) > 0, "a move must not cross the mark"
            assert sign * (move - s.stop_price) >= p.trailing.min_move_ticks * tick
            assert s.last_move_ms == 0 or now - s.last_move_ms >= p.trailing.min_update_interval_ms
            assert move % tick == 0
            new = accept_move(new, move, now) if accepts[i] else new
        assert sign * (new.stop_price - s.stop_price) >= 0, "the stop must never loosen"
        assert new.stop_price % tick == 0
        s = new
