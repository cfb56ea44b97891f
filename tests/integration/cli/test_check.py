"""`posguard check` against the simulator: the README's venue commands, and each failure named.

The venue commands are read from the README itself (its "Venues" block), so the commands a
trader copies are the ones proven here; the test only appends the two overrides that point
the venue's hosts at the simulator.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from system.check import clock_verdict
from system.launched import free_port
from system.sim.client import SimControl

REPO = Path(__file__).resolve().parents[3]
POSGUARD = [sys.executable, "-m", "system.cli"]


def readme_venue_commands() -> dict[str, list[str]]:
    """venue -> the `posguard check` arguments the README's Venues block gives for it."""
    text = (REPO / "README.md").read_text()
    block = text.split("<!-- venue-commands -->")[1]
    found = {}
    for line in block.splitlines():
        m = re.match(r"\s*posguard check (.*--set exchange\.venue=(\w+).*)$", line)
        if m:
            found[m.group(2)] = shlex.split(m.group(1).split("#")[0])
    return found


def _check(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO,
           timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("POSGUARD_")}
    full_env.update(env or {})
    return subprocess.run([*POSGUARD, "check", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def _at_sim(sim) -> list[str]:
    return ["--set", f"exchange.rest_url={sim.url}",
            "--set", f"exchange.stream_url={sim.url.replace('http', 'ws', 1)}"]


@pytest.fixture
def keys(sim) -> dict[str, str]:
    return {"POSGUARD_API_KEY": sim.settings.api_key,
            "POSGUARD_API_SECRET": sim.settings.api_secret}


def test_the_readme_gives_one_check_command_per_venue():
    assert set(readme_venue_commands()) == {"live", "demo", "testnet"}


@pytest.mark.parametrize("environment", ["live", "demo", "testnet"])
def test_the_readme_command_for_each_venue_passes_against_the_simulator_placing_nothing(
        sim, keys, environment):
    # not named `venue`: that is the fixture of tests/fixtures/venues.py (sim_settings reads it)
    venue = environment
    args = readme_venue_commands()[venue]
    r = _check(*args, *_at_sim(sim), "--json", env=keys)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["venue"] == venue and out["ok"] is True
    assert [c["name"] for c in out["checks"]] == ["clock", "key", "futures", "position mode",
                                                  "user stream", "market stream", "symbols"]
    assert all(c["status"] == "ok" for c in out["checks"])
    state = SimControl(sim.url, timeout_secs=5).state()
    assert state["open_orders"] == [] and state["open_algo_orders"] == []
    assert state["fills"] == []


def test_paper_mode_checks_the_embedded_simulator(tmp_path):
    r = _check("--set", f"store.sqlite_path={tmp_path / 's.sqlite3'}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "venue simulator" in r.stdout
    assert "posguard check: all checks passed; no order was placed" in r.stdout


def test_a_refused_key_fails_naming_the_venues_error_and_skips_what_needs_it(sim, keys):
    r = _check(*readme_venue_commands()["live"], *_at_sim(sim),
               env={**keys, "POSGUARD_API_KEY": "not-the-key"})
    assert r.returncode == 1
    assert re.search(r"FAIL\s+key: the key was refused: .*-2015", r.stdout), r.stdout
    for name in ("futures", "position mode", "user stream"):
        assert re.search(rf"skipped\s+{name}: needs key", r.stdout), r.stdout
    assert re.search(r"ok\s+market stream", r.stdout)  # public: needs no key
    assert "FAILED (key, futures, position mode, user stream)" in r.stdout


def test_a_key_without_futures_permission_fails_naming_the_permission(keys):
    import dataclasses

    from system.sim.server import SimServer
    from tests.fixtures.sim import TEST_SETTINGS
    settings = dataclasses.replace(TEST_SETTINGS, futures_trading_enabled=False)
    with SimServer(settings) as no_futures:
        r = _check(*readme_venue_commands()["live"], *_at_sim(no_futures), env=keys)
    assert r.returncode == 1
    assert re.search(r"FAIL\s+key: the key was refused: .*-2015", r.stdout), r.stdout
    assert "'Enable Futures'" in r.stdout


def test_hedge_mode_fails_the_position_mode_check(sim, keys, ccxt_sync):
    ccxt_sync.fapiPrivatePostPositionSideDual({"dualSidePosition": "true"})
    r = _check(*readme_venue_commands()["demo"], *_at_sim(sim), env=keys)
    assert r.returncode == 1
    assert re.search(r"FAIL\s+position mode: hedge mode", r.stdout), r.stdout
    assert "one-way" in r.stdout


def test_an_unreachable_stream_host_fails_both_stream_checks(sim, keys):
    dead = f"ws://127.0.0.1:{free_port()}"
    r = _check(*readme_venue_commands()["live"], "--set", f"exchange.rest_url={sim.url}",
               "--set", f"exchange.stream_url={dead}", env=keys)
    assert r.returncode == 1
    assert re.search(r"FAIL\s+user stream: .*refused the connection", r.stdout), r.stdout
    assert re.search(r"FAIL\s+market stream: .*refused the connection", r.stdout), r.stdout
    assert re.search(r"ok\s+key", r.stdout)


def test_an_unreachable_rest_host_fails_the_clock_check_and_skips_the_signed_ones(keys):
    dead = f"http://127.0.0.1:{free_port()}"
    r = _check(*readme_venue_commands()["live"], "--set", f"exchange.rest_url={dead}",
               "--set", "exchange.request_timeout_ms=1000", env=keys)
    assert r.returncode == 1
    assert re.search(r"FAIL\s+clock: http://127\.0\.0\.1:\d+ did not answer", r.stdout)
    assert re.search(r"skipped\s+key: needs clock", r.stdout)


def test_live_mode_without_the_key_variables_is_a_config_error_naming_them(sim):
    r = _check(*readme_venue_commands()["live"], *_at_sim(sim))
    assert r.returncode == 2
    assert "POSGUARD_API_KEY and POSGUARD_API_SECRET" in r.stderr


@pytest.mark.parametrize(("skew", "rtt", "window", "ok"), [
    (0, 40, 5000, True),
    (900, 40, 5000, True),
    (990, 40, 5000, False),      # arrives 1010 ms ahead: Binance refuses >= 1000
    (-4900, 40, 5000, True),
    (-4990, 40, 5000, False),    # arrives 5010 ms old: past the recvWindow
    (-9000, 40, 10000, True),
])
def test_clock_verdict_follows_binances_timestamp_rule(skew, rtt, window, ok):
    assert clock_verdict(skew, rtt, window)[0] is ok
