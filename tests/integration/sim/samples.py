"""Stream samples for field-by-field checks.

The samples of protocol/binance-usdm.md, with what Binance added since (SDK 18.1.0 models and
CHANGELOG): `er` in ORDER_TRADE_UPDATE, `ap`/`st` in markPriceUpdate; TRADE_LITE and
ACCOUNT_CONFIG_UPDATE are Binance's own documentation examples.
"""

ACCOUNT_UPDATE = {"e": "ACCOUNT_UPDATE", "E": 1795263300123, "T": 1795263300120,
 "a": {"m": "ORDER", "B": [{"a": "USDT", "wb": "949.27505000", "cw": "949.27505000",
                            "bc": "0"}],
       "P": [{"s": "BTCUSDT", "pa": "0", "ep": "0.0", "bep": "0", "cr": "-50.10000000",
              "up": "0", "mt": "cross", "iw": "0", "ps": "BOTH"}]}}

ORDER_TRADE_UPDATE = {"e": "ORDER_TRADE_UPDATE", "E": 1795263300123, "T": 1795263300120,
 "o": {"s": "BTCUSDT", "c": "x-cvBPrNm97b8f79aee1fdb87b5e8e2f", "S": "SELL", "o": "MARKET",
       "f": "GTC", "q": "0.010", "p": "0", "ap": "59990", "sp": "60000", "x": "TRADE",
       "X": "FILLED", "i": 8389765999, "l": "0.010", "z": "0.010", "L": "59990", "N": "USDT",
       "n": "0.29995000", "T": 1795263300120, "t": 5123456, "b": "0", "a": "0", "m": False,
       "R": True, "wt": "CONTRACT_PRICE", "ot": "STOP_MARKET", "ps": "BOTH", "cp": True,
       "rp": "-50.10000000", "pP": False, "si": 0, "ss": 0, "V": "EXPIRE_MAKER", "pm": "NONE",
       "gtd": 0, "er": "0"}}

TRADE_LITE = {"e": "TRADE_LITE", "E": 1721895408092, "T": 1721895408214, "s": "BTCUSDT",
              "q": "0.001", "p": "0", "m": False, "c": "z8hcUoOsqEdKMeKPSABslD", "S": "BUY",
              "L": "64089.20", "l": "0.040", "t": 109100866, "i": 8886774}

ACCOUNT_CONFIG_UPDATE = {"e": "ACCOUNT_CONFIG_UPDATE", "E": 1611646737479, "T": 1611646737476,
                         "ac": {"s": "BTCUSDT", "l": 25}}

ALGO_UPDATE = {"e": "ALGO_UPDATE", "T": 1795263300119, "E": 1795263300125,
 "o": {"caid": "x-cvBPrNm97b8f79aee1fdb87b5e8e2f", "aid": 4000000000, "at": "CONDITIONAL",
       "o": "STOP_MARKET", "s": "BTCUSDT", "S": "SELL", "ps": "BOTH", "f": "GTC",
       "q": "0.000", "X": "FINISHED", "ai": "8389765999", "ap": "59990.00", "aq": "0.010",
       "act": "MARKET", "tp": "60000", "p": "0", "V": "EXPIRE_MAKER", "wt": "CONTRACT_PRICE",
       "pm": "NONE", "cp": True, "pP": False, "R": False, "tt": 1795263300118, "gtd": 0,
       "rm": ""}}

MARK_PRICE = {"e": "markPriceUpdate", "E": 1, "s": "BTCUSDT", "p": "1", "i": "1", "P": "1",
              "r": "0", "ap": "1", "T": 1, "st": 1}


def assert_same_shape(sample: dict, got: dict, path: str = "") -> None:
    """Same keys in the same order, same value types, recursively (lists by first item)."""
    assert list(got) == list(sample), f"{path}: keys {list(got)} != {list(sample)}"
    for k, v in sample.items():
        g = got[k]
        where = f"{path}.{k}"
        assert type(g) is type(v), f"{where}: {type(g).__name__} != {type(v).__name__}"
        if isinstance(v, dict):
            assert_same_shape(v, g, where)
        elif isinstance(v, list) and v:
            assert g, f"{where}: empty list"
            for item in g:
                assert_same_shape(v[0], item, where + "[]")
