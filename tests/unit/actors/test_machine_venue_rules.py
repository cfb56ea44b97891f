"""The machine follows the venue's rules, handed in through Context.venue (its capabilities):
the client-id limit and native trailing's callback range are the venue's, not constants."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from actors.client_ids import symbol_tag
from actors.messages import OpenPosition, PlaceMarket
from actors.symbol_machine import Context, Trigger, handle
from tests.fakes.machine import EPOCH, RULES, T0, only, policy, position
from tests.fakes.states import flat
from venues.binance.adapter import CAPABILITIES

LONG_NAME = "1000BONKUSDT"


def ctx(venue, pol=None) -> Context:
    return Context(epoch=EPOCH, policy=pol or policy(), rules=RULES, now_ms=T0, venue=venue)


def open_id(venue) -> str:
    s = flat().replace(symbol=LONG_NAME)
    step = handle(s, Trigger.OPEN, OpenPosition(LONG_NAME, "long", "1", "cmd-1"), ctx(venue))
    return only(step, PlaceMarket).client_id


def test_the_client_id_limit_is_the_venues():
    assert open_id(CAPABILITIES) == f"pg-{EPOCH}-{LONG_NAME}-op-1"
    short = open_id(replace(CAPABILITIES, client_id_max_len=18))
    assert short == f"pg-{EPOCH}-{symbol_tag(LONG_NAME)}-op-1" and len(short) <= 18


def test_an_id_the_venue_would_refuse_is_never_sent():
    no_dashes = replace(CAPABILITIES, client_id_charset="A-Za-z0-9")
    with pytest.raises(ValueError, match="not one the venue accepts"):
        open_id(no_dashes)


def test_native_trailing_takes_the_venues_callback_step():
    coarse = replace(CAPABILITIES, trailing_callback_pct=("0.5", "5", "0.5"))
    pol = policy(mode="native", callback_pct=1.2)
    # A position appears (adopted): its fixed stop and the exchange's trailing order.
    step = handle(flat(), Trigger.POSITION, position("0.010", "60000"), ctx(coarse, pol))
    rates = [op.callback_rate_pct for op in step.requests
             if getattr(op, "callback_rate_pct", None) is not None]
    assert rates == [Decimal("1.0")], step.requests
