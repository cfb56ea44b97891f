"""ccxt errors -> one FailureKind each (errors grouped by remedy), translated once."""

from __future__ import annotations

import ccxt
import pytest

from actors.messages import FailureKind
from system.exchange import translate

K = FailureKind


def _b(code: int, msg: str) -> str:
    """A Binance error body as ccxt puts it in the exception text."""
    return f'binanceusdm {{"code":{code},"msg":"{msg}"}}'


@pytest.mark.parametrize("exc,placing,kind,code", [
    (ccxt.OrderImmediatelyFillable(_b(-2021, "Would trigger.")), True, K.WOULD_TRIGGER, -2021),
    (ccxt.InvalidOrder(_b(-2022, "ReduceOnly rejected.")), True, K.REJECTED, -2022),
    (ccxt.InvalidOrder(_b(-4116, "Duplicated id.")), True, K.UNKNOWN_OUTCOME, -4116),
    (ccxt.OrderNotFound(_b(-2011, "Unknown order sent.")), False, K.NOT_FOUND, -2011),
    (ccxt.AuthenticationError(_b(-1022, "Signature invalid.")), False, K.HALT, -1022),
    (ccxt.RequestTimeout("binanceusdm GET timed out"), False, K.UNKNOWN_OUTCOME, None),
    (ccxt.RequestTimeout("binanceusdm POST timed out"), True, K.UNKNOWN_OUTCOME, None),
    (ccxt.DDoSProtection("binanceusdm 429 Too Many Requests"), False, K.TEMPORARY, None),
    (ccxt.DDoSProtection("binanceusdm 429 Too Many Requests"), True, K.UNKNOWN_OUTCOME, None),
    (ccxt.ExchangeNotAvailable("binanceusdm 503"), True, K.UNKNOWN_OUTCOME, None),
    (ccxt.ExchangeNotAvailable("binanceusdm 503"), False, K.TEMPORARY, None),
    (ccxt.InsufficientFunds(_b(-2019, "Margin is insufficient.")), True, K.REJECTED, -2019),
    (ccxt.ExchangeError(_b(-4130, "An open stop ...")), True, K.REJECTED, -4130),
])
def test_each_ccxt_error_maps_to_the_remedy_for_it(exc, placing, kind, code):
    err = translate(exc, placing=placing)

    assert err.failure.kind is kind
    assert err.failure.code == code


def test_a_network_failure_while_placing_is_never_reported_as_not_placed():
    # Order placement is never retried blindly: a network error may have placed the order.
    err = translate(ccxt.NetworkError("connection reset"), placing=True)

    assert err.failure.kind is K.UNKNOWN_OUTCOME
