"""The stream actors on Bybit, in real actor processes against the simulator's Bybit front.

A bare actor system (multiprocTCPBase, loopback, private port) runs the real user-stream and
market-stream actors with the real Bybit adapter (venues/bybit) on the simulator's
/v5/private and /v5/public/linear WebSockets; the test's StreamParent (stream_harness.py)
stands in for the supervisor and receives every event. Orders go in through an unmodified
ccxt.bybit on the simulator's REST front.

- the private socket authenticates itself (the adapter's greeting, signed with the paper
  secret read inside the actor), the stream reports StreamConnected only once the venue has
  answered it, and a position opened over REST arrives as a PositionUpdate;
- after the simulator closes the socket the stream reconnects, authenticates again, reports
  StreamConnected again (every symbol would reconcile) and events flow again;
- a refused authentication (wrong secret) is retried with a growing backoff: the actor stays
  alive, never reports connected, and names the venue's refusal in its status;
- the market stream subscribes tickers and hands MarkPrice ticks to the routed actor.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from actors.market_stream import MarketStreamActor
from actors.messages import MarkPrice, PositionUpdate, StreamSettings
from actors.user_stream import UserStreamActor
from system import actor_system
from system.launched import pid_alive
from system.processes import kill, system_pids
from system.sim.client import SimControl
from tests.fixtures.engine import free_port
from tests.integration.actors.stream_harness import (
    StartStream,
    StopStream,
    StreamParent,
    StreamQuery,
    StreamSeen,
    fast_heartbeat_bybit,
)
from tests.waiting import wait_for
from venue.hosts import simulator

SYM = "BTCUSDT"
SHUTDOWN_SECS = 2.0
ASK = timedelta(seconds=5)
TIMEOUT_SECS = 20.0


@pytest.fixture
def bybit_system(tmp_path, bybit_sim) -> Iterator[Any]:
    """A fresh actor system on a private loopback port, ended with the test (shutdown, then
    SIGKILL by pid of whatever is left), before the simulator stops."""
    port = free_port()
    actor_system.start("127.0.0.1", port, log_file=str(tmp_path / "actors.log"))
    asys = actor_system.connect("127.0.0.1", port)
    try:
        yield asys
    finally:
        done = threading.Thread(target=_shutdown, args=(port,), daemon=True)
        done.start()
        done.join(SHUTDOWN_SECS)
        for pid in system_pids("127.0.0.1", port):
            kill(pid)
        wait_for(lambda left: not left, SHUTDOWN_SECS, "every process of the system to end",
                 sample=lambda: [p for p in system_pids("127.0.0.1", port) if pid_alive(p)])


def _shutdown(port: int) -> None:
    with contextlib.suppress(actor_system.ActorSystemError):
        actor_system.shutdown("127.0.0.1", port, timeout_secs=SHUTDOWN_SECS)


def bybit_venue() -> Any:
    import venues
    return venues.adapter("bybit")


def stream_settings(sim: Any, secret: str | None = None, venue: Any = None) -> StreamSettings:
    venue = venue if venue is not None else bybit_venue()
    hosts = simulator(sim.url)
    s = sim.settings
    return StreamSettings(hosts.rest_url, hosts.stream_base, s.api_key, "UNUSED", 1800.0,
                          30.0, 100, 800, venue=venue, timeout_secs=5.0,
                          paper_secret=s.api_secret if secret is None else secret)


def start(asys: Any, actor_class: type, settings: StreamSettings) -> Any:
    parent = asys.createActor(StreamParent)
    asys.ask(parent, StartStream(actor_class, settings, (SYM,)), ASK)
    return parent


def query(asys: Any, parent: Any) -> StreamSeen:
    seen = asys.ask(parent, StreamQuery(), ASK)
    assert isinstance(seen, StreamSeen), f"the parent did not answer ({seen!r})"
    return seen


def wait_seen(asys: Any, parent: Any, pred: Any, what: str,
              timeout_secs: float = TIMEOUT_SECS) -> StreamSeen:
    return wait_for(pred, timeout_secs, what, sample=lambda: query(asys, parent))


def positions(seen: StreamSeen) -> list[PositionUpdate]:
    return [e for e in seen.events if isinstance(e, PositionUpdate) and e.symbol == SYM]


def test_the_user_stream_authenticates_routes_events_and_does_it_again_after_a_close(
        bybit_system, bybit_sim, ccxt_bybit):
    # Arrange
    asys = bybit_system
    parent = start(asys, UserStreamActor, stream_settings(bybit_sim))
    first = wait_seen(asys, parent, lambda s: s.connected and s,
                      "the private stream to authenticate, subscribe and report connected")
    assert [c.connection for c in first.connected] == [1]

    # Act: a position opened over REST
    ccxt_bybit.create_order(f"{SYM[:-4]}/USDT:USDT", "market", "buy", 0.01)

    # Assert: its position push arrives, signed long
    seen = wait_seen(asys, parent, lambda s: positions(s) and s, "a PositionUpdate")
    assert positions(seen)[-1].amount > 0

    # Act: the venue closes the socket
    closed = SimControl(bybit_sim.url).close_user_streams()
    assert closed.get("closed", 0) >= 1, closed

    # Assert: a fresh auth and subscription, StreamConnected again, events again
    again = wait_seen(asys, parent, lambda s: len(s.connected) >= 2 and s,
                      "the stream to reconnect and report connected again")
    assert [c.connection for c in again.connected][:2] == [1, 2]
    before = len(positions(again))
    ccxt_bybit.create_order(f"{SYM[:-4]}/USDT:USDT", "market", "sell", 0.01)
    wait_seen(asys, parent, lambda s: len(positions(s)) > before and s,
              "a PositionUpdate on the new connection")
    assert query(asys, parent).statuses[-1].state == "connected"


def test_a_refused_auth_is_retried_with_a_growing_backoff_and_never_reported_connected(
        bybit_system, bybit_sim):
    # Arrange / Act: the wrong secret
    asys = bybit_system
    parent = start(asys, UserStreamActor, stream_settings(bybit_sim, secret="not-the-secret"))

    # Assert: retried (reconnects counted), alive, the venue's refusal named, never connected
    seen = wait_seen(asys, parent,
                     lambda s: s.statuses and s.statuses[-1].reconnects >= 3 and s,
                     "three refused attempts")
    last = seen.statuses[-1]
    assert seen.connected == () and not seen.exited
    assert last.state in ("reconnecting", "connecting")
    assert "refused" in (last.last_error or ""), last.last_error
    # backoff 100 ms doubling to 800 ms: about 4-5 attempts in 3 s, never a tight loop
    settled = wait_seen(asys, parent, lambda s: s.statuses and s, "statuses")
    reconnects_now = settled.statuses[-1].reconnects
    threading.Event().wait(3.0)
    later = query(asys, parent).statuses[-1].reconnects
    assert later - reconnects_now <= 8, (reconnects_now, later)
    asys.ask(parent, StopStream(), ASK)
    wait_seen(asys, parent, lambda s: s.exited and s, "the stream actor to exit when asked")


def test_the_market_stream_hands_mark_prices_to_the_routed_actor(bybit_system, bybit_sim):
    asys = bybit_system
    parent = start(asys, MarketStreamActor, stream_settings(bybit_sim))
    seen = wait_seen(asys, parent,
                     lambda s: [e for e in s.events if isinstance(e, MarkPrice)] and s,
                     "a MarkPrice tick")
    ticks = [e for e in seen.events if isinstance(e, MarkPrice)]
    assert {t.symbol for t in ticks} == {SYM} and all(t.price > 0 for t in ticks)
    assert seen.statuses[-1].subscriptions == 1


@pytest.mark.parametrize("every_secs", [0.5, 0.0], ids=["heartbeat", "no heartbeat"])
def test_the_heartbeat_keeps_the_private_socket_past_the_venues_idle_cut(
        bybit_system, bybit_sim, every_secs):
    # Arrange: the simulator cuts a private socket after 2.5 s without a client frame
    # (Bybit: 10 min); the adapter's heartbeat every 0.5 s (Bybit's: 20 s), or none
    from system.sim.bybit.ws_private import private_streams
    private_streams(bybit_sim.sim).idle_secs = 2.5
    asys = bybit_system
    parent = start(asys, UserStreamActor,
                   stream_settings(bybit_sim, venue=fast_heartbeat_bybit(every_secs)))
    wait_seen(asys, parent, lambda s: s.connected and s, "connected")

    # Act: wait past the idle cut twice over
    threading.Event().wait(6.0)

    # Assert
    seen = query(asys, parent)
    if every_secs:
        assert len(seen.connected) == 1 and seen.statuses[-1].reconnects == 0, seen.statuses[-1]
        assert seen.statuses[-1].state == "connected"
    else:
        assert len(seen.connected) >= 2, "the venue cut the quiet socket (and it reconnected)"
