"""The one interface every exchange adapter implements, and the errors that cross it.

What is exchange-specific lives behind `Venue`: where the venue is (hosts), its stream URLs
and subscription frames, frame parsing into typed events (venue/events.py), the user
stream's session key, how operations (venue/requests.py) become calls on the venue's client,
error translation into remedy groups (venue/errors.py: FailureKind), client-id rules, rate
limits and capabilities (like Freqtrade's per-exchange capability table).

A Venue is a small, stateless, picklable object: it travels to actor processes inside init
messages (StreamSettings, ExchangeSettings). Building one must stay cheap: an adapter
imports its exchange client library (ccxt, ~64 MB) only inside `open_gateway`, which runs in
the exchange worker processes alone.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from venue.errors import ExchangeFailure, RateUsage
from venue.hosts import VenueHosts


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a venue can do; the engine asks, never assumes."""

    native_trailing: bool
    """The exchange trails a stop itself (protection.trailing.mode: native is allowed)."""
    amend_in_place: bool
    """A resting stop's trigger can be changed without a cancel and a new order."""
    close_position_stop: bool
    """A stop can be 'close the whole position' rather than a quantity."""
    client_id_max_len: int
    """The longest client order id the venue accepts."""
    client_id_charset: str
    """A regex character class of what a client order id may contain."""
    trailing_callback_pct: tuple[str, str, str] | None
    """Native trailing: (lowest, highest, step) callback rate in percent, as decimal strings;
    None without native trailing."""
    stop_history: bool
    """The venue can say what became of a stop of ours after the fact (its fill, its price):
    a close that happened while posguard was away is journaled with it."""
    native_trailing_follows_position: bool = False
    """The native trailing stop is attached to the position (Bybit's trading-stop): one per
    position, sized by the venue to the whole position with every fill, replaced by the next
    placement, cleared by the venue when the position closes, and carrying no client id of
    its own (its origin is the order id our placement read back). posguard then never
    re-places it for a size change and never cancels it to replace it (it would cancel the
    only trailing stop); False (Binance): an order of its own qty and client id, resized
    new-first."""

    def client_id_ok(self, client_id: str) -> bool:
        """True when the venue accepts `client_id` as a client order id."""
        pattern = f"[{self.client_id_charset}]{{1,{self.client_id_max_len}}}"
        return re.fullmatch(pattern, client_id) is not None


@dataclass(frozen=True, slots=True)
class RateLimits:
    """How the venue counts requests and orders (actors/pacing.py paces by these)."""

    order_windows_secs: tuple[float, float]
    """The two order-count windows the budget (exchange.orders_per_10s / _per_min) covers."""
    weight_window_secs: float
    """The request-weight counter's window."""
    weight_limit: int
    """Request weight per window, until the venue publishes its own (FetchLimits)."""
    weight_code: int | None
    """The venue's error code of a refusal for request weight (holds every request)."""
    orders_code: int | None
    """The venue's error code of a refusal for orders (holds order placements only)."""
    default_ban_secs: float
    """An IP ban (HTTP 418) without Retry-After: the venue's shortest ban."""
    weights: tuple[tuple[type, int], ...]
    """Request weight per operation type; a type not named weighs `default_weight`."""
    default_weight: int
    """Weight of an operation not named in `weights`."""
    weight_per_explained_stop: int
    """Extra weight of a FetchSymbol per stop whose history it reads (`explain`)."""
    order_ceiling: tuple[int, int] | None = None
    """The venue's own order limit per window of `order_windows_secs`: the budget never
    exceeds it whatever the configuration says (Bybit's 1 s window under a budget configured
    for Binance's 10 s one); None: the configured budget stands (Binance)."""
    cancel_window: tuple[float, int] | None = None
    """(window secs, cancels) when the venue limits cancels on their own (Bybit: 10 a
    second per account); None: a cancel costs request weight only (Binance)."""
    ban_http_status: int = 418
    """The HTTP status of the venue's IP ban (Binance 418, Bybit 403): every request waits
    `default_ban_secs` (or its Retry-After)."""
    weight_reported: bool = True
    """The venue reports the weight used on its responses (Binance's X-MBX-USED-WEIGHT-1M;
    until the first one the pool does not pace by weight); False (Bybit: per-endpoint
    counters only, and its IP limit bans for 10 min): the pool counts the weight it sent in
    the last weight_window_secs itself."""
    hold_until_reply: bool = False
    """An order's (and a counted cancel's) slot in its windows runs from its reply, not its
    send: the venue counts a request when it arrives, and with a 1 s window (Bybit) the
    spread of send-to-arrival delays is a visible share of it; False: from the send
    (Binance's 10 s and 1 min windows)."""

    def weight_of(self, op: Any) -> int:
        """The request weight `op` costs on the venue's counter."""
        base = next((w for t, w in self.weights if type(op) is t), self.default_weight)
        return base + self.weight_per_explained_stop * len(getattr(op, "explain", ()))


class FrameError(ValueError):
    """A stream frame could not be understood; log it, count it, carry on."""


class UserStreamExpired(Exception):
    """The venue ended the user stream's session (e.g. Binance's listenKey expired):
    reconnect with a new one."""


class UserStreamKeyError(OSError):
    """The venue refused or did not answer a user-stream session call."""


class StreamAuthError(UserStreamKeyError):
    """The venue refused a private socket's own authentication (Bybit's `op: auth` answered
    `success: false`): reconnect after the backoff; the message says what the venue said."""


class ExchangeError(Exception):
    """An exchange call failed; `failure` says what to do about it (its remedy group)."""

    def __init__(self, failure: ExchangeFailure) -> None:
        super().__init__(f"{failure.kind.value}: {failure.message}")
        self.failure = failure


class Gateway(Protocol):
    """Typed exchange operations over one blocking exchange client, one call at a time
    (`posguard check`, benches; the exchange worker uses AsyncGateway)."""

    def warm_up(self) -> int:
        """Load the market list; how many markets there are."""

    def begin_call(self) -> None:
        """Forget the previous call's rate-limit report."""

    def execute(self, op: Any) -> Any:
        """Run one operation (venue/requests.py) and return its reply (venue/replies.py);
        raise ExchangeError. Placements are never retried; reads may be."""

    def rate_usage(self) -> RateUsage | None:
        """What the last call's response said about the rate limits."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one operation came to: its reply or its failure, and what its responses said
    about the rate limits (of THIS operation's responses, whatever else was in flight)."""

    result: Any
    """The reply (venue/replies.py); None on failure, or for a lookup that found nothing."""
    failure: ExchangeFailure | None
    """Why it failed (its remedy group), None on success."""
    usage: RateUsage | None
    """The venue's counters from its last response, and its 429/418 refusal, if any."""


class AsyncGateway(Protocol):
    """Typed exchange operations over one asynchronous exchange client: many operations in
    flight at once on the event loop that created it (one per exchange worker)."""

    async def warm_up(self) -> int:
        """Load the market list; how many markets there are."""

    async def run(self, op: Any) -> Outcome:
        """Run one operation (venue/requests.py). The venue's failures come back in the
        Outcome; anything else (a bug) is raised. Placements are never retried."""

    async def close(self) -> None:
        """Close the client's connections."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """How a process reaches the venue's account (secrets only inside the worker)."""

    api_key: str
    """The account's API key."""
    secret: str
    """Its secret (never leaves the worker process: built there from the environment)."""


class Venue(ABC):
    """One exchange, as the engine sees it. Subclasses are frozen dataclasses (picklable)."""

    name: ClassVar[str]
    """The config's exchange.name for this adapter (venues/__init__.py registry)."""
    environments: ClassVar[tuple[str, ...]]
    """The venue's environments exchange.venue may name (e.g. live, demo, testnet)."""
    capabilities: ClassVar[Capabilities]
    """What the venue can do."""
    limits: ClassVar[RateLimits]
    """How the venue counts requests and orders."""
    heartbeat_secs: ClassVar[float] = 0.0
    """The client must send the venue's application-level heartbeat (heartbeat_frame) on
    every stream this often (Bybit: 20 s); 0: none, WebSocket pings on silence only (Binance
    pings the client itself)."""
    user_stream_keepalive: ClassVar[bool] = True
    """The user stream's session key must be kept alive (keep_user_stream every
    streams.listen_key_keepalive_secs); False: there is no session key (Bybit)."""

    # ---- where it is

    @abstractmethod
    def hosts(self, environment: str, rest_url: str = "", stream_url: str = "") -> VenueHosts:
        """The environment's REST and stream bases, an explicit base replacing its default;
        venue.hosts.VenueURLError naming the key when one is wrong."""

    # ---- streams

    @abstractmethod
    def parse_frame(self, raw: str | bytes, received_ms: int | None = None,
                    received_mono: float | None = None) -> list[Any]:
        """One stream text frame -> zero or more typed events (venue/events.py), stamped with
        when it was read (each defaults to now). FrameError for a frame that cannot be
        understood, UserStreamExpired when the venue ended the user stream's session."""

    @abstractmethod
    def market_stream_url(self, stream_base: str) -> str:
        """The URL of the market-data connection (mark prices subscribed on it)."""

    @abstractmethod
    def mark_price_subscription(self, subscribe: bool, symbols: list[str],
                                request_id: int) -> str:
        """The text frame that (un)subscribes the mark price of `symbols`, in one request."""

    @abstractmethod
    def user_stream_url(self, stream_base: str, key: str) -> str:
        """The URL of the user-data connection of session `key`."""

    @abstractmethod
    def open_user_stream(self, rest_url: str, api_key: str, timeout_secs: float) -> str:
        """Start a user-stream session; its key. UserStreamKeyError when refused."""

    def user_stream_greeting(self, credentials: Credentials, now_ms: int) -> list[str]:
        """Text frames sent, in order, right after the private socket opens (Bybit: `op:
        auth` signed with the secret, then the topics' subscription); [] when the URL itself
        carries the session (Binance's listenKey). The venue's answers come back through
        parse_frame: [] for an acknowledgement, StreamAuthError for a refusal."""
        return []

    def heartbeat_frame(self, request_id: int) -> str | None:
        """The application-level heartbeat frame (Bybit: `{"req_id": ..., "op": "ping"}`);
        None for a venue without one. Its answer parses to no events."""
        return None

    @abstractmethod
    def keep_user_stream(self, rest_url: str, api_key: str, key: str,
                         timeout_secs: float) -> None:
        """Keep session `key` alive. UserStreamKeyError when refused."""

    # ---- orders and reads

    @abstractmethod
    def open_gateway(self, environment: str, base_url: str | None, credentials: Credentials,
                     timeout_ms: int) -> Gateway:
        """A Gateway on a new client of the venue (call only in an exchange worker: this is
        where the client library is imported); `base_url` replaces the venue's REST host."""

    async def open_async_gateway(self, environment: str, base_url: str | None,
                                 credentials: Credentials, timeout_ms: int) -> AsyncGateway:
        """An AsyncGateway on a new asynchronous client of the venue, bound to the running
        event loop (call it on that loop, in an exchange worker)."""
        raise NotImplementedError(f"{self.name}: no asynchronous gateway")
