"""The keys of issue 13: what happens to a position left without a resting stop
(protection.on_unprotectable, protection.unprotectable_after_minutes) and how often the sweep
checks every stop (reconcile.stop_check_min_interval_secs): defaults, overrides per symbol,
and errors that name the key, the bad value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from system.config import ConfigError, load_config

SHIPPED = Path(__file__).resolve().parents[3] / "config.yaml"


def test_defaults_keep_retrying_for_two_minutes_and_check_stops_at_most_every_10_s():
    c = load_config(SHIPPED)

    assert c.protection.default.on_unprotectable == "keep_retrying"
    assert c.protection.default.unprotectable_after_minutes == 2.0
    assert c.reconcile.stop_check_min_interval_secs == 10.0


def test_close_can_be_chosen_for_every_symbol_or_one():
    c = load_config(SHIPPED, ["protection.symbols.ETHUSDT.on_unprotectable=close",
                              "protection.unprotectable_after_minutes=0.5"])

    assert c.protection.policy_for("ETHUSDT").on_unprotectable == "close"
    assert c.protection.policy_for("BTCUSDT").on_unprotectable == "keep_retrying"
    assert c.protection.policy_for("ETHUSDT").unprotectable_after_minutes == 0.5


@pytest.mark.parametrize("item,message", [
    ("protection.on_unprotectable=panic",
     "protection.on_unprotectable: 'panic' is not allowed; choose one of keep_retrying, close"),
    ("protection.unprotectable_after_minutes=-1",
     "protection.unprotectable_after_minutes: -1.0 is out of range; allowed 0.0..1440.0"),
    ("protection.symbols.BTCUSDT.on_unprotectable=sell",
     "protection.symbols.BTCUSDT.on_unprotectable: 'sell' is not allowed"),
    ("reconcile.stop_check_min_interval_secs=0",
     "reconcile.stop_check_min_interval_secs: 0.0 is out of range; allowed 1..86400"),
])
def test_a_bad_value_is_rejected_naming_the_key(item, message):
    with pytest.raises(ConfigError) as err:
        load_config(SHIPPED, [item])

    assert message in str(err.value)
