"""The launcher with several accounts: one supervisor each, and a store holding live
positions of an account the config does not list refuses the start."""

from __future__ import annotations

import pickle
from pathlib import Path
from types import SimpleNamespace

import pytest

from persistence.factory import attach, open_instance
from system.clock import SystemClock
from system.config import load_config
from system.kernel import Kernel, KernelError

TWO = """
exchanges:
  - account: main
    simulator: {embedded: false, port: 4001}
  - account: by
    simulator: {embedded: false, port: 4002}
    orders_per_10s: 50
"""


def _config(tmp_path: Path, text: str = TWO):
    f = tmp_path / "config.yaml"
    f.write_text(text)
    return load_config(f, [f"store.sqlite_path={tmp_path / 'pg.sqlite3'}",
                           f"actor_system.log_file={tmp_path / 'actors.log'}"])


def test_each_account_gets_its_own_supervisor_init_on_the_one_store_and_epoch(tmp_path):
    kernel = Kernel(_config(tmp_path))
    kernel.holder = SimpleNamespace(epoch=9)
    for run in kernel.runs.values():
        run.start_sim()  # embedded false: only notes the operator's simulator

    main, by = kernel.supervisor_init("main"), kernel.supervisor_init("by")

    assert (main.account, by.account) == ("main", "by")
    assert (main.epoch, by.epoch) == (9, 9)
    assert (main.store.account, by.store.account) == ("main", "by")
    assert main.store.target == by.store.target  # one store
    assert main.pool.settings.base_url == "http://127.0.0.1:4001"
    assert by.pool.settings.base_url == "http://127.0.0.1:4002"
    assert by.streams is not None and by.streams.ws_url == "ws://127.0.0.1:4002"
    assert (main.pool.orders_per_10s, by.pool.orders_per_10s) == (250, 50)
    assert [r.global_name for r in kernel.runs.values()] == ["posguard:main", "posguard:by"]
    assert pickle.loads(pickle.dumps(by)).account == "by"
    with pytest.raises(KernelError, match="account 'zz' is not configured; configured: main, "
                                          "by"):
        kernel.supervisor_init("zz")


def _live(config, account: str, symbol: str) -> None:
    lock, holder = open_instance(config.store_target(), SystemClock())
    store = attach(config.store_target(), holder.epoch, SystemClock(), account=account)
    store.append(symbol, expected_seq=0, kind="opened", payload={}, state={"v": 1}, live=True,
                 correlation_id="t")
    store.close()
    lock.release()


def test_a_store_with_live_positions_of_an_unlisted_account_refuses_the_start(tmp_path):
    config = _config(tmp_path)
    _live(config, "main", "BTCUSDT")
    _live(config, "old", "ETHUSDT")
    kernel = Kernel(config)

    with pytest.raises(KernelError, match=r"live positions of accounts the config does not "
                                          r"list \(account 'old': ETHUSDT\)"):
        kernel.start()

    assert kernel.lock is None and kernel.asys is None  # released; nothing was started


def test_live_positions_of_listed_accounts_pass_the_check(tmp_path):
    config = _config(tmp_path)
    _live(config, "by", "BTCUSDT")
    kernel = Kernel(config)
    lock, kernel.holder = open_instance(config.store_target(), SystemClock())
    try:
        kernel._check_store_accounts()  # no error: "by" is configured
    finally:
        lock.release()


def test_several_accounts_are_one_status_for_ops_and_one_line_each_naming_the_account():
    from actors.messages import ActorEntry, StreamStatus, SupervisorStatus
    from system.account_run import ops_status
    from system.console import status_lines

    def st(account: str, *symbols: str) -> SupervisorStatus:
        return SupervisorStatus(True, False, tuple(
            ActorEntry("symbol", s, 1, "PROTECTED", 0, None) for s in symbols),
            (StreamStatus("user", "connected", 1, 0, 0, 0, None),), 1, 10, 3, account=account,
            venue="binanceusdm", exchange_url=f"http://{account}")

    one = st("main", "BTCUSDT")
    assert ops_status({"main": one}) is one  # one account: as before accounts
    merged = ops_status({"main": one, "by": st("by", "BTCUSDT", "ETHUSDT")})
    assert [e.symbol for e in merged.actors] == ["main:BTCUSDT", "by:BTCUSDT", "by:ETHUSDT"]
    assert [x.kind for x in merged.streams] == ["main:user", "by:user"]
    assert merged.poison_messages == 2

    line = status_lines({"main": one, "by": st("by", "ETHUSDT")}, {"by": 1})
    assert line.startswith("main: symbols 1 | protected 1 | unprotected 0")
    assert " || by: symbols 1 | protected 1 | unprotected 0 | in flight 0 | quarantined 0 | " \
           "restarts 1 |" in line
    assert status_lines({"main": one}, {}) == status_lines({"main": one}, {"main": 0})


def test_the_drain_asks_every_account_and_names_the_symbols_each_still_has_in_flight(
        tmp_path, monkeypatch):
    from actors.messages import ShutdownAccepted
    kernel = Kernel(_config(tmp_path))
    for run in kernel.runs.values():
        run.supervisor = object()
    answers = {"main": [ShutdownAccepted(("BTCUSDT",)), ShutdownAccepted(())],
               "by": [ShutdownAccepted(("BTCUSDT", "ETHUSDT")), ShutdownAccepted(("ETHUSDT",)),
                      ShutdownAccepted(())]}
    monkeypatch.setattr(kernel, "ask", lambda msg, timeout_secs=None, account=None:
                        answers[account].pop(0))
    steps: list[str] = []

    kernel.drain(10.0, narrator=type("N", (), {"step": lambda self, t: steps.append(t)})())

    assert [s.split(" (")[0] for s in steps] == [
        "waiting for 3 symbols with requests in flight: main:BTCUSDT, by:BTCUSDT, by:ETHUSDT",
        "waiting for 1 symbol with a request in flight: by:ETHUSDT"]
    assert answers == {"main": [], "by": []}


def test_re_creating_one_accounts_supervisor_waits_only_for_that_accounts_orphans():
    import os

    from system.processes import PidBook
    book = PidBook()
    book.add(os.getpid(), "supervisor", "main")  # alive: this process stands in for both
    book.add(os.getppid(), "symbol", "by")
    assert book.supervisor_pids("by") == [] and book.supervisor_pids("main") == [os.getpid()]
    assert book.children_of_supervisor("main") == []
    assert book.children_of_supervisor("by") == [os.getppid()]
    assert sorted(book.children_of_supervisor()) == [os.getppid()]
