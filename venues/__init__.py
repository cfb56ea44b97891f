"""The exchange adapters, by the name `exchange.name` gives them.

Each adapter is a package of its own (venues/<name>/) implementing venue.interface.Venue;
adding an exchange is that package plus one line in ADAPTERS. Importing this module loads
no exchange client library (ccxt is imported only inside exchange workers).
"""

from __future__ import annotations

from venue.interface import Venue
from venues.binance import BinanceUsdm
from venues.bybit import Bybit

ADAPTERS: dict[str, type[Venue]] = {
    BinanceUsdm.name: BinanceUsdm,
    Bybit.name: Bybit,
}
"""exchange.name -> its adapter class."""


class UnknownVenue(ValueError):
    """No adapter has that name."""


def names() -> tuple[str, ...]:
    """Every exchange.name an adapter answers to."""
    return tuple(ADAPTERS)


def adapter(name: str) -> Venue:
    """The adapter of exchange `name`, or UnknownVenue naming the ones there are."""
    cls = ADAPTERS.get(name)
    if cls is None:
        raise UnknownVenue(f"exchange.name: {name!r} is not one of {', '.join(ADAPTERS)}")
    return cls()
