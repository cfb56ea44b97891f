"""Incident I-2 replayed end to end: exactly one posguard trades one account and store.

Real `posguard run` launcher processes (tests/fixtures/launcher.py) against the external
simulator, on both store backends. The origin of every order is checked from the exchange
side alone: the simulator's complete order book (`_orders`: every order and algo order it
ever accepted, working, filled or cancelled) and the client ids `pg-<epoch>-<SYM>-...`.

- A second `posguard run` on the same store is refused at once (exit 3) naming the holder's
  host, pid and start time, touches nothing on the exchange, and the first keeps serving.
- PostgreSQL: when the first instance's advisory-lock session is terminated, it stops
  trading (exits non-zero, its actor processes gone, its stops left resting); a new
  instance then starts with a higher epoch and takes the positions over, a write with the
  old epoch is refused (StaleEpoch), and every order carries the epoch of its placer.

Both run on every venue (`venue` fixture). The lock and the epoch are the store's, so the
cases are the same; what differs is read from the venue: Bybit's stop ids are UUIDs
(`venue.order_id`), its client ids are `orderLinkId`s (charset [A-Za-z0-9_-], max 36), the
refused instance must not open a private socket either (`bybit_streams`), and the second
instance's trail move of the first's stop is an amend of the same order.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import time
from typing import Any

import psycopg
import pytest

from actors.client_ids import parse
from persistence.factory import attach
from persistence.lock import PG_LOCK_KEY
from persistence.store import StaleEpoch
from system.clock import SystemClock
from system.config import load_config
from tests.fixtures.engine import REPO
from tests.fixtures.launcher import Launched, pid_alive

WAIT_SECS = 60
HOLDER = re.compile(r"host (\S+) pid (\d+) since (\S+) \(epoch (\d+)\)")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_sets(request, monkeypatch) -> tuple[str, ...]:
    """--set values for a fresh store on each backend (PostgreSQL: a new database)."""
    if request.param == "sqlite":
        return ()
    monkeypatch.setenv("POSGUARD_PG_DSN", request.getfixturevalue("pg_dsn"))
    return ("store.backend=postgres",)




def _orders(sim: Any) -> dict[str, str]:
    """Client id -> symbol of every order and algo order the simulator ever accepted."""
    return sim.call(lambda s: {**{o.client_id: o.symbol for o in s.engine.orders.values()},
                               **{a.client_algo_id: a.symbol for a in s.engine.algos.values()}})


def _resting(system: Launched, venue: Any) -> dict[str, str]:
    """Symbol -> the venue's id of the stop resting for it."""
    return {o["symbol"]: venue.order_id(o["algoId"])
            for o in system.control.state()["open_algo_orders"]}


def _streams(system: Launched) -> tuple[Any, Any]:
    """The simulator's user-stream sessions: Binance's listenKey and connections, Bybit's
    private sockets."""
    truth = system.control.state()
    return truth["user_stream"], truth.get("bybit_streams")


def _open(system: Launched, symbol: str, side: str, qty: str) -> dict[str, Any]:
    r = system.cli("open", symbol, "--side", side, "--qty", qty)
    assert r.returncode == 0, f"open {symbol} failed: {r.stdout} {r.stderr}"
    return system.wait_state(symbol, "PROTECTED")


def _assert_placed_by(orders: dict[str, str], epoch: int) -> None:
    assert orders, "no order to check"
    parsed = {cid: parse(cid) for cid in orders}
    wrong = {cid: p for cid, p in parsed.items()
             if p is None or p.epoch != epoch or p.symbol_tag != orders[cid]}
    assert not wrong, f"orders not provably placed by epoch {epoch}: {wrong}"


def test_a_second_run_on_the_same_store_is_refused_naming_the_holder_and_the_first_serves_on(
        store_sets, systems, sim, venue):  # store first: dropped after the runs
    before_ms = time.time() * 1000
    first = systems(*store_sets)
    after_ms = time.time() * 1000
    _open(first, "BTCUSDT", "long", "0.010")
    epoch = first.json("status")["epoch"]
    exchange_before = (_orders(sim), _streams(first))

    second = first.cli("run", "--duration-secs", "5", timeout_secs=WAIT_SECS)

    assert second.returncode == 3, f"exit {second.returncode}: {second.stderr[-2000:]}"
    assert "another posguard instance holds" in second.stderr, second.stderr
    holder = HOLDER.search(second.stderr)
    assert holder is not None, second.stderr
    host, pid, since, held_epoch = holder.groups()
    assert (host, int(pid), int(held_epoch)) == (socket.gethostname(), first.proc.pid, epoch)
    since_ms = dt.datetime.fromisoformat(since).timestamp() * 1000
    assert before_ms - 1 <= since_ms <= after_ms + 1, f"start time {since} is not the holder's"
    assert (_orders(sim), _streams(first)) == exchange_before, (
        "the refused instance touched the exchange")
    assert first.proc.poll() is None
    row = _open(first, "ETHUSDT", "short", "0.100")
    assert _resting(first, venue)["ETHUSDT"] == row["stop_order_id"]
    assert first.json("status")["epoch"] == epoch


def _lock_backend(conn: psycopg.Connection) -> int:
    """Server pid of the session holding posguard's advisory lock on this database."""
    row = conn.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = %s "
        "AND granted AND database = (SELECT oid FROM pg_database "
        "WHERE datname = current_database())", (PG_LOCK_KEY,)).fetchone()
    assert row is not None, "no session holds posguard's advisory lock"
    return int(row[0])


def _stopped_trading(system: Launched, pids: list[int]) -> int:
    """Wait for the launcher to exit and its actor processes to be gone; its exit code."""
    assert system.proc is not None
    rc = system.proc.wait(timeout=WAIT_SECS)
    system.wait_for(lambda: not [p for p in pids if pid_alive(p)],
                    "the first instance's actor processes to be gone", WAIT_SECS)
    return rc


@pytest.mark.postgres
def test_a_cut_lock_session_stops_the_instance_and_the_next_one_fences_its_epoch_out(
        pg_dsn, systems, monkeypatch, sim, venue):  # database first: dropped after the runs
    monkeypatch.setenv("POSGUARD_PG_DSN", pg_dsn)
    first = systems("store.backend=postgres")
    first.control.set_price("BTCUSDT", "60000", mark="60000")
    _open(first, "BTCUSDT", "long", "0.010")
    old_epoch = first.json("status")["epoch"]
    pids = [a["pid"] for a in first.actors() if a["pid"]]
    stops = _resting(first, venue)

    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (_lock_backend(admin),)
                             ).fetchone()[0]

    assert _stopped_trading(first, pids) != 0, "it went on trading without its lock"
    assert "stopping at once" in first.tail(), first.tail()
    assert _resting(first, venue) == stops
    placed_by_first = _orders(sim)
    _assert_placed_by(placed_by_first, old_epoch)

    second = systems("store.backend=postgres")
    new_epoch = second.json("status")["epoch"]
    assert new_epoch > old_epoch
    assert second.wait_state("BTCUSDT", "PROTECTED")["stop_order_id"] == stops["BTCUSDT"]
    _open(second, "ETHUSDT", "short", "0.100")
    # The second instance moves the first's stop.
    second.control.set_price("BTCUSDT", "61000", mark="61000")
    second.wait_for(lambda: (s := second.symbols()["BTCUSDT"])["trailing_active"]
                    and s["state"] == "PROTECTED", "the stop trailed by the second instance")

    target = load_config(REPO / "config.yaml", second.sets).store_target()
    with attach(target, old_epoch, SystemClock()) as stale:
        seq = stale.load("BTCUSDT").seq
        with pytest.raises(StaleEpoch):
            stale.append("BTCUSDT", expected_seq=seq, kind="stale_write", payload={},
                         state=None, live=True, correlation_id="i2-stale")
        assert stale.load("BTCUSDT").seq == seq
    orders = _orders(sim)
    assert {c: s for c, s in orders.items() if c in placed_by_first} == placed_by_first
    _assert_placed_by({c: s for c, s in orders.items() if c not in placed_by_first}, new_epoch)
    assert sorted(_resting(second, venue)) == ["BTCUSDT", "ETHUSDT"]
