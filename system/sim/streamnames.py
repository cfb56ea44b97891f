"""Binance USDT-M stream names: which exist, on which entry point, and how they are echoed.

The grammar is the stream list of Binance's own SDK (binance-sdk-derivatives-trading-usds-
futures 18.1.0, `websocket_streams/streams/market_api.py` and `public_api.py`, each method's
`ws_streams_placeholder` and `stream_url`), plus `<symbol>@trade`, which ccxt 4.5.90 routes
to /public. A name that fits no pattern is what Binance answers with "Invalid request:
invalid stream"; a name that fits but is on the other entry point, or names a symbol that does
not trade, is acknowledged and then never pushed (what clients saw on the retired paths and
on the wrong category, see streams.py).

The simulator only has data for the mark-price streams; every other valid name is accepted
and stays silent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SYM = r"[a-z0-9_]{1,40}"
_KLINE = r"(1s|1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1m)"  # 1M lower-cases to 1m
_CONTRACT = r"(perpetual|current_quarter|next_quarter|tradifi_perpetual)"

# (category, pattern over the lower-cased name). Matching is case-insensitive because the
# echo is rebuilt in Binance's spelling anyway (see _shown).
_PATTERNS: tuple[tuple[str, re.Pattern], ...] = tuple(
    (cat, re.compile(rx)) for cat, rx in (
        ("market", rf"{_SYM}@markprice(@1s)?"),
        ("market", r"!markprice@arr(@1s)?"),
        ("market", rf"{_SYM}@aggtrade"),
        ("market", rf"{_SYM}@kline_{_KLINE}"),
        ("market", rf"[a-z0-9]{{1,40}}_{_CONTRACT}@continuouskline_{_KLINE}"),
        ("market", rf"{_SYM}@(miniticker|ticker|forceorder|compositeindex)"),
        ("market", r"!(miniticker|ticker|forceorder|assetindex)@arr"),
        ("market", r"!contractinfo"),
        ("market", r"tradingsession"),
        ("public", rf"{_SYM}@bookticker"),
        ("public", r"!bookticker"),
        ("public", rf"{_SYM}@depth(5|10|20)?(@100ms|@500ms)?"),
        ("public", rf"{_SYM}@rpidepth@500ms"),
        ("public", rf"{_SYM}@trade"),
    ))

_CAMEL = {"markprice": "markPrice", "aggtrade": "aggTrade", "miniticker": "miniTicker",
          "forceorder": "forceOrder", "compositeindex": "compositeIndex",
          "assetindex": "assetIndex", "contractinfo": "contractInfo",
          "continuouskline": "continuousKline", "tradingsession": "tradingSession",
          "bookticker": "bookTicker", "rpidepth": "rpiDepth"}
_WORD = re.compile("|".join(sorted(_CAMEL, key=len, reverse=True)))


@dataclass(frozen=True, slots=True)
class StreamName:
    """One valid market-data stream name."""

    key: str
    """Lower-cased: the identity used for (un)subscribing and for the spread phase."""
    category: str
    """"market" or "public": the entry point Binance serves it on."""
    shown: str
    """As Binance echoes it in `stream` and LIST_SUBSCRIPTIONS (e.g. btcusdt@markPrice@1s)."""

    @property
    def is_mark_price(self) -> bool:
        """A stream the simulator has data for."""
        return self.category == "market" and "markprice" in self.key

    @property
    def symbol(self) -> str | None:
        """The upper-case symbol of a per-symbol stream, None for `!...@arr` streams."""
        return None if self.key.startswith("!") else self.key.split("@")[0].upper()


def parse(name: object) -> StreamName | None:
    """The stream `name` denotes, or None when Binance would call it an invalid stream."""
    if not isinstance(name, str):
        return None
    key = name.strip().lower()
    for category, rx in _PATTERNS:
        if rx.fullmatch(key):
            return StreamName(key, category, _shown(key))
    return None


def _shown(key: str) -> str:
    # The SDK builds names as "<lower-case symbol>@markPrice@1s" and keys its callbacks by
    # exactly that text, so the echo must use Binance's camelCase, whatever case came in.
    sym, at, rest = key.partition("@")
    if not at:  # "!contractinfo", "tradingsession": no symbol part
        return _WORD.sub(lambda m: _CAMEL[m.group(0)], key)
    head = sym if not sym.startswith("!") else _WORD.sub(lambda m: _CAMEL[m.group(0)], sym)
    return head + "@" + _WORD.sub(lambda m: _CAMEL[m.group(0)], rest)


LISTEN_KEY = re.compile(r"[A-Za-z0-9]{1,128}")
"""What a listenKey can look like on the private entry point (Binance issues 64 alphanumerics)."""
