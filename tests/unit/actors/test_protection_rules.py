"""The stop policy's config schema and its price / quantity arithmetic (actors/protection.py):
sides, rounding away from the market, the initial stop."""

from dataclasses import MISSING, fields, is_dataclass
from decimal import Decimal

import pytest

from actors.protection import (
    MarketRules,
    PolicyError,
    ProtectionPolicy,
    TrailingPolicy,
    closing_order_side,
    initial_stop,
    initial_trail_state,
    round_price_down,
    round_price_up,
    round_stop,
    truncate_qty,
)
from tests.fakes.protection import LONG, SHORT, D, policy, rules, state


# --------------------------------------------------------------------------- config schema


@pytest.mark.parametrize("cls", [ProtectionPolicy, TrailingPolicy])
def test_every_config_field_has_a_default_and_a_one_line_doc(cls: type) -> None:
    for f in fields(cls):
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        assert has_default, f.name
        doc = f.metadata.get("doc", "")
        assert doc and "\n" not in doc, f.name


def test_defaults_match_the_shipped_config() -> None:
    p = ProtectionPolicy()

    assert (p.stop_loss_pct, p.on_stop_would_trigger, p.working_type) == (
        2.0, "close", "MARK_PRICE")
    assert p.trailing == TrailingPolicy(mode="managed", activation_pct=1.0, callback_pct=0.5,
                                        min_move_ticks=1, min_update_interval_ms=500)
    assert is_dataclass(p.trailing)


@pytest.mark.parametrize(
    ("build", "key"),
    [
        (lambda: ProtectionPolicy(stop_loss_pct=0.0), "stop_loss_pct"),
        (lambda: ProtectionPolicy(stop_loss_pct=99.5), "stop_loss_pct"),
        (lambda: TrailingPolicy(callback_pct=0.001), "callback_pct"),
        (lambda: TrailingPolicy(activation_pct=-1.0), "activation_pct"),
        (lambda: TrailingPolicy(min_move_ticks=0), "min_move_ticks"),
        (lambda: TrailingPolicy(min_update_interval_ms=-1), "min_update_interval_ms"),
        (lambda: TrailingPolicy(mode="sometimes"), "mode"),  # type: ignore[arg-type]
        (lambda: ProtectionPolicy(on_stop_would_trigger="panic"), "on_stop_would_trigger"),  # type: ignore[arg-type]
    ],
)
def test_policy_outside_its_metadata_bounds_is_rejected_naming_the_key(build, key) -> None:
    with pytest.raises(PolicyError, match=key):
        build()


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(PolicyError, ValueError)


def test_market_rules_refuse_floats_and_non_positive_ticks() -> None:
    with pytest.raises(PolicyError, match="Decimal"):
        MarketRules(tick_size=0.1, step_size=D("1"), min_qty=D("1"))  # type: ignore[arg-type]
    with pytest.raises(PolicyError):
        MarketRules(tick_size=D("0"), step_size=D("1"), min_qty=D("1"))


# --------------------------------------------------------------------------- side and rounding


def test_closing_order_side_is_sell_for_long_and_buy_for_short() -> None:
    assert (closing_order_side(LONG), closing_order_side(SHORT)) == ("SELL", "BUY")


@pytest.mark.parametrize(
    ("price", "tick", "down", "up"),
    [
        ("100.57", "0.1", "100.5", "100.6"),
        ("100.5", "0.1", "100.5", "100.5"),
        ("100.5678", "0.01", "100.56", "100.57"),
        ("0.123456", "0.0001", "0.1234", "0.1235"),
        ("1.2347", "0.005", "1.230", "1.235"),
        ("1.2350", "0.005", "1.235", "1.235"),
        ("65000.3", "0.5", "65000.0", "65000.5"),
        ("1234", "5", "1230", "1235"),
        ("0.0000123456", "0.0000001", "0.0000123", "0.0000124"),
    ],
)
def test_prices_round_down_and_up_to_the_tick(price, tick, down, up) -> None:
    assert round_price_down(D(price), D(tick)) == D(down)
    assert round_price_up(D(price), D(tick)) == D(up)


@pytest.mark.parametrize(
    ("side", "price", "tick", "expected"),
    [
        (LONG, "99.999", "0.01", "99.99"),
        (SHORT, "99.991", "0.01", "100.00"),
        (LONG, "1.2349", "0.005", "1.230"),
        (SHORT, "1.2301", "0.005", "1.235"),
    ],
)
def test_stops_round_away_from_the_market(side, price, tick, expected) -> None:
    assert round_stop(side, D(price), rules(tick=tick)) == D(expected)


@pytest.mark.parametrize(
    ("qty", "step", "min_qty", "expected"),
    [
        ("1.23456", "0.001", "0.001", "1.234"),
        ("1.2349", "0.1", "0.1", "1.2"),
        ("17", "5", "5", "15"),
        ("0.5", "0.5", "0.5", "0.5"),
    ],
)
def test_quantity_truncates_to_the_step(qty, step, min_qty, expected) -> None:
    assert truncate_qty(D(qty), rules(step=step, min_qty=min_qty)) == D(expected)


@pytest.mark.parametrize(("qty", "step", "min_qty"),
                         [("0.0009", "0.001", "0.001"), ("0.19", "0.1", "0.2"), ("0", "1", "0")])
def test_quantity_below_min_qty_after_truncation_raises_policy_error(qty, step, min_qty) -> None:
    with pytest.raises(PolicyError, match="min_qty"):
        truncate_qty(D(qty), rules(step=step, min_qty=min_qty))


# --------------------------------------------------------------------------- initial stop


@pytest.mark.parametrize(
    ("side", "entry", "stop_loss_pct", "tick", "expected"),
    [
        (LONG, "100", 2.0, "0.01", "98.00"),
        (SHORT, "100", 2.0, "0.01", "102.00"),
        (LONG, "123.457", 2.0, "0.005", "120.985"),   # 120.98786 rounds down
        (SHORT, "123.457", 2.0, "0.005", "125.930"),  # 125.92614 rounds up
        (LONG, "0.12345", 1.5, "0.0001", "0.1215"),   # 0.12159825 rounds down
        (SHORT, "0.12345", 1.5, "0.0001", "0.1254"),  # 0.12530175 rounds up
        (LONG, "65000.1", 0.3, "0.1", "64805.0"),     # 64805.0997 rounds down
        (SHORT, "65000.1", 0.3, "0.1", "65195.2"),    # 65195.1003 rounds up
    ],
)
def test_initial_stop_is_stop_loss_pct_from_entry_rounded_away(
    side, entry, stop_loss_pct, tick, expected
) -> None:
    assert initial_stop(side, D(entry), policy(stop_loss_pct), rules(tick=tick)) == D(expected)


def test_initial_stop_that_rounds_to_zero_raises_policy_error() -> None:
    with pytest.raises(PolicyError):
        initial_stop(LONG, D("5"), policy(99.0), rules(tick="1"))


def test_initial_trail_state_rests_at_the_initial_stop_inactive() -> None:
    s = initial_trail_state(SHORT, D("100"), policy(), rules())

    assert s == state("102.00")


