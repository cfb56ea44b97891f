"""Which market-stream shard carries a symbol, and the shards seen as one stream.

Pure functions (actors/market_shards.py): no actors, no sockets.
"""

from __future__ import annotations

import subprocess
import sys
import zlib

import pytest

from actors.market_shards import (
    MAX_STREAMS_PER_CONNECTION,
    Retired,
    combined,
    shard_of,
    split,
)
from actors.messages import StreamStatus

SYMBOLS = [f"SYM{i:04d}USDT" for i in range(1, 501)]


def _status(state: str = "connected", frames: int = 10, subs: int = 3, pid: int = 7,
            last_frame_ms: int = 1_000, error: str | None = None, lag: int | None = 5
            ) -> StreamStatus:
    return StreamStatus("market", state, frames, 1, 0, last_frame_ms, error, subs, pid, lag)


def test_a_symbol_always_goes_to_the_same_shard_whatever_the_process():
    # Python's hash() is salted per process: the assignment must not depend on it.
    code = ("from actors.market_shards import shard_of; "
            "print([shard_of(s, 8) for s in ('BTCUSDT', 'ETHUSDT', 'SYM0042USDT')])")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": seed, "PYTHONPATH": "."},
                           timeout=60).stdout for seed in ("1", "2")}
    assert runs == {str([shard_of(s, 8) for s in ("BTCUSDT", "ETHUSDT", "SYM0042USDT")]) + "\n"}
    assert shard_of("BTCUSDT", 8) == zlib.crc32(b"BTCUSDT") % 8
    assert shard_of("btcusdt", 8) == shard_of("BTCUSDT", 8), "the venue's case is not ours"


def test_every_symbol_is_in_exactly_one_part_the_one_shard_of_names():
    routes = [(s, f"addr-{s}") for s in SYMBOLS]

    parts = split(routes, 8)

    assert len(parts) == 8
    assert sorted(r for p in parts for r in p) == sorted(routes)
    for i, part in enumerate(parts):
        assert all(shard_of(s, 8) == i for s, _ in part)


def test_500_symbols_spread_over_8_shards_well_below_the_venues_limit_per_connection():
    sizes = [len(p) for p in split(((s, None) for s in SYMBOLS), 8)]

    assert min(sizes) > 0
    assert max(sizes) <= 2 * 500 / 8 < MAX_STREAMS_PER_CONNECTION


def test_adding_a_symbol_changes_only_its_own_shards_part():
    before = split(((s, None) for s in SYMBOLS[:100]), 4)
    after = split(((s, None) for s in SYMBOLS[:101]), 4)

    changed = [i for i in range(4) if before[i] != after[i]]
    assert changed == [shard_of(SYMBOLS[100], 4)]


def test_a_shard_count_below_one_is_refused():
    with pytest.raises(ValueError, match="shards must be >= 1"):
        shard_of("BTCUSDT", 0)


def test_the_shards_are_connected_only_when_every_one_is():
    assert combined([_status(), _status()], Retired()).state == "connected"
    assert combined([_status(), _status("reconnecting", error="read failed")],
                    Retired()).state == "reconnecting"
    assert combined([_status(), None], Retired()).state == "connecting", \
        "a shard not heard from yet is not connected"


def test_subscriptions_and_counters_are_summed_and_the_reason_of_a_broken_shard_shown():
    st = combined([_status(frames=10, subs=3, lag=5),
                   _status("reconnecting", frames=4, subs=2, error="closed by the server",
                           lag=40)], Retired())

    assert (st.kind, st.frames, st.bad_frames, st.subscriptions) == ("market", 14, 2, 5)
    assert st.last_error == "closed by the server"
    assert st.event_lag_ms == 40, "the laggiest shard"
    assert st.pid == 0, "several processes: each shard's pid is in its actors row"


def test_the_oldest_last_frame_shows_so_a_silent_shard_is_not_hidden():
    st = combined([_status(last_frame_ms=5_000), _status(last_frame_ms=2_000)], Retired())
    assert st.last_frame_ms == 2_000


def test_a_replaced_shards_counts_stay_in_the_sums_so_they_never_go_down():
    retired = Retired()
    before = combined([_status(frames=10), _status(frames=7)], retired)

    retired.retire(_status(frames=7))
    after = combined([_status(frames=10), _status(frames=0)], retired)

    assert after.frames == before.frames
    assert after.reconnects == before.reconnects + 1, "the replacement is a new connection"
