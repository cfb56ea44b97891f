"""parse_frame / parse_event stamp every event with when its frame was read (time.monotonic).

`received_mono` is the start of the routing latency `posguard bench` measures (frame read ->
state applied in the symbol actor); it must reach every event a frame yields.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal

from venue.events import AlgoUpdate, MarkPrice, OrderUpdate, PositionUpdate
from venues.binance.events import parse_event, parse_frame
from tests.unit.venues.binance.test_events import (
    ACCOUNT_UPDATE,
    ALGO_UPDATE,
    MARK,
    ORDER_TRADE_UPDATE,
    RECV,
)

READ_AT = 12_345.678901


def _two_position_account_update() -> str:
    frame = json.loads(ACCOUNT_UPDATE)
    p = frame["a"]["P"][0]
    frame["a"]["P"] = [p, {**p, "s": "ETHUSDT", "pa": "-1.5", "ep": "3000.5"}]
    return json.dumps(frame)


def test_a_given_read_time_is_stamped_into_every_kind_of_event():
    frames = {PositionUpdate: ACCOUNT_UPDATE, OrderUpdate: ORDER_TRADE_UPDATE,
              AlgoUpdate: ALGO_UPDATE, MarkPrice: json.dumps(MARK)}

    for kind, raw in frames.items():
        [ev] = parse_frame(raw, RECV, received_mono=READ_AT)

        assert isinstance(ev, kind)
        assert (ev.received_mono, ev.engine_ms) == (READ_AT, RECV)


def test_every_position_of_one_account_update_carries_the_frame_read_time():
    events = parse_frame(_two_position_account_update(), RECV, received_mono=READ_AT)

    assert [(e.symbol, e.received_mono) for e in events] == [("BTCUSDT", READ_AT),
                                                             ("ETHUSDT", READ_AT)]


def test_without_a_read_time_the_parse_time_on_the_monotonic_clock_is_stamped():
    before = time.monotonic()
    events = parse_frame(_two_position_account_update())
    after = time.monotonic()

    assert len(events) == 2
    assert all(before <= e.received_mono <= after for e in events)
    assert events[0].received_mono == events[1].received_mono, "one frame, one read time"


def test_parse_event_stamps_a_given_read_time_or_defaults_to_now():
    before = time.monotonic()
    [given] = parse_event(dict(MARK), RECV, READ_AT)
    [default] = parse_event(dict(MARK), RECV)
    after = time.monotonic()

    assert given.received_mono == READ_AT
    assert before <= default.received_mono <= after


def test_events_not_read_from_a_stream_carry_zero():
    ev = MarkPrice("BTCUSDT", Decimal(MARK["p"]), MARK["E"])

    assert ev.received_mono == 0.0
