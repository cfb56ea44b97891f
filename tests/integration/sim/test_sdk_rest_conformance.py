"""Every REST endpoint posguard uses, driven by Binance's own SDK client, held to its models.

The client is the SDK's (`DerivativesTradingUsdsFutures(config_rest_api=...)`), so the
requests are Binance's own encoding and signing. Each reply is parsed by the SDK into its
response model and then checked strictly by `assert_conforms` (the models alone accept
almost anything: see sdk_conformance.py). The SDK's in-place relaxation of a model that
failed to parse is turned into a failure here, so no test can pass on a relaxed model.
"""

from __future__ import annotations

import json

import binance_common.utils as sdk_utils
import binance_sdk_derivatives_trading_usds_futures.rest_api.models as M
import pytest
from binance_common.configuration import ConfigurationRestAPI
from binance_common.errors import BadRequestError
from binance_sdk_derivatives_trading_usds_futures import DerivativesTradingUsdsFutures

from tests.integration.sim.sdk_conformance import NonConformingReply, assert_conforms

BTC, ETH = "BTCUSDT", "ETHUSDT"


class Sdk:
    """The SDK's REST client plus the raw JSON of the last reply it received."""

    def __init__(self, url: str, key: str, secret: str) -> None:
        self.client = DerivativesTradingUsdsFutures(config_rest_api=ConfigurationRestAPI(
            api_key=key, api_secret=secret, base_path=url, timeout=5000, retries=0))
        self.api = self.client.rest_api
        self.raw = None
        self.api._session.hooks["response"].append(self._keep)

    def _keep(self, resp, *args, **kwargs):
        self.raw = json.loads(resp.text)

    def call(self, model, method: str, *args, **kwargs):
        """Call `method`, parse into `model` through the SDK, check strictly; the raw JSON."""
        data = getattr(self.api, method)(*args, **kwargs).data()
        if model is not None:
            if "actual_instance" in model.model_fields:
                assert isinstance(data, model) and data.actual_instance is not None
            elif model.is_array():
                assert isinstance(data, list) and all(isinstance(x, model) for x in data)
            else:
                assert isinstance(data, model), f"{method}: the SDK returned {type(data)}"
        assert_conforms(self.raw, model, method)
        return self.raw


@pytest.fixture
def sdk(sim, monkeypatch):
    def refuse(model_cls):
        raise AssertionError(f"the SDK had to relax {model_cls.__name__}: a reply did not "
                             "have the model's types")
    monkeypatch.setattr(sdk_utils, "relax_model_strictness", refuse)
    s = Sdk(sim.url, sim.settings.api_key, sim.settings.api_secret)
    yield s
    s.api._session.close()


def _long(sdk, qty=0.01):
    return sdk.call(M.NewOrderResponse, "new_order", symbol=BTC, side="BUY", type="MARKET",
                    quantity=qty, new_order_resp_type="RESULT")


def test_market_data_and_server_time(sdk):
    sdk.call(None, "test_connectivity")
    assert sdk.call(M.CheckServerTimeResponse, "check_server_time")["serverTime"] > 0
    info = sdk.call(M.ExchangeInformationResponse, "exchange_information")
    assert {s["symbol"] for s in info["symbols"]} >= {BTC, ETH}
    one = sdk.call(M.MarkPriceResponse, "mark_price", symbol=BTC)
    assert one["markPrice"] == "60012.00"  # the mark: contract 60000 + 0.02 % basis
    assert len(sdk.call(M.MarkPriceResponse, "mark_price")) == len(info["symbols"])


def test_account_and_positions_v3_list_only_what_is_live(sdk):
    assert sdk.call(M.PositionInformationV3Response, "position_information_v3") == []
    assert sdk.call(M.PositionInformationV3Response, "position_information_v3",
                    symbol=ETH) == []
    _long(sdk)
    rows = sdk.call(M.PositionInformationV3Response, "position_information_v3", symbol=BTC)
    acc = sdk.call(M.AccountInformationV3Response, "account_information_v3")
    assert [r["positionAmt"] for r in rows] == ["0.010"]
    assert [p["symbol"] for p in acc["positions"]] == [BTC]
    assert sdk.call(M.PositionInformationV3Response, "position_information_v3",
                    symbol=ETH) == []


def test_v2_account_and_positions_keep_the_v2_shape(sdk):
    _long(sdk)
    acc = sdk.call(M.AccountInformationV2Response, "account_information_v2")
    rows = sdk.call(M.PositionInformationV2Response, "position_information_v2")
    assert len(rows) == len(acc["positions"]) > 1  # every symbol, flat ones included
    assert next(r for r in rows if r["symbol"] == BTC)["leverage"] == "20"


def test_configuration_endpoints(sdk):
    lev = sdk.call(M.ChangeInitialLeverageResponse, "change_initial_leverage", symbol=BTC,
                   leverage=7)
    assert lev == {"leverage": 7, "maxNotionalValue": "50000000", "symbol": BTC}
    cfg = sdk.call(M.SymbolConfigurationResponse, "symbol_configuration", symbol=BTC)
    assert cfg == [{"symbol": BTC, "marginType": "CROSSED", "isAutoAddMargin": False,
                    "leverage": 7, "maxNotionalValue": "50000000"}]
    assert len(sdk.call(M.SymbolConfigurationResponse, "symbol_configuration")) > 1
    brackets = sdk.call(M.NotionalAndLeverageBracketsResponse, "notional_and_leverage_brackets")
    assert brackets[0]["brackets"][0]["initialLeverage"] == 125
    sdk.call(M.NotionalAndLeverageBracketsResponse, "notional_and_leverage_brackets",
             symbol=BTC)
    acc = sdk.call(M.FuturesAccountConfigurationResponse, "futures_account_configuration")
    assert acc["canTrade"] is True and acc["dualSidePosition"] is False


def test_position_mode_read_and_switch(sdk):
    assert sdk.call(M.GetCurrentPositionModeResponse,
                    "get_current_position_mode") == {"dualSidePosition": False}
    assert sdk.call(M.ChangePositionModeResponse, "change_position_mode",
                    dual_side_position="true") == {"code": 200, "msg": "success"}
    assert sdk.call(M.GetCurrentPositionModeResponse,
                    "get_current_position_mode") == {"dualSidePosition": True}
    with pytest.raises(BadRequestError) as ei:  # hedge mode: an order needs positionSide
        _long(sdk)
    assert ei.value.status_code == -4061
    sdk.call(M.ChangePositionModeResponse, "change_position_mode", dual_side_position="false")


def test_plain_orders_new_query_open_and_cancel(sdk, sim_control):
    o = _long(sdk)
    assert o["status"] == "FILLED" and "avgPrice" not in o and "cumQuote" not in o
    got = sdk.call(M.QueryOrderResponse, "query_order", symbol=BTC, order_id=o["orderId"])
    assert got["avgPrice"] == "60000.00" and "activatePrice" not in got
    sim_control.partial_fill(ETH, 0.5, 60_000)  # a working order, so a cancel can succeed
    w = sdk.call(M.NewOrderResponse, "new_order", symbol=ETH, side="BUY", type="MARKET",
                 quantity=0.1, new_client_order_id="pg-1-ETHUSDT-open-1")
    opened = sdk.call(M.CurrentAllOpenOrdersResponse, "current_all_open_orders", symbol=ETH)
    assert [x["orderId"] for x in opened] == [w["orderId"]]
    c = sdk.call(M.CancelOrderResponse, "cancel_order", symbol=ETH,
                 orig_client_order_id="pg-1-ETHUSDT-open-1")
    assert c["status"] == "CANCELED"


def test_algo_orders_place_query_list_and_cancel(sdk):
    _long(sdk, 0.03)
    stop = sdk.call(M.NewAlgoOrderResponse, "new_algo_order", algo_type="CONDITIONAL",
                    symbol=BTC, side="SELL", type="STOP_MARKET", quantity=0.01,
                    trigger_price=59000, reduce_only="true", working_type="MARK_PRICE",
                    price_protect="true", client_algo_id="pg-1-BTCUSDT-stop-1")
    assert stop["workingType"] == "MARK_PRICE" and stop["priceProtect"] is True
    assert "callbackRate" not in stop
    close = sdk.call(M.NewAlgoOrderResponse, "new_algo_order", algo_type="CONDITIONAL",
                     symbol=BTC, side="SELL", type="STOP_MARKET", trigger_price=58000,
                     close_position="true")
    trail = sdk.call(M.NewAlgoOrderResponse, "new_algo_order", algo_type="CONDITIONAL",
                     symbol=BTC, side="SELL", type="TRAILING_STOP_MARKET", quantity=0.01,
                     callback_rate=1.0, activate_price=60100, reduce_only="true",
                     working_type="CONTRACT_PRICE")
    assert trail["callbackRate"] == "1.0" and trail["activatePrice"] == "60100.00"
    q = sdk.call(M.QueryAlgoOrderResponse, "query_algo_order", algo_id=stop["algoId"])
    assert q["algoStatus"] == "NEW" and "actualType" not in q
    sdk.call(M.QueryAlgoOrderResponse, "query_algo_order",
             client_algo_id="pg-1-BTCUSDT-stop-1")
    rows = sdk.call(M.CurrentAllAlgoOpenOrdersResponse, "current_all_algo_open_orders",
                    symbol=BTC)
    assert {r["algoId"] for r in rows} == {stop["algoId"], close["algoId"], trail["algoId"]}
    sdk.call(M.CurrentAllAlgoOpenOrdersResponse, "current_all_algo_open_orders")
    gone = sdk.call(M.CancelAlgoOrderResponse, "cancel_algo_order", algo_id=close["algoId"])
    assert gone == {"algoId": close["algoId"], "clientAlgoId": close["clientAlgoId"],
                    "code": "200", "msg": "success"}
    sdk.call(M.CancelAlgoOrderResponse, "cancel_algo_order",
             client_algo_id="pg-1-BTCUSDT-stop-1")
    all_gone = sdk.call(M.CancelAllAlgoOpenOrdersResponse, "cancel_all_algo_open_orders",
                        symbol=BTC)
    assert all_gone["code"] == 200
    assert sdk.call(M.CurrentAllAlgoOpenOrdersResponse, "current_all_algo_open_orders") == []


def test_history_finds_a_triggered_stops_fill_through_actual_order_id(sdk, sim_control):
    _long(sdk)
    stop = sdk.call(M.NewAlgoOrderResponse, "new_algo_order", algo_type="CONDITIONAL",
                    symbol=BTC, side="SELL", type="STOP_MARKET", quantity=0.01,
                    trigger_price=59000, reduce_only="true", working_type="MARK_PRICE")
    sim_control.set_price(BTC, "58990", mark="58995")

    hist = sdk.call(M.QueryAllAlgoOrdersResponse, "query_all_algo_orders", symbol=BTC)
    done = sdk.call(M.QueryAlgoOrderResponse, "query_algo_order", algo_id=stop["algoId"])
    trades = sdk.call(M.AccountTradeListResponse, "account_trade_list", symbol=BTC,
                      order_id=int(done["actualOrderId"]))

    assert [(h["algoId"], h["algoStatus"]) for h in hist] == [(stop["algoId"], "FINISHED")]
    assert done["actualType"] == "MARKET" and done["actualQty"] == "0.010"
    assert [(t["price"], t["qty"], t["side"]) for t in trades] == [("58990.00", "0.010",
                                                                   "SELL")]
    assert 0 < done["triggerTime"] <= trades[0]["time"] <= done["updateTime"]
    assert len(sdk.call(M.AccountTradeListResponse, "account_trade_list", symbol=BTC)) == 2


def test_a_triggered_trailing_stop_and_its_child_order(sdk, sim_control):
    _long(sdk)
    trail = sdk.call(M.NewAlgoOrderResponse, "new_algo_order", algo_type="CONDITIONAL",
                     symbol=BTC, side="SELL", type="TRAILING_STOP_MARKET", quantity=0.01,
                     callback_rate=0.5, reduce_only="true", working_type="MARK_PRICE")
    sim_control.set_price(BTC, "61000", mark="61000")  # new peak: the stop trails to 60695
    sim_control.set_price(BTC, "60690", mark="60690")

    done = sdk.call(M.QueryAlgoOrderResponse, "query_algo_order", algo_id=trail["algoId"])
    child = sdk.call(M.QueryOrderResponse, "query_order", symbol=BTC,
                     order_id=int(done["actualOrderId"]))

    assert done["algoStatus"] == "FINISHED" and done["triggerPrice"] == "60695.00"
    assert (child["origType"], child["type"], child["status"]) == (
        "TRAILING_STOP_MARKET", "MARKET", "FILLED")
    assert child["priceRate"] == "0.5" and child["activatePrice"] == "0"
    assert child["avgPrice"] == "60690.00" and child["workingType"] == "MARK_PRICE"


def test_listen_key_lifecycle(sdk):
    key = sdk.call(M.StartUserDataStreamResponse, "start_user_data_stream")["listenKey"]
    assert sdk.call(M.KeepaliveUserDataStreamResponse,
                    "keepalive_user_data_stream") == {"listenKey": key}
    sdk.call(None, "close_user_data_stream")


@pytest.mark.parametrize("broken,why", [
    (lambda r: r.pop("updateTime"), "missing"),
    (lambda r: r.update(leverage="20"), "not in the model"),
    (lambda r: r.update(positionAmt=0.01), "is float"),
    (lambda r: r.update(adl=True), "is bool"),
    (lambda r: r.update(updateTime="1"), "is str"),
    (lambda r: r.update(markPrice=None), "null"),
], ids=["missing-field", "extra-v2-field", "number-for-string", "bool-for-int",
        "string-for-int", "null"])
def test_the_conformance_check_rejects_a_broken_reply(sdk, broken, why):
    _long(sdk)
    rows = sdk.call(M.PositionInformationV3Response, "position_information_v3")
    broken(rows[0])

    with pytest.raises(NonConformingReply, match=why):
        assert_conforms(rows, M.PositionInformationV3Response)


def test_the_sdk_model_alone_accepts_the_same_broken_reply():
    # Why the strict check exists: the generated model takes a row with every field but one
    # missing and a v2-only field added, without a word (the extra is silently dropped).
    row = {"symbol": BTC, "leverage": "20"}

    parsed = M.PositionInformationV3Response.from_dict([row])

    assert parsed[0].symbol == BTC and parsed[0].position_amt is None
    assert "leverage" not in parsed[0].model_dump(by_alias=True)
    with pytest.raises(NonConformingReply):
        assert_conforms([row], M.PositionInformationV3Response)


def test_a_nested_or_oneof_reply_is_checked_all_the_way_down(sdk):
    info = sdk.call(M.ExchangeInformationResponse, "exchange_information")
    info["symbols"][0]["filters"][0]["tickSize"] = 0.1
    with pytest.raises(NonConformingReply, match=r"filters\[0\]\.tickSize"):
        assert_conforms(info, M.ExchangeInformationResponse)
    one = sdk.call(M.MarkPriceResponse, "mark_price", symbol=BTC)
    one["nextFundingTime"] = str(one["nextFundingTime"])
    with pytest.raises(NonConformingReply, match="nextFundingTime"):
        assert_conforms(one, M.MarkPriceResponse)
