"""The latency model: its arithmetic, the per-connection delay line, and its config keys."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from system.config import ConfigError, load_config
from system.sim.latency import DelayLine, Latency, RestDelay, next_due
from system.sim.settings import SimSettings

SHIPPED = Path(__file__).resolve().parents[4] / "config.yaml"


def test_default_latency_is_zero_and_inactive():
    lat = SimSettings().latency

    assert lat == Latency(0.0, 0.0, 0.0, 2)
    assert not lat.rest_active and not lat.stream_active
    assert lat.rest_leg(random.Random(1)) == 0.0
    assert lat.rest_connect() == 0.0 and lat.stream_connect() == 0.0


def test_rest_legs_are_half_the_round_trip_and_a_new_connection_pays_the_handshake():
    lat = Latency(rest_rtt_ms=60, handshake_rtts=2)

    assert lat.rest_leg(random.Random(1)) == pytest.approx(0.030)
    assert lat.rest_connect() == pytest.approx(0.120)


def test_websocket_connect_pays_handshake_plus_the_upgrade_on_the_stream_path():
    lat = Latency(stream_delay_ms=25, handshake_rtts=2)

    # 3 round trips of 2 x 25 ms: TCP, TLS, the HTTP upgrade.
    assert lat.stream_connect() == pytest.approx(0.150)
    assert lat.stream_leg(random.Random(1)) == pytest.approx(0.025)


def test_jitter_stays_within_zero_to_jitter_ms():
    lat = Latency(stream_delay_ms=10, jitter_ms=5)
    rng = random.Random(7)

    legs = [lat.stream_leg(rng) for _ in range(1000)]

    assert all(0.010 <= x <= 0.015 for x in legs)
    assert max(legs) - min(legs) > 0.004  # it does vary


def test_next_due_never_precedes_the_previous_frame():
    assert next_due(10.0, 0.005, 10.020) == 10.020
    assert next_due(10.0, 0.030, 10.020) == pytest.approx(10.030)


def test_delay_line_keeps_order_under_jitter_and_never_delivers_early():
    lat = Latency(stream_delay_ms=5, jitter_ms=20)
    rng = random.Random(3)

    async def run():
        loop = asyncio.get_running_loop()
        got: list[tuple[int, float]] = []
        sent: dict[int, float] = {}

        async def deliver(i):
            got.append((i, loop.time()))

        line = DelayLine(deliver, lambda: lat.stream_leg(rng))
        for i in range(40):
            sent[i] = loop.time()
            line.put(i)
            if i % 5 == 0:
                await asyncio.sleep(0.002)
        async with asyncio.timeout(5):
            while len(got) < 40:
                await asyncio.sleep(0.005)
        line.close()
        return got, sent

    got, sent = asyncio.run(run())

    assert [i for i, _ in got] == list(range(40))
    assert all(t - sent[i] >= 0.005 for i, t in got)


def test_put_never_awaits_a_slow_deliverer():
    async def run():
        release = asyncio.Event()
        delivered = []

        async def deliver(i):
            await release.wait()  # a connection whose client reads nothing
            delivered.append(i)

        line = DelayLine(deliver, lambda: 0.0)
        for i in range(100):
            line.put(i)  # returns at once: the emitter is never held up
        await asyncio.sleep(0.01)
        queued = len(line)
        release.set()
        async with asyncio.timeout(5):
            while len(delivered) < 100:
                await asyncio.sleep(0.005)
        line.close()
        return queued, delivered

    queued, delivered = asyncio.run(run())

    assert queued == 99  # one is in the deliverer, the rest wait behind it
    assert delivered == list(range(100))


def test_config_and_nested_set_reach_the_latency():
    config = load_config(SHIPPED, ["exchange.simulator.latency.rest_rtt_ms=60",
                                   "exchange.simulator.latency.jitter_ms=2"])

    lat = config.exchange.simulator.latency
    assert lat == Latency(rest_rtt_ms=60.0, stream_delay_ms=0.0, jitter_ms=2.0,
                          handshake_rtts=2)
    assert load_config(SHIPPED).exchange.simulator.latency == Latency()


@pytest.mark.parametrize(("override", "named"), [
    ("exchange.simulator.latency.rest_rtt_ms=-1", "exchange.simulator.latency.rest_rtt_ms"),
    ("exchange.simulator.latency.stream_delay_ms=fast",
     "exchange.simulator.latency.stream_delay_ms"),
    ("exchange.simulator.latency.handshake_rtts=1.5",
     "exchange.simulator.latency.handshake_rtts"),
    ("exchange.simulator.latency.rtt_ms=60", "exchange.simulator.latency.rtt_ms"),
    ("exchange.simulator.latency=60", "exchange.simulator.latency"),
])
def test_bad_latency_values_are_refused_naming_the_key(override, named):
    with pytest.raises(ConfigError) as e:
        load_config(SHIPPED, [override])

    assert str(e.value).startswith(named + ":")


class _Transport:
    """Stands in for an asyncio transport: identity is all RestDelay looks at."""


def test_rest_delay_charges_the_handshake_once_per_connection(monkeypatch):
    waits: list[float] = []

    async def fake_sleep(secs):
        waits.append(secs)

    monkeypatch.setattr("system.sim.latency.asyncio.sleep", fake_sleep)
    delay = RestDelay(Latency(rest_rtt_ms=40, handshake_rtts=2), random.Random(1))
    a, b = _Transport(), _Transport()

    async def run():
        await delay.arrive(a)
        await delay.leave()
        await delay.arrive(a)  # kept alive
        await delay.arrive(b)  # a new connection

    asyncio.run(run())

    assert waits == pytest.approx([0.020 + 0.080, 0.020, 0.020, 0.020 + 0.080])
