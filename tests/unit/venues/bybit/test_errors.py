"""Bybit's errors as ccxt 4.5.90 raises them (its own handle_errors on the v5 envelope, its
own HTTP-status table) -> the remedy groups of venues/binance/errors.py (retCodes from
protocol/bybit-linear.md "Errors")."""

from __future__ import annotations

import json

import ccxt
import pytest

from venue.errors import FailureKind
from venues.bybit.errors import rate_usage, translate

URL = "https://api.bybit.com/v5/order/create"


def raised(code: int, msg: str) -> Exception:
    """What unmodified ccxt.bybit raises for an HTTP 200 envelope with `code`."""
    body = json.dumps({"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {},
                       "time": 1})
    with pytest.raises(ccxt.BaseError) as caught:
        ccxt.bybit().handle_errors(200, "OK", URL, "POST", {}, body, json.loads(body), {}, "")
    return caught.value


@pytest.mark.parametrize(("code", "msg", "kind"), [
    (110092, "expect Rising, but trigger_price[59000] <= current[60000]",
     FailureKind.WOULD_TRIGGER),
    (110093, "expect Falling, but trigger_price[61000] >= current[60000]",
     FailureKind.WOULD_TRIGGER),
    (10001, "expect Rising, but trigger_price[50000000] <= current[51340000]??1",
     FailureKind.WOULD_TRIGGER),
    (10001, "params error: TriggerDirection invalid", FailureKind.REJECTED),
    (110001, "order not exists or too late to cancel", FailureKind.NOT_FOUND),
    (110008, "The order has been completed or cancelled.", FailureKind.NOT_FOUND),
    (110010, "The order has been cancelled", FailureKind.NOT_FOUND),
    (110017, "Reduce-only rule not satisfied", FailureKind.REJECTED),
    (110094, "Order notional value below the lower limit", FailureKind.REJECTED),
    (110007, "ab not enough for new order", FailureKind.REJECTED),
    (110009, "The number of stop orders exceeds the maximum allowable limit",
     FailureKind.REJECTED),
    (10003, "API key is invalid.", FailureKind.HALT),
    (10004, "Error sign, please check your signature generation algorithm.", FailureKind.HALT),
    (10005, "Permission denied", FailureKind.HALT),
    (10002, "invalid request, please check your server timestamp or recv_window param",
     FailureKind.TEMPORARY),
    (10016, "Server error.", FailureKind.TEMPORARY),
])
def test_each_ret_code_lands_in_its_remedy_group(code, msg, kind):
    err = translate(raised(code, msg), placing=False)

    assert err.failure.kind is kind and err.failure.code == code
    assert msg[:20] in err.failure.message


def test_a_duplicate_order_link_id_means_an_earlier_attempt_landed_look_it_up():
    err = translate(raised(110072, "OrderLinkedID is duplicate"), placing=True)

    assert err.failure.kind is FailureKind.UNKNOWN_OUTCOME and err.failure.code == 110072


def test_10006_is_a_rate_limit_with_the_reset_time_as_retry_after():
    headers = {"X-Bapi-Limit": "10", "X-Bapi-Limit-Status": "0",
               "X-Bapi-Limit-Reset-Timestamp": "1500"}

    err = translate(raised(10006, "Too many visits!"), placing=False, headers=headers,
                    now_ms=1000)

    f = err.failure
    assert (f.kind, f.code, f.http_status, f.retry_after_ms) == \
        (FailureKind.TEMPORARY, 10006, 429, 500)


def test_10006_without_the_reset_header_has_no_retry_after():
    f = translate(raised(10006, "Too many visits!"), placing=False, headers={}).failure

    assert f.http_status == 429 and f.retry_after_ms is None


def test_the_ip_limits_403_is_the_ban_status_every_request_waits_on():
    with pytest.raises(ccxt.BaseError) as caught:
        ccxt.bybit().handle_http_status_code(403, "Forbidden", URL, "GET", "access too frequent")

    f = translate(caught.value, placing=False).failure

    assert (f.kind, f.http_status, f.code) == (FailureKind.TEMPORARY, 403, None)


@pytest.mark.parametrize("error", [ccxt.RequestTimeout("bybit POST timed out"),
                                   ccxt.NetworkError("bybit connection reset")])
def test_no_answer_while_placing_is_an_unknown_outcome_and_a_read_is_temporary(error):
    assert translate(error, placing=True).failure.kind is FailureKind.UNKNOWN_OUTCOME
    assert translate(ccxt.NetworkError("reset"), placing=False).failure.kind is \
        FailureKind.TEMPORARY


def test_an_order_endpoints_headers_report_what_this_second_used():
    usage = rate_usage({"x-bapi-limit": "10", "x-bapi-limit-status": "7"}, orders=True)

    assert usage is not None and usage.order_count_10s == 3 and usage.used_weight_1m is None
    assert rate_usage({"x-bapi-limit": "50", "x-bapi-limit-status": "7"}) is None


def test_a_refusal_is_reported_with_its_status_code_and_wait():
    f = translate(raised(10006, "Too many visits!"), placing=False,
                  headers={"X-Bapi-Limit-Reset-Timestamp": "3000"}, now_ms=1000).failure

    usage = rate_usage({}, f)

    assert usage is not None
    assert (usage.http_status, usage.code, usage.retry_after_ms) == (429, 10006, 2000)
