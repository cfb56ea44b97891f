"""The `posguard` command as an operator runs it: real processes, real store, real simulator."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from persistence.factory import attach, open_instance
from system.clock import SystemClock
from system.config import load_config
from system.launched import free_port

REPO = Path(__file__).resolve().parents[3]
POSGUARD = [sys.executable, "-m", "system.cli"]


def _cli(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*POSGUARD, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, **kw)


@pytest.fixture
def store_args(tmp_path):
    return ["--set", f"store.sqlite_path={tmp_path / 'pg.sqlite3'}"]


def _wait_line(proc: subprocess.Popen, prefix: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line
        if not line and proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {proc.stderr.read()[-2000:]}")
    raise AssertionError(f"no line starting with {prefix!r} within {timeout}s")


def _stop(proc: subprocess.Popen, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise


def test_sim_prints_listening_first_serves_ccxt_shapes_and_exits_0_on_sigterm():
    proc = subprocess.Popen([*POSGUARD, "sim", "--port", "0", "--seed", "3"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:")
        url = first.split()[-1]
        with urllib.request.urlopen(f"{url}/fapi/v1/time", timeout=5) as r:
            assert json.load(r)["serverTime"] > 0
    finally:
        rc = _stop(proc)
    assert rc == 0


def test_journal_prints_both_timestamps_and_json(tmp_path, store_args):
    config = load_config(REPO / "config.yaml", store_args[1:] and [store_args[1]])
    lock, holder = open_instance(config.store_target(), SystemClock())
    store = attach(config.store_target(), holder.epoch, SystemClock())
    store.append("BTCUSDT", expected_seq=0, kind="open_requested", payload={"qty": "0.01"},
                 state={"v": 1}, live=True, correlation_id="cmd-1", created_at_ms=1_000_000)
    store.close()
    lock.release()

    text = _cli("journal", "BTCUSDT", *store_args)
    js = _cli("journal", "BTCUSDT", "--json", *store_args)

    assert text.returncode == 0, text.stderr
    assert "open_requested" in text.stdout and "1970-01-01T00:16:40.000" in text.stdout
    rows = json.loads(js.stdout)
    assert rows[0]["kind"] == "open_requested" and rows[0]["correlation_id"] == "cmd-1"
    assert rows[0]["created_at_ms"] == 1_000_000 and rows[0]["recorded_at_ms"] > 1_000_000


@pytest.mark.parametrize("args,message", [
    (["journal", "btc-usdt!"], "is not a symbol"),
    (["journal"], "the following arguments are required: symbol"),
    (["bench", "disk"], "invalid choice: 'disk'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["journal", "BTCUSDT", "--limit", "-3"], "must be > 0"),
    (["journal", "BTCUSDT", "--set", "store.backend=oracle"],
     "store.backend: 'oracle' is not allowed"),
    (["journal", "BTCUSDT", "--config", "/nonexistent.yaml"], "config file not found"),
    (["open", "BTCUSDT", "--side", "up", "--qty", "1"], "invalid choice: 'up'"),
    (["open", "BTCUSDT", "--side", "long", "--qty", "-1"], "must be a positive number"),
    (["open", "BTCUSDT", "--side", "long", "--qty", "lots"], "is not a number"),
    (["open", "BTCUSDT", "--side", "long", "--qty", "NaN"], "must be a positive number"),
    (["open", "BTCUSDT", "--side", "long"], "the following arguments are required: --qty"),
    (["open", "BTCUSDT", "--side", "long", "--qty", "1", "--id", "a b"], "no spaces"),
    (["close", "BTC/USDT"], "is not a symbol"),
    (["restart"], "the following arguments are required: symbol"),
    (["status", "--timeout-secs", "soon"], "invalid float value"),
])
def test_bad_cli_arguments_exit_2_with_a_message_naming_the_problem(args, message):
    result = _cli(*args)

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_run_refuses_a_second_instance_naming_the_holder_and_stops_cleanly_on_sigterm(
        tmp_path, store_args):
    port = free_port()
    args = ["run", *store_args, "--set", f"actor_system.admin_port={port}"]
    first = subprocess.Popen([*POSGUARD, *args], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        status = _wait_line(first, "posguard paper")
        assert f"admin 127.0.0.1:{port}" in status and "store sqlite" in status

        second = _cli(*args, timeout=60)

        assert second.returncode == 3
        assert f"pid {first.pid}" in second.stderr and "host" in second.stderr
    finally:
        rc = _stop(first)
    assert rc == 0
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "actor system still listening"


def test_bench_store_reports_latency_and_throughput_for_sqlite():
    result = _cli("bench", "store", "--store", "sqlite", "--appends", "30", "--writers", "12",
                  "--json")

    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert row["backend"] == "sqlite" and row["n"] == 30 and row["p99_ms"] >= row["p50_ms"] > 0
    assert row["cores"] == os.cpu_count()
    # 12 writer processes appending at the same instants, 10 rounds: every append measured.
    c = row["contended"]
    assert c["writers"] == 12 and c["n"] == 120 and c["max_ms"] >= c["p99_ms"] >= c["p50_ms"] > 0
    assert c["cpu_ms_per_append"] > 0


def test_bench_store_writers_zero_skips_the_contended_run():
    result = _cli("bench", "store", "--store", "sqlite", "--appends", "5", "--writers", "0",
                  "--json")

    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert row["n"] == 5 and row["contended"] is None


def test_run_with_an_unreachable_postgres_stops_with_a_clear_message_and_exit_3(tmp_path):
    env = {**os.environ, "POSGUARD_PG_DSN": f"host={tmp_path} port=5999 dbname=x user=x "
                                            f"connect_timeout=2"}
    port = free_port()

    result = _cli("run", "--set", "store.backend=postgres", "--set",
                  f"actor_system.admin_port={port}", env=env, timeout=60)

    assert result.returncode == 3
    assert "cannot start" in result.stderr and "Traceback" not in result.stderr
    with socket.socket() as s:  # nothing was started: no actor system, no simulator
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_run_with_postgres_but_no_dsn_variable_names_the_variable():
    env = {k: v for k, v in os.environ.items() if k != "POSGUARD_PG_DSN"}

    result = _cli("run", "--set", "store.backend=postgres", env=env)

    assert result.returncode == 2
    assert "POSGUARD_PG_DSN" in result.stderr


def test_run_starts_with_native_trailing_as_default_and_per_symbol(tmp_path, store_args):
    port = free_port()

    result = _cli("run", *store_args, "--set", f"actor_system.admin_port={port}",
                  "--set", "protection.trailing.mode=native",
                  "--set", "protection.symbols.ETHUSDT.trailing.mode=managed",
                  "--duration-secs", "1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("posguard paper")


@pytest.mark.parametrize("command", [["status"], ["status", "BTCUSDT", "--json"], ["actors"],
                                     ["restart", "BTCUSDT"], ["close", "BTCUSDT"],
                                     ["open", "BTCUSDT", "--side", "long", "--qty", "1"],
                                     ["shutdown"]])
def test_admin_commands_say_not_running_and_exit_1_without_starting_a_system(command):
    from tests.fixtures.engine import free_port
    port = free_port()

    result = _cli(*command, "--set", f"actor_system.admin_port={port}")

    assert result.returncode == 1
    assert f"posguard is not running (admin port {port})" in result.stderr
    assert "Traceback" not in result.stderr
    from system.actor_system import port_answers
    assert not port_answers("127.0.0.1", port), "the CLI started an actor system"
