"""Simulator keys added for `posguard bench`: drift_pct and mark_stream_phase in the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from system.config import ConfigError, load_config

SHIPPED = Path(__file__).resolve().parents[3] / "config.yaml"


def test_shipped_config_has_no_drift_and_aligned_mark_streams():
    sim = load_config(SHIPPED).exchange.simulator

    assert sim.drift_pct == 0.0 and sim.mark_stream_phase == "aligned"


def test_drift_and_phase_can_be_set():
    sim = load_config(SHIPPED, ["exchange.simulator.drift_pct=-0.25",
                                "exchange.simulator.mark_stream_phase=spread"]).exchange.simulator

    assert sim.drift_pct == -0.25 and sim.mark_stream_phase == "spread"


@pytest.mark.parametrize("text,message", [
    ("exchange:\n  simulator:\n    mark_stream_phase: bursty\n",
     "exchange.simulator.mark_stream_phase: 'bursty' is not allowed; choose one of aligned, "
     "spread"),
    ("exchange:\n  simulator:\n    mark_stream_phase: 1\n",
     "exchange.simulator.mark_stream_phase: expected a string, got 1"),
    ("exchange:\n  simulator:\n    drift_pct: 6\n",
     "exchange.simulator.drift_pct: 6.0 is out of range; allowed -5.0..5.0"),
    ("exchange:\n  simulator:\n    drift_pct: up\n",
     "exchange.simulator.drift_pct: expected a number, got 'up'"),
])
def test_bad_simulator_bench_keys_are_rejected_naming_key_value_and_allowed(tmp_path, text,
                                                                           message):
    f = tmp_path / "config.yaml"
    f.write_text(text)

    with pytest.raises(ConfigError) as err:
        load_config(f)

    assert message in str(err.value)
