"""Two accounts in one instance: the real launcher in paper mode, each account with its own
embedded simulator, supervisor, streams and symbol actors, on one store and one epoch.

The second account runs on the Binance front and on the Bybit front (its simulator serves
the account's exchange). Each simulator opens its demo positions (the same symbols on both
accounts); `status` names the account of every row, a symbol on both accounts must be named
with its account, an `open` on one account leaves the other untouched, and every stop's
client id names its account.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from system.launched import Launched
from tests.fixtures.engine import REPO

CONFIG = """
mode: paper
exchanges:
  - account: main
    name: binanceusdm
    simulator: {{demo_positions: 2, seed: 1}}
  - account: by
    name: {venue}
    simulator: {{demo_positions: 2, seed: 2}}
streams: {{market_shards: 2}}
"""
ADOPTED_WITHIN_SECS = 60


@pytest.fixture(scope="module", params=["binanceusdm", "bybit"])
def two(request, tmp_path_factory) -> Iterator[Launched]:
    """A launcher with the accounts main (Binance) and by (request.param), both PROTECTED."""
    folder: Path = tmp_path_factory.mktemp(f"two-{request.param}")
    config = folder / "config.yaml"
    config.write_text(CONFIG.format(venue=request.param))
    system = Launched(folder, config, None, cwd=REPO, accounts={"main": None, "by": None})
    system.venue = request.param  # type: ignore[attr-defined]
    try:
        system.start()
        system.wait_for(lambda: _protected(system, 4), "both accounts' demo positions "
                        "PROTECTED", ADOPTED_WITHIN_SECS)
        yield system
    finally:
        left = system.cleanup()
        assert not left, f"processes left running after the test: {left}"


def _rows(system: Launched) -> dict[tuple[str, str], dict]:
    return {(r["account"], r["symbol"]): r for r in system.json("status")["symbols"]}


def _protected(system: Launched, n: int) -> dict[tuple[str, str], dict] | None:
    rows = _rows(system)
    ok = len(rows) == n and all(r["state"] == "PROTECTED" for r in rows.values())
    return rows if ok else None


def test_two_accounts_run_side_by_side_and_the_cli_names_the_account(two):
    rows = _rows(two)
    status = two.json("status")
    assert [a["account"] for a in status["accounts"]] == ["main", "by"]
    assert all(a["stream"]["user"]["state"] == "connected" for a in status["accounts"])
    assert len({a["exchange_url"] for a in status["accounts"]}) == 2  # a simulator each
    assert "stream" not in status  # one account's stream at the top would mislead
    symbols = sorted({sym for _, sym in rows})
    assert sorted(rows) == sorted((a, s) for a in ("main", "by") for s in symbols)

    text = two.cli("status")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert [line.split(" | ")[2] for line in lines[:2]] == [
        "account main (binanceusdm)", f"account by ({two.venue})"]
    assert lines[2].split()[:2] == ["ACCOUNT", "SYMBOL"]
    assert {tuple(line.split()[:2]) for line in lines[3:]} == set(rows)

    # The same symbol on both accounts: refused without the account, exit 2, naming both.
    sym = symbols[0]
    r = two.cli("status", sym)
    assert r.returncode == 2
    assert f"{sym} is on several accounts (main, by)" in r.stderr
    only = two.json("status", f"by:{sym}")["symbols"]
    assert [(x["account"], x["symbol"]) for x in only] == [("by", sym)]
    assert [(x["account"], x["symbol"]) for x in two.json("status", sym, "--account", "main")
            ["symbols"]] == [("main", sym)]

    # open on several accounts needs the account; with it, only that account trades.
    r = two.cli("open", "XRPUSDT", "--side", "long", "--qty", "10")
    assert r.returncode == 2 and "several accounts are configured (main, by)" in r.stderr
    r = two.cli("open", "by:XRPUSDT", "--side", "long", "--qty", "10", "--json")
    assert r.returncode == 0, r.stderr
    opened = json.loads(r.stdout)
    assert opened["account"] == "by" and opened["view"]["state"] == "PROTECTED"
    after = _rows(two)
    assert after[("by", "XRPUSDT")]["state"] == "PROTECTED" and ("main", "XRPUSDT") not in after

    actors = two.json("actors")
    sups = [(a["account"], a["pid"]) for a in actors if a["kind"] == "supervisor"]
    assert [a for a, _ in sups] == ["main", "by"] and sups[0][1] != sups[1][1]
    assert {a["account"] for a in actors if a["kind"] == "user_stream"} == {"main", "by"}


def test_every_stop_names_its_account_in_its_client_id(two):
    """The symbol actor passes SymbolInit.account into client_ids.make (Context.account:
    actors/machine/core.py, actors/symbol.py; see /work/h16/accounts-needs.md)."""
    from actors.client_ids import parse
    ids = {key: r["stop_client_id"] for key, r in _rows(two).items()}
    assert all(cid for cid in ids.values()), ids
    assert {key: getattr(parse(cid), "account_tag", None) for key, cid in ids.items()} == {
        key: key[0] for key in ids}, ids


def test_one_accounts_dead_supervisor_is_recreated_and_the_other_account_runs_on(two):
    import os
    import signal

    from system.launched import pid_alive

    def pids(account: str) -> dict[tuple[str, str | None], int]:
        return {(a["kind"], a["symbol"]): a["pid"] for a in two.actors()
                if a["account"] == account and a["pid"]}

    main_before, by_before = pids("main"), pids("by")
    dead = by_before[("supervisor", None)]
    os.kill(dead, signal.SIGKILL)
    two.wait_for(lambda: not pid_alive(dead), "by's supervisor to die", 10)
    # While by has no supervisor, status still shows main and says what is wrong with by.
    partial = two.wait_for(lambda: (r := two.cli("status", "--json")).returncode == 1 and r,
                           "a status without by's supervisor", 10)
    accounts = {a["account"]: a for a in json.loads(partial.stdout)["accounts"]}
    assert accounts["main"]["stream"]["user"]["state"] == "connected"
    assert "error" in accounts["by"]

    def recreated() -> bool:
        r = two.cli("actors", "--json")
        return r.returncode == 0 and any(
            a["account"] == "by" and a["kind"] == "supervisor" and a["pid"] not in (None, dead)
            for a in json.loads(r.stdout))
    two.wait_for(recreated, "the launcher to re-create by's supervisor", 40)
    two.wait_for(lambda: _protected(two, 5), "by's symbols PROTECTED again", 40)
    assert pids("main") == main_before, "main's actors were touched"
    assert by_before.keys() <= pids("by").keys()  # by has every actor back


def test_the_launcher_stops_both_accounts_with_exit_0(two):
    assert two.terminate() == 0
