"""Binance cannot amend a stop in place (Capabilities.amend_in_place False): an AmendStop
that reaches its gateway anyway is refused without a call, leaving the old stop resting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.fakes.ccxt_client import FakeClient
from venue.errors import FailureKind
from venue.interface import ExchangeError
from venue.requests import AmendStop
from venues.binance import BinanceUsdm
from venues.binance.gateway import Gateway


def test_an_amend_on_binance_is_rejected_naming_why_and_sends_nothing():
    client = FakeClient()
    gw = Gateway(client, sleep=lambda s: None, now_ms=lambda: 1)  # type: ignore[arg-type]

    with pytest.raises(ExchangeError) as caught:
        gw.execute(AmendStop("BTCUSDT", "4000000002", "pg-3-BTCUSDT-sl-2", Decimal("59000")))

    assert not BinanceUsdm.capabilities.amend_in_place
    assert caught.value.failure.kind is FailureKind.REJECTED
    assert "amend_in_place is False" in caught.value.failure.message
    assert client.calls == []
