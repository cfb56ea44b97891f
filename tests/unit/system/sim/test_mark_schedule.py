"""Mark-stream scheduling: slot arithmetic, spread offsets, the phase switch."""

from __future__ import annotations

import zlib

import pytest

from system.clock import ManualClock
from system.sim.app import Sim
from system.sim.settings import SimSettings
from system.sim.streams import MarketStreams, next_slot, stream_offset


def _streams(phase: str = "aligned") -> MarketStreams:
    return MarketStreams(ManualClock(), lambda s: None, lambda: [], 1000, phase)


def test_spread_offset_is_the_crc32_of_the_stream_name_within_the_interval():
    name = "btcusdt@markprice@1s"

    assert stream_offset(name, 0.2) == pytest.approx((zlib.crc32(name.encode()) % 1000) / 5000)
    assert 0 <= stream_offset("ethusdt@markprice@1s", 1.0) < 1.0


@pytest.mark.parametrize("after,offset,expected", [
    (12.34, 0.0, 13.0),   # the next whole interval
    (13.0, 0.0, 14.0),    # strictly later: a slot is never repeated
    (12.34, 0.5, 12.5),
    (12.5, 0.5, 13.5),
])
def test_next_slot_is_the_first_offset_multiple_strictly_after(after, offset, expected):
    assert next_slot(after, 1.0, offset) == pytest.approx(expected)


def test_next_slot_never_returns_its_argument_despite_float_rounding():
    interval, offset = 0.2, stream_offset("solusdt@markprice@1s", 0.2)
    t = 1_000_000.0
    for _ in range(200):
        nxt = next_slot(t, interval, offset)
        assert nxt > t and nxt - t <= interval + 1e-9
        t = nxt


def test_phase_is_validated_with_the_key_and_the_allowed_values():
    ms = _streams()
    with pytest.raises(ValueError, match="mark_stream_phase: 'bursty' is not allowed; "
                                         "choose one of aligned, spread"):
        ms.phase = "bursty"
    ms.phase = "spread"
    assert ms.phase == "spread"


def test_sim_takes_the_phase_from_the_settings_and_refuses_a_bad_one():
    assert Sim(SimSettings(mark_stream_phase="spread"), ManualClock()).market_streams.phase \
        == "spread"
    with pytest.raises(ValueError, match="mark_stream_phase"):
        Sim(SimSettings(mark_stream_phase="random"), ManualClock())


def test_setting_the_sim_probe_reaches_engine_and_market_streams():
    from system.sim.probe import Probe
    sim = Sim(SimSettings(), ManualClock())
    assert sim.probe is None and sim.market_streams.probe is None

    sim.probe = p = Probe()
    sim.reset()

    assert sim.probe is p and sim.engine.probe is p and sim.market_streams.probe is p
