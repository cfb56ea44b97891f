"""Incident I-3 replayed end to end: posguard never runs on state it could not persist.

Real `posguard run` launcher processes (tests/fixtures/launcher.py) against the external
simulator, on a real store. Every claim about the exchange is read from the simulator itself:
its complete order book (`_client_ids`: every order and algo order it ever accepted,
working, filled or cancelled), not posguard's view.

- A store that is not there at start (PostgreSQL socket with no server, SQLite folder this
  user cannot write) ends `posguard run` with exit 3 and a message naming the store, before
  any exchange call: no order, no listenKey, no stream connection, no actor system.
- The database going away mid-run, with a PROTECTED position and a price move past the
  trailing activation, which makes the symbol actor journal the move (`stop_move_requested`)
  before it may place the new stop. Two readings,
  because on PostgreSQL the instance lock lives on the same server:
  * The server itself stops: the advisory-lock session dies with it, so the launcher stops
    trading at once (LockLost, I-2: it can no longer prove it is the only instance) and
    exits non-zero; nothing is placed after the failed write, the stop rests; once the
    server is back (same data dir and port) the next `posguard run` recovers the symbol
    from its last durable snapshot and ends PROTECTED with exactly one resting stop.
  * The database refuses the actors (connections cut, ALLOW_CONNECTIONS false) while the
    lock session survives: this is the path where the supervisor rides the outage out. The
    actor's write fails, it ends without placing anything, and the supervisor restarts it
    with backoff (each start fails on the store) until the database is back. Design
    choice: keep retrying, not quarantine. With supervisor.max_restarts=50 within 60 s and
    backoff_max_ms=1000 the symbol cannot exhaust its restarts during the outage, so the
    test sees the recovery itself; quarantine after max_restarts is already proved by
    tests/integration/system/test_running_system.py.
  In both readings the journal holds nothing the actor did not commit: seq 1..n without a
  gap, the rows committed before the outage unchanged (on a server stop: every row of the
  old epoch, which includes what we read before stopping it), and the first row after them
  is the recovered actor's own `recovery_started`, not the write that failed.

Every case runs on every venue (`venue` fixture); the store is the venue's neither, so the
cases are the same. On Bybit a move is an amend of the resting stop, which adds no client id
to the book: the exchange's book is therefore read as every order's client id plus every
stop's (client id, status, trigger) (`_book`), so an amend sent after the failed write shows
as well as a new stop; a moved stop is told by its trigger (on Bybit it keeps its id). The
start-up refusal also asserts that no Bybit socket was opened (`bybit_streams`).

Restoring 14 of 14 trailing stops with their activation flag, peak, stop price and order
ids after a restart (the rest of I-3) is proved by tests/integration/actors/test_recovery.py.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from persistence.lock import PG_LOCK_KEY
from system.processes import system_pids
from tests.fixtures.launcher import Launched
from tests.waiting import wait_for

SYM = "BTCUSDT"
ENTRY, TRAILING_MOVE = "60000", "61000"  # +1.7 %: past the 1 % activation, the stop must move
RETRYING = ("supervisor.max_restarts=50", "supervisor.within_secs=60",
            "supervisor.backoff_min_ms=100", "supervisor.backoff_max_ms=1000")
WAIT_SECS = 60




def _client_ids(sim: Any) -> list[str]:
    """Client id of every order and algo order the simulator ever accepted."""
    return sorted(sim.call(lambda s: [o.client_id for o in s.engine.orders.values()]
                           + [a.client_algo_id for a in s.engine.algos.values()]))


def _book(sim: Any) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Every client id the simulator ever accepted, and every stop's (client id, status,
    trigger): an amend in place (Bybit) changes the second, a new order the first."""
    return _client_ids(sim), sorted(sim.call(lambda s: [
        (a.client_algo_id, a.status, str(a.trigger_price)) for a in s.engine.algos.values()]))


def _resting(system: Launched, symbol: str, venue: Any) -> list[str]:
    return [venue.order_id(o["algoId"]) for o in system.control.state()["open_algo_orders"]
            if o["symbol"] == symbol]


def _open_protected(system: Launched) -> dict[str, Any]:
    system.control.set_price(SYM, ENTRY, mark=ENTRY)
    r = system.cli("open", SYM, "--side", "long", "--qty", "0.010")
    assert r.returncode == 0, f"open failed: {r.stdout} {r.stderr}"
    return system.wait_state(SYM, "PROTECTED")


Row = tuple[int, int, str, str, int]
"""A journal row as committed: seq, epoch, kind, correlation id, recorded_at (DB clock)."""


def _journal(conn: psycopg.Connection) -> list[Row]:
    """The symbol's journal, read straight from the database."""
    return [tuple(r) for r in conn.execute(
        "SELECT seq, epoch, kind, correlation_id, recorded_at_ms FROM journal "
        "WHERE symbol = %s ORDER BY seq", (SYM,)).fetchall()]


def _recovered_and_trailed(system: Launched) -> dict[str, Any]:
    try:
        return system.wait_for(
            lambda: (s := system.symbols().get(SYM)) and s["state"] == "PROTECTED"
            and s["trailing_active"] and s, "the symbol recovered, PROTECTED and trailing",
            WAIT_SECS)
    except Exception as e:
        raise AssertionError(f"{SYM} now: {system.symbols().get(SYM)}; exchange: "
                             f"{system.control.state()['open_algo_orders']}") from e


def _assert_nothing_invented(before: list[Row], after: list[Row]) -> None:
    """seq 1..n, every row committed before the outage unchanged, and the next row is the
    recovered actor's own first write (not the write that failed)."""
    assert [r[0] for r in after] == list(range(1, len(after) + 1)), f"a gap: {after}"
    assert after[:len(before)] == before, "rows committed before the outage changed"
    assert after[len(before)][2] == "recovery_started", (
        f"a row the failed actor never committed: {after[len(before)]}")


# --------------------------------------------------------------------------- at start


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder that exists but in which this process cannot create a file.

    Mode 0555 is enough for a normal user; root ignores modes, so as root a folder of the
    read-only sysfs is used instead.
    """
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    for folder in (read_only, Path("/sys/kernel")):
        probe = folder / f"probe-{os.getpid()}"
        try:
            probe.touch()
        except OSError:
            return folder
        probe.unlink()
    pytest.fail("found no folder this user cannot write to", pytrace=False)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_store_unavailable_at_start_ends_run_with_exit_3_before_any_exchange_call(
        backend, tmp_path, sim, sim_control, monkeypatch, venue):
    if backend == "postgres":
        socket_dir = f"/nonexistent/posguard-{os.getpid()}"
        monkeypatch.setenv("POSGUARD_PG_DSN",
                           f"host={socket_dir} port=5999 user=postgres dbname=posguard")
        extra: tuple[str, ...] = ("store.backend=postgres", "store.connect_timeout_secs=2")
        problem = f"PostgreSQL unreachable or not ready at host {socket_dir} port 5999"
    else:
        folder = _unwritable_folder(tmp_path)
        extra = (f"store.sqlite_path={folder / 'posguard.sqlite3'}",)
        problem = str(folder / "posguard.sqlite3")
    system = Launched(tmp_path, sim, sim_control, (*venue.overrides(), *extra))

    r = system.cli("run", "--duration-secs", "5", timeout_secs=WAIT_SECS)

    assert r.returncode == 3, f"exit {r.returncode}: {r.stderr[-2000:]}"
    assert "posguard run: cannot start:" in r.stderr and problem in r.stderr, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    truth = sim_control.state()
    assert _client_ids(sim) == []
    assert truth["user_stream"]["listen_key"] is None, "a listenKey was created"
    assert (truth["user_stream"]["connections"], truth["market_stream_connections"]) == (0, 0)
    if "bybit_streams" in truth:
        assert truth["bybit_streams"] == {"private_connections": 0, "private_authenticated": 0,
                                          "public_connections": 0}, truth["bybit_streams"]
    assert truth["venue"] == venue.name
    assert system_pids("127.0.0.1", system.port) == [], "an actor system was started"


# --------------------------------------------------------------------------- mid-run


@pytest.mark.postgres
def test_postgresql_stopped_mid_run_stops_trading_and_the_next_run_recovers_the_snapshot(
        make_pg_server, systems, monkeypatch, sim, venue):  # server first: torn down after the runs
    server = make_pg_server()
    monkeypatch.setenv("POSGUARD_PG_DSN", server.dsn())
    first = systems("store.backend=postgres")
    protected = _open_protected(first)
    epoch = first.json("status")["epoch"]
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        journal_before = _journal(conn)  # a late stream event may still add a row: see below
    orders_before = _book(sim)

    server.stop()
    # The actor must journal before moving.
    first.control.set_price(SYM, TRAILING_MOVE, mark=TRAILING_MOVE)

    assert first.proc is not None
    rc = first.proc.wait(timeout=WAIT_SECS)
    assert rc != 0, "the launcher went on without its instance lock"
    assert "stopping at once" in first.tail(), first.tail()
    assert _book(sim) == orders_before, "an order was placed after the store went away"
    assert _resting(first, SYM, venue) == [protected["stop_order_id"]]

    server.start()  # same data dir and port
    second = systems("store.backend=postgres")
    after = _recovered_and_trailed(second)

    assert second.json("status")["epoch"] > epoch
    assert _resting(second, SYM, venue) == [after["stop_order_id"]]
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        journal = _journal(conn)
    committed_by_first = [r for r in journal if r[1] == epoch]
    assert committed_by_first[:len(journal_before)] == journal_before
    _assert_nothing_invented(committed_by_first, journal)
    assert {r[1] for r in journal[len(committed_by_first):]} == {epoch + 1}


def _restarts_while_down(system: Launched, count: int) -> list[str]:
    """Wait until the supervisor restarted the symbol `count` times; the exit reasons seen.

    Asks the supervisor's table (`actors`), not the symbol actor: `status` also asks the
    actor, and one that is dying answers nothing.
    """
    seen: list[str] = []

    def restarted() -> bool:
        row = next(a for a in system.actors() if a["symbol"] == SYM)
        assert row["state"] != "QUARANTINED", f"quarantined during the outage: {row}"
        if row["last_exit_reason"] and row["last_exit_reason"] not in seen:
            seen.append(row["last_exit_reason"])
        return bool(row["restarts"] >= count)

    system.wait_for(restarted, f"{count} restarts of the {SYM} actor", WAIT_SECS)
    return seen


def _lock_backend(admin: psycopg.Connection, dbname: str) -> int:
    row = admin.execute(
        "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = %s AND l.granted "
        "AND d.datname = %s", (PG_LOCK_KEY, dbname)).fetchone()
    assert row is not None, "no session holds posguard's advisory lock"
    return int(row[0])


def _cut_everyone_but(admin: psycopg.Connection, dbname: str, *keep: int) -> None:
    """Refuse new connections to `dbname` and end every session on it but `keep`."""
    admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
    others = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND NOT pid = ANY(%s)"
    admin.execute(f"SELECT pg_terminate_backend(pid) FROM ({others}) o", (dbname, list(keep)))
    wait_for(lambda sessions: not sessions, WAIT_SECS, "the terminated sessions to end",
             sample=lambda: admin.execute(others, (dbname, list(keep))).fetchall())


@pytest.mark.postgres
def test_database_gone_for_the_actors_restarts_the_symbol_with_backoff_until_it_recovers(
        pg_server, pg_dsn, systems, monkeypatch, sim, venue):  # database first: dropped after it
    monkeypatch.setenv("POSGUARD_PG_DSN", pg_dsn)
    dbname = psycopg.conninfo.conninfo_to_dict(pg_dsn)["dbname"]
    system = systems("store.backend=postgres", *RETRYING)
    protected = _open_protected(system)
    epoch = system.json("status")["epoch"]
    orders_before = _book(sim)

    with psycopg.connect(pg_server.dsn(), autocommit=True) as admin, \
            psycopg.connect(pg_dsn, autocommit=True) as reader:
        lock_pid = _lock_backend(admin, dbname)
        _cut_everyone_but(admin, dbname, lock_pid, reader.info.backend_pid)
        journal_before = _journal(reader)  # exactly what was committed before the outage
        try:
            # The actor must journal first.
            system.control.set_price(SYM, TRAILING_MOVE, mark=TRAILING_MOVE)
            reasons = _restarts_while_down(system, 3)
            orders_during = _book(sim)
            still_locked = _lock_backend(admin, dbname) == lock_pid
        finally:
            admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')

    assert orders_during == orders_before, "an order was placed after the failed write"
    assert reasons and all("store" in r for r in reasons), reasons
    assert still_locked and system.proc is not None and system.proc.poll() is None
    after = _recovered_and_trailed(system)
    assert Decimal(after["stop_price"]) > Decimal(protected["stop_price"]), "the stop never moved"
    if not venue.amends:  # new-first: a new order; Bybit amends the same one in place
        assert after["stop_order_id"] != protected["stop_order_id"], "the stop never moved"
    assert _resting(system, SYM, venue) == [after["stop_order_id"]]
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        journal = _journal(conn)
    _assert_nothing_invented(journal_before, journal)
    assert {r[1] for r in journal} == {epoch}
