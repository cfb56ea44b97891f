"""ccxt errors -> one FailureKind each (errors grouped by remedy), translated once."""

from __future__ import annotations

import ccxt
import pytest

from actors.messages import FailureKind
from system.exchange import translate


@pytest.mark.parametrize("exc,placing,kind,code", [
    (ccxt.OrderImmediatelyFillable('binanceusdm {"code":-2021,"msg":"Order would immediately trigger."}'), True, FailureKind.WOULD_TRIGGER, -2021),
    (ccxt.InvalidOrder('binanceusdm {"code":-2022,"msg":"ReduceOnly Order is rejected."}'), True, FailureKind.REJECTED, -2022),
    (ccxt.InvalidOrder('binanceusdm {"code":-4116,"msg":"ClientOrderId is duplicated."}'), True, FailureKind.UNKNOWN_OUTCOME, -4116),
    (ccxt.OrderNotFound('binanceusdm {"code":-2011,"msg":"Unknown order sent."}'), False, FailureKind.NOT_FOUND, -2011),
    (ccxt.AuthenticationError('binanceusdm {"code":-1022,"msg":"Signature for this request is not valid."}'), False, FailureKind.HALT, -1022),
    (ccxt.RequestTimeout("binanceusdm GET timed out"), False, FailureKind.UNKNOWN_OUTCOME, None),
    (ccxt.RequestTimeout("binanceusdm POST timed out"), True, FailureKind.UNKNOWN_OUTCOME, None),
    (ccxt.DDoSProtection("binanceusdm 429 Too Many Requests"), False, FailureKind.TEMPORARY, None),
    (ccxt.DDoSProtection("binanceusdm 429 Too Many Requests"), True, FailureKind.UNKNOWN_OUTCOME, None),
    (ccxt.ExchangeNotAvailable("binanceusdm 503"), True, FailureKind.UNKNOWN_OUTCOME, None),
    (ccxt.ExchangeNotAvailable("binanceusdm 503"), False, FailureKind.TEMPORARY, None),
    (ccxt.InsufficientFunds('binanceusdm {"code":-2019,"msg":"Margin is insufficient."}'), True, FailureKind.REJECTED, -2019),
    (ccxt.ExchangeError('binanceusdm {"code":-4130,"msg":"An open stop ..."}'), True, FailureKind.REJECTED, -4130),
])
def test_each_ccxt_error_maps_to_the_remedy_for_it(exc, placing, kind, code):
    err = translate(exc, placing=placing)

    assert err.failure.kind is kind
    assert err.failure.code == code


def test_a_network_failure_while_placing_is_never_reported_as_not_placed():
    # Order placement is never retried blindly: a network error may have placed the order.
    err = translate(ccxt.NetworkError("connection reset"), placing=True)

    assert err.failure.kind is FailureKind.UNKNOWN_OUTCOME
