"""Simulator settings: one frozen object, validated generically from field metadata."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from system.sim.latency import Latency

MARK_STREAM_PHASES = ("aligned", "spread")
"""Allowed values of `mark_stream_phase` (see MarketStreams)."""
SIM_VENUES = ("binanceusdm", "bybit")
"""The venue fronts the simulator serves (system/sim/app.py, system/sim/bybit/)."""
MAX_DEMO_POSITIONS = 5
"""Largest `demo_positions`: the demo book (system/sim/demo.py) has this many entries."""


def _f(default, doc: str, **limits):
    """A field with a default and the metadata the config loader validates against."""
    return field(default=default, metadata={"doc": doc, **limits})


@dataclass(frozen=True, slots=True)
class SimSettings:
    """Everything the exchange simulator can be told; every field has a default."""

    embedded: bool = _f(True, "run the simulator inside `posguard run` (bool)")
    venue: str = _f(
        "binanceusdm", "whose front the simulator serves: binanceusdm (Binance USDT-M) | "
        "bybit (Bybit v5 linear); in config.yaml it follows the account's exchange name",
        choices=SIM_VENUES,
    )
    host: str = _f("127.0.0.1", "address to bind; loopback unless explicitly set (host)")
    port: int = _f(0, "TCP port to listen on; 0 picks a free one (port)", min=0, max=65535)
    seed: int = _f(1, "seed of the random walk (int)")
    api_key: str = _f("paper-key", "API key the simulator accepts (X-MBX-APIKEY)")
    api_secret: str = _f("paper-secret", "HMAC-SHA256 secret the simulator checks (str)")
    walk_interval_ms: int = _f(
        250, "interval between random-walk / replay steps (ms)", min=1, max=3_600_000
    )
    volatility_pct: float = _f(
        0.05, "standard deviation of one random-walk step (% of price)", min=0.0, max=50.0
    )
    drift_pct: float = _f(
        0.0, "mean of one random-walk step (% of price); with volatility_pct 0 a steady trend",
        min=-5.0, max=5.0,
    )
    mark_stream_interval_ms: int = _f(
        1000, "update interval of the markPrice stream (ms)", min=10, max=60_000
    )
    mark_stream_phase: str = _f(
        "aligned", "when markPrice streams tick within the interval: aligned (all at each "
        "multiple of the interval, Binance's burst) | spread (each at its own crc32 offset)",
        choices=MARK_STREAM_PHASES,
    )
    taker_fee_pct: float = _f(0.05, "fee charged on every fill (% of notional)", min=0.0, max=5.0)
    starting_balance_usdt: float = _f(
        10_000.0, "wallet balance at start and after reset (USDT)", min=0.0
    )
    default_leverage: int = _f(20, "leverage of a symbol until set_leverage (x)", min=1, max=125)
    listen_key_ttl_secs: int = _f(
        3600, "listenKey lifetime without a keepalive (s)", min=1, max=86_400
    )
    user_stream_max_age_secs: int = _f(
        86_400, "a user-stream connection is closed after this long (s)", min=1
    )
    recv_window_max_ms: int = _f(60_000, "largest recvWindow accepted (ms)", min=1)
    timeout_fault_max_hold_ms: int = _f(
        30_000, "longest a timed-out request is held before the connection drops (ms)", min=1
    )
    price_csv: str = _f("", "CSV `timestamp,price[,symbol]` to replay; empty = random walk (path)")
    synthetic_symbols: int = _f(
        0, "extra symbols SYM0001USDT.. added for scale benches (count)", min=0, max=5000
    )
    max_fills_kept: int = _f(1000, "fills kept for /_sim/state (count)", min=1)
    max_gaps_kept: int = _f(1000, "unprotected-window gaps kept for /_sim/state (count)", min=1)
    mark_basis_pct: float = _f(
        0.02, "mark price minus contract (last) price, % of the contract price; the mark "
        "follows every contract move at this basis (%)", min=-5.0, max=5.0,
    )
    request_weight_per_min: int = _f(
        2400, "IP request-weight limit per minute, Binance's REQUEST_WEIGHT (weight)", min=1
    )
    orders_per_10s: int = _f(300, "account order limit per 10 s, Binance's ORDERS (count)", min=1)
    orders_per_min: int = _f(1200, "account order limit per minute, Binance's ORDERS (count)",
                             min=1)
    backoff_violations_before_ban: int = _f(
        2, "requests sent inside a 429's Retry-After before the IP is banned with 418 (count)",
        min=1,
    )
    max_history_kept: int = _f(
        10_000, "closed orders, closed algo orders and trades kept for queries, allAlgoOrders "
        "and userTrades, each (count)", min=1,
    )
    futures_trading_enabled: bool = _f(
        True, "false: the API key lacks futures permission, every signed or API-key "
        "endpoint answers -2015 (bool)"
    )
    demo_positions: int = _f(
        3, "positions the trader's own bot has open at start, opened on the account as an "
        "outside client would (long and short, on different symbols) for posguard to adopt; "
        "only `posguard run`'s embedded simulator opens them; 0 = none (count)",
        min=0, max=MAX_DEMO_POSITIONS,
    )
    demo_drift_pct: float = _f(
        0.01, "trend of each demo symbol's walk in its position's favour, % of price per "
        "step, so the trailing stop engages within a minute or two; 0 = the plain walk (%)",
        min=0.0, max=1.0,
    )
    latency: Latency = field(default_factory=Latency, metadata={
        "doc": "network latency added to the venue's REST and streams, never to /_sim/ "
               "(system/sim/latency.py); all 0 = loopback as is"})
    bybit_order_limit_per_sec: int = _f(
        10, "Bybit front: create / amend / cancel / trading-stop / set-leverage requests per "
        "second per UID, each endpoint its own (rate-limit.mdx, linear default) (count)", min=1)
    bybit_read_limit_per_sec: int = _f(
        50, "Bybit front: requests per second per UID to each signed read endpoint "
        "(order/realtime, position/list, wallet-balance...) (count)", min=1)
    bybit_ip_limit_per_5s: int = _f(
        600, "Bybit front: requests per IP per 5 s before HTTP 403 (count)", min=1)
    bybit_ip_ban_secs: int = _f(
        600, "Bybit front: how long an IP past its limit is refused with 403 (s)", min=1)


UNTHROTTLED = 1_000_000_000
"""A rate limit far above anything a bench or test sends."""


def unthrottled(settings: SimSettings) -> SimSettings:
    """`settings` with the venues' rate limits lifted (benches and tests that are not about them).

    A bench measures the engine, not the venue's limits; a test that means to hit a limit
    sets its own.
    """
    return dataclasses.replace(settings, request_weight_per_min=UNTHROTTLED,
                               orders_per_10s=UNTHROTTLED, orders_per_min=UNTHROTTLED,
                               bybit_order_limit_per_sec=UNTHROTTLED,
                               bybit_read_limit_per_sec=UNTHROTTLED,
                               bybit_ip_limit_per_5s=UNTHROTTLED)
