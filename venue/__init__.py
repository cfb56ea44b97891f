"""The venue boundary: what the engine needs from an exchange, and nothing exchange-specific.

`actors/` imports only this package (besides itself and `persistence/`); `venue/` imports
nothing of posguard's. Each exchange is an adapter package of its own (`venues/binance/`,
...) that implements `venue.interface.Venue`; `venues/__init__.py` finds it by exchange.name.

- interface.py: the Venue, its Capabilities and RateLimits, the Gateway a worker drives, and
  the errors that cross the boundary (FrameError, UserStreamExpired, UserStreamKeyError,
  ExchangeError);
- hosts.py: an environment's REST and stream bases, checked once;
- events.py / requests.py / replies.py / errors.py / envelope.py: the typed stream events,
  operations, replies, remedy groups and envelope fields every venue speaks;
- vocab.py: the engine's words for order kinds and fates.
"""
