"""ccxt errors -> one FailureKind each (errors grouped by remedy), translated once."""

from __future__ import annotations

import ccxt
import pytest

from venue.errors import FailureKind
from venues.binance.errors import translate

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


# --------------------------------------------------------------------------- 429 / 418
# ccxt 4.5.90 (binance.handle_errors) raises DDoSProtection for HTTP 418 and 429 with the text
# "binanceusdm <status> <reason> <body>"; the response headers (Retry-After) are only in
# client.last_response_headers, which ccxt sets before it raises. A -1003 / -1015 body on
# another status comes back as RateLimitExceeded (ccxt's exact table).

def _refusal(status: int, code: int | None) -> str:
    body = "" if code is None else f'{{"code":{code},"msg":"Too many requests."}}'
    reason = "Too Many Requests" if status == 429 else "I'm a teapot"
    return f"binanceusdm {status} {reason} {body}"


@pytest.mark.parametrize("placing,kind", [(False, K.TEMPORARY), (True, K.UNKNOWN_OUTCOME)])
def test_a_429_carries_its_status_code_and_retry_after_from_the_response_headers(
        placing, kind):
    exc = ccxt.DDoSProtection(_refusal(429, -1015))

    err = translate(exc, placing=placing, headers={"Retry-After": "3", "X-MBX-ORDER-COUNT-10S":
                                                   "300"})

    assert err.failure.kind is kind  # placing: still looked up by client id, never assumed
    assert (err.failure.http_status, err.failure.code, err.failure.retry_after_ms) == (
        429, -1015, 3000)


def test_a_418_is_an_ip_ban_with_the_bans_retry_after():
    err = translate(ccxt.DDoSProtection(_refusal(418, None)), placing=False,
                    headers={"retry-after": "120"})  # header names are case-insensitive

    assert err.failure.kind is K.TEMPORARY
    assert (err.failure.http_status, err.failure.retry_after_ms) == (418, 120_000)


def test_a_rate_limit_code_on_another_status_is_a_429_not_a_rejection():
    # -1015 arrives as RateLimitExceeded; InvalidOrder-style REJECTED would drop the order.
    exc = ccxt.RateLimitExceeded('binanceusdm {"code":-1015,"msg":"Too many new orders."}')

    err = translate(exc, placing=True)

    assert err.failure.kind is K.UNKNOWN_OUTCOME
    assert (err.failure.http_status, err.failure.code) == (429, -1015)
    assert err.failure.retry_after_ms is None


def test_without_headers_a_429_has_no_retry_after():
    err = translate(ccxt.DDoSProtection(_refusal(429, -1003)), placing=False)

    assert (err.failure.http_status, err.failure.code, err.failure.retry_after_ms) == (
        429, -1003, None)


def test_other_errors_carry_no_http_status():
    err = translate(ccxt.ExchangeNotAvailable("binanceusdm 503 Service Unavailable"),
                    placing=False, headers={"Retry-After": "5"})

    assert err.failure.http_status is None and err.failure.retry_after_ms is None
