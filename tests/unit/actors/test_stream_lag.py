"""A stream actor's status carries the last event's lag behind the exchange's event time (E),
for the metrics. Plain actor objects, no socket (as in test_stream_received_mono)."""

from __future__ import annotations

import json

from actors.market_stream import MarketStreamActor
from actors.messages import now_ms
from actors.user_stream import UserStreamActor
from tests.unit.actors.test_stream_received_mono import READ_AT, _captured
from tests.unit.venues.binance.test_events import ACCOUNT_UPDATE, MARK


def test_the_market_streams_status_shows_how_late_its_last_tick_was_read():
    actor = MarketStreamActor()
    _captured(actor)
    assert actor.status().event_lag_ms is None, "no event yet"
    stamped = now_ms() - 1500

    actor.on_text(json.dumps({**MARK, "E": stamped}), READ_AT)

    lag = actor.status().event_lag_ms
    assert lag is not None and 1500 <= lag < 1500 + 60_000


def test_the_user_streams_status_shows_the_lag_of_its_last_event():
    actor = UserStreamActor()
    _captured(actor)
    event_ms = json.loads(ACCOUNT_UPDATE)["E"]

    before = now_ms()
    actor.on_text(ACCOUNT_UPDATE, READ_AT)

    lag = actor.status().event_lag_ms
    assert lag is not None and before - event_ms <= lag <= now_ms() - event_ms
