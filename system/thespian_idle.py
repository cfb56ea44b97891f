"""The checks Thespian makes of every idle connection on every pass, made cheap.

thespian 4.0.1 keeps a connection to each actor it has talked to (`_openSockets`, keyed by
the remote's address) and on every pass of its loop (TCPTransport._runWithExpiry) looks
each one up again by its address and asks whether it has been idle for 20 minutes. Each
look-up hashes the address (IPActorAddress.__hash__ builds two tuples through properties)
and each question builds an ExpirationTimerView. The pool, the supervisor and the user
stream hold one connection per symbol actor, so at 100 symbols a pass made ~100 of each:
in a probe (an actor holding 100 idle connections, answering pings one at a time; cProfile)
they were over half of its time, and its CPU per ping and answer grew from 0.52 ms with no
idle connection to 1.67 ms with 100, selector already cheap (system/thespian_poll.py).

Two patches, neither changing what is computed:
- IdleSocket.expired compares the clock with the validity's own deadline (what
  `validity.view().expired()` does, without the view object);
- an address's hash is computed once and kept on the address. It is left out of the
  address's pickle: another process (the CLI, the launcher) seeds string hashes
  differently, and a carried hash would miss in its dicts. Thespian never changes an
  address's af, socktype, proto or sockname after __init__, the fields the hash is of.

Installed in the admin's process before it forks any actor (system/actor_system.py).
"""

from __future__ import annotations

from typing import Any

_CACHE = "_posguard_hash"


def cheap_idle_checks() -> None:
    """Patch IdleSocket.expired and IPActorAddress.__hash__ (idempotent)."""
    from thespian.system import timing
    from thespian.system.transport import IPBase, TCPTransport

    idle, addr = TCPTransport.IdleSocket, IPBase.IPActorAddress
    if getattr(addr, "_posguard_cheap", False):
        return
    now = timing.currentTime
    original_hash, original_getstate = addr.__hash__, addr.__getstate__

    def expired(self: Any) -> bool:
        quit_at = self.validity._time_to_quit
        return quit_at is not None and now() >= quit_at

    def __hash__(self: Any) -> int:
        try:
            return self.__dict__[_CACHE]
        except KeyError:
            value = self.__dict__[_CACHE] = original_hash(self)
            return value

    def __getstate__(self: Any) -> dict[str, Any]:
        state = original_getstate(self)
        if _CACHE in state:
            state = dict(state)  # may be the address's own __dict__
            del state[_CACHE]
        return state

    idle.expired = expired
    addr.__hash__ = __hash__
    addr.__getstate__ = __getstate__
    addr._posguard_cheap = True
