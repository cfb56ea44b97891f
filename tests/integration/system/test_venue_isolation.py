"""A failure on one venue never disturbs protection on the other.

One `posguard run` with two paper accounts, each on its own external simulator: `main` on the
Binance front, `by` on the Bybit front. Each test breaks one venue every way the simulator can
(its user stream, its REST API up to a ban, its market stream) while the other venue's
positions keep moving their stops and a new position there is protected in the usual time.
The exchange's truth is asserted on both simulators: the healthy venue's stops rest where the
engine says, the broken venue's stop still rests (the venue's own stop protects while
posguard cannot reach it), and neither simulator's unprotected meter ever ran.

Bybit has no listenKey to expire: its user-stream faults are the auth refusal (the frame Bybit
sends when it refuses `op: auth`), a server-side cut and a silence. The Binance-down case
breaks its user stream (listenKey expired, cut, silence), its market streams (cut, silence)
and its REST API (5xx, 429 -1015, 418 ban).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from system.launched import Launched, free_port
from system.sim.client import SimControl
from system.sim.server import SimServer
from tests.fixtures.engine import REPO
from tests.fixtures.sim import BYBIT_TEST_SETTINGS, TEST_SETTINGS

CONFIG = """
mode: paper
exchanges:
  - account: main
    name: binanceusdm
  - account: by
    name: bybit
streams: {stream_silence_secs: 5}
actor_system: {shutdown_grace_secs: 3}
"""
SYM, NEW_SYM, QTY, NEW_QTY = "BTCUSDT", "ETHUSDT", "0.010", "0.100"
ENTRY, PEAK, NEW_ENTRY = "60000", "60700", "3000"
PROTECTED_WITHIN_SECS = 10
"""A new position on the healthy venue: protected within this (the scenarios' usual bound)."""
OUTAGE_SECS = 20
"""How long the broken venue's streams stay silent."""
# The stop at teardown may find requests to the broken venue in flight; a shorter grace
# (CONFIG's actor_system.shutdown_grace_secs, 10 s by default) only makes it end sooner.


class Pair:
    """The launcher and the two simulators' control clients."""

    def __init__(self, system: Launched, main: SimControl, by: SimControl) -> None:
        self.system, self.ctl = system, {"main": main, "by": by}
        self.ops: dict[str, int] = {}
        """The metrics and status page ports."""

    def get(self, service: str, path: str) -> str:
        url = f"http://127.0.0.1:{self.ops[service]}{path}"
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode()

    def rows(self) -> dict[tuple[str, str], dict]:
        return {(r["account"], r["symbol"]): r for r in self.system.json("status")["symbols"]}

    def row(self, account: str, symbol: str) -> dict | None:
        return self.rows().get((account, symbol))

    def wait_row(self, account: str, symbol: str, pred, what: str, secs: float) -> dict:
        return self.system.wait_for(
            lambda: (r := self.row(account, symbol)) is not None and pred(r) and r,
            f"{account}:{symbol} {what}", secs)

    def open(self, account: str, symbol: str, qty: str) -> dict:
        r = self.system.cli("open", f"{account}:{symbol}", "--side", "long", "--qty", qty,
                            "--json")
        assert r.returncode == 0, r.stdout + r.stderr
        return json.loads(r.stdout)

    def resting(self, account: str, symbol: str) -> list[dict]:
        return [o for o in self.ctl[account].state()["open_algo_orders"]
                if o["symbol"] == symbol]

    def position(self, account: str, symbol: str) -> Decimal:
        return sum((Decimal(p["positionAmt"]) for p in self.ctl[account].state()["positions"]
                    if p["symbol"] == symbol), Decimal(0))


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    """Both simulators up, the launcher on them, BTCUSDT long and PROTECTED on both."""
    servers = [SimServer(TEST_SETTINGS), SimServer(BYBIT_TEST_SETTINGS)]
    system = None
    try:
        for s in servers:
            s.start()
        main, by = (SimControl(s.url, timeout_secs=5.0) for s in servers)
        for ctl in (main, by):
            ctl.set_price(SYM, ENTRY, mark=ENTRY)
            ctl.set_price(NEW_SYM, NEW_ENTRY, mark=NEW_ENTRY)
        config = tmp_path / "config.yaml"
        config.write_text(CONFIG)
        ops = {"metrics": free_port(), "status_page": free_port()}
        system = Launched(tmp_path, config, None, cwd=REPO,
                          accounts={"main": servers[0].port, "by": servers[1].port},
                          extra=tuple(f"{k}.port={v}" for k, v in ops.items()))
        system.start()
        p = Pair(system, main, by)
        p.ops = ops
        for account in ("main", "by"):
            assert p.open(account, SYM, QTY)["view"]["state"] == "PROTECTED"
        yield p
    finally:
        if system is not None:
            left = system.cleanup()
            assert not left, f"processes left running after the test: {left}"
        for s in servers:
            s.stop()


def _healthy_venue_protects(p: Pair, account: str) -> None:
    """`account`'s stop follows the price up and a new position is protected in time; the
    venue's book says the same as the engine."""
    first = p.row(account, SYM)
    assert first is not None and first["state"] == "PROTECTED", first
    p.ctl[account].set_price(SYM, PEAK, mark=PEAK)
    moved = p.wait_row(account, SYM, lambda r: r["state"] == "PROTECTED" and r["stop_price"]
                       and Decimal(r["stop_price"]) > Decimal(first["stop_price"]),
                       "stop moved up", 15)
    t0 = time.monotonic()
    opened = p.open(account, NEW_SYM, NEW_QTY)
    took = time.monotonic() - t0
    assert opened["view"]["state"] == "PROTECTED" and took < PROTECTED_WITHIN_SECS, \
        (opened, took)
    [stop] = p.resting(account, SYM)
    assert Decimal(stop["triggerPrice"]) == Decimal(moved["stop_price"]), (stop, moved)
    [new_stop] = p.resting(account, NEW_SYM)
    assert new_stop["clientAlgoId"] == p.row(account, NEW_SYM)["stop_client_id"]


def _broken_venue_still_rests(p: Pair, account: str, trigger: str) -> None:
    """The broken venue's position still has its one stop resting at `trigger`."""
    assert p.position(account, SYM) == Decimal(QTY)
    [stop] = p.resting(account, SYM)
    assert Decimal(stop["triggerPrice"]) == Decimal(trigger), stop


def _never_unprotected(p: Pair) -> None:
    for account, ctl in p.ctl.items():
        meter = ctl.state()["unprotected"]
        assert meter["coverage_lost_total_ms"] == 0, (account, meter)


def test_bybit_down_leaves_binance_protected(pair: Pair):
    """Bybit: REST refused (10006, HTTP 502, then a 403 IP ban) on the stop's move, the
    private socket's auth refused, cut and silenced, the public socket cut and silenced."""
    p, by = pair, pair.ctl["by"]
    trigger = p.row("by", SYM)["stop_price"]
    for code, status in ((10006, 200), (10016, 502), (0, 403)):
        by.fail_next("POST", "/v5/order/amend", code=code, status=status,
                     msg="Injected failure.")
    by.set_price(SYM, PEAK, mark=PEAK)  # the engine's amend meets the three refusals
    p.system.wait_for(lambda: not by.state()["faults"]["http"], "Bybit's REST faults to "
                      "be met", 20)
    by.inject_frame(json.dumps({"success": False, "ret_msg": "Params Error", "op": "auth",
                                "req_id": "auth", "conn_id": "injected"}))
    by.close_user_streams()
    by.close_market_streams()
    time.sleep(1)
    by.silence_user_streams(OUTAGE_SECS)
    by.silence_market_streams(OUTAGE_SECS)

    _healthy_venue_protects(p, "main")
    status = p.system.json("status")
    accounts = {a["account"]: a for a in status["accounts"]}
    assert accounts["main"]["stream"]["user"]["state"] == "connected", accounts["main"]
    _broken_venue_still_rests(p, "by", trigger)
    _never_unprotected(p)


def test_binance_down_leaves_bybit_protected(pair: Pair):
    """Binance: REST refused (HTTP 503 -1001, 429 -1015, then a 418 ban) on the stop's
    new-first placement, the listenKey expired, the user and market streams cut and
    silenced."""
    p, bn = pair, pair.ctl["main"]
    trigger = p.row("main", SYM)["stop_price"]
    for code, status in ((-1001, 503), (-1015, 429), (-1003, 418)):
        bn.fail_next("POST", "/fapi/v1/algoOrder", code=code, status=status,
                     msg="Injected failure.")
    bn.set_price(SYM, PEAK, mark=PEAK)
    p.system.wait_for(lambda: not bn.state()["faults"]["http"], "Binance's REST faults "
                      "to be met", 20)
    bn.expire_listen_key()
    bn.close_user_streams()
    bn.close_market_streams()
    time.sleep(1)
    bn.silence_user_streams(OUTAGE_SECS)
    bn.silence_market_streams(OUTAGE_SECS)

    _healthy_venue_protects(p, "by")
    accounts = {a["account"]: a for a in p.system.json("status")["accounts"]}
    assert accounts["by"]["stream"]["user"]["state"] == "connected", accounts["by"]
    _broken_venue_still_rests(p, "main", trigger)
    _never_unprotected(p)


def _bybit_position_push(symbol: str) -> str:
    return json.dumps({"id": "injected", "topic": "position", "creationTime": 1, "data": [{
        "category": "linear", "symbol": symbol, "side": "Buy", "size": "1", "positionIdx": 0,
        "entryPrice": "1", "markPrice": "1", "positionValue": "1", "leverage": "10",
        "updatedTime": str(int(time.time() * 1000)), "seq": 1}]})


def _binance_position_push(symbol: str) -> str:
    now = int(time.time() * 1000)
    return json.dumps({"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": {"m": "ORDER", "B": [],
                       "P": [{"s": symbol, "pa": "1", "ep": "1", "cr": "0", "up": "0",
                              "mt": "cross", "iw": "0", "ps": "BOTH"}]}})


@pytest.mark.parametrize("account", ["main", "by"])
def test_opening_a_symbol_the_venue_does_not_list_is_refused_naming_the_account(pair: Pair,
                                                                                account):
    """`open ACCOUNT:NOPEUSDT` is refused at once, naming the account and the symbol, and
    nothing is placed on either venue."""
    p = pair
    r = p.system.cli("open", f"{account}:NOPEUSDT", "--side", "long", "--qty", "1")
    for ctl in p.ctl.values():
        assert [x for x in ctl.state()["fills"] if x["symbol"] == "NOPEUSDT"] == []
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "NOPEUSDT" in r.stderr and f"'{account}'" in r.stderr and \
        "no answer" not in r.stderr, r.stderr


def test_a_push_for_a_symbol_the_venue_does_not_list_disturbs_neither_account(pair: Pair):
    """A position push for a symbol neither venue lists (each venue's own frame shape) is
    logged naming the account, and both accounts protect on."""
    p = pair
    p.ctl["by"].inject_frame(_bybit_position_push("NOPEUSDT"))
    p.ctl["main"].inject_frame(_binance_position_push("NOPEUSDT"))
    logged = p.system.wait_for(lambda: [line for line in _log(p) if "NOPEUSDT" in line],
                               "the unlisted symbol's push logged", 15)
    time.sleep(2)
    _healthy_venue_protects(p, "main")
    _healthy_venue_protects(p, "by")
    _never_unprotected(p)
    assert logged


def _log(p: Pair) -> list[str]:
    path = Path(p.system.config_path).parent / "actors.log"
    return path.read_text(errors="replace").splitlines() if path.exists() else []


def test_metrics_status_page_and_logs_name_the_account(pair: Pair):
    """Each account's pool is its own labelled series; the page's rows and the supervisors'
    and stream actors' log lines name the account."""
    from prometheus_client.parser import text_string_to_metric_families
    p = pair

    def samples() -> dict[tuple[str, frozenset], float]:
        return {(s.name, frozenset(s.labels.items())): s.value for fam in
                text_string_to_metric_families(p.get("metrics", "/metrics"))
                for s in fam.samples}

    def states(m: dict[tuple[str, frozenset], float]) -> set[str | None]:
        return {dict(k[1]).get("symbol") for k in m if k[0] == "posguard_symbol_state"}

    # The exporter reads each account's status on its own poll: the first reading after the
    # fixture's opens may still hold an account's status from before its symbol existed.
    m = p.system.wait_for(lambda: (m := samples()) and any(
        k[0] == "posguard_order_budget_limit" and ("account", "by") in k[1] for k in m)
        and states(m) >= {f"main:{SYM}", f"by:{SYM}"} and m,
        "both accounts' pool and symbol metrics", 20)
    limit = {dict(k[1])["account"]: v for k, v in m.items()
             if k[0] == "posguard_order_budget_limit" and ("window", "10s") in k[1]}
    assert limit == {"main": 250.0, "by": 8.0}  # Bybit's 10/s per UID, 2/s kept back

    page = json.loads(p.get("status_page", "/api/status"))
    rows = {(r["account"], r["symbol"]) for r in page["symbols"]}
    assert {("main", SYM), ("by", SYM)} <= rows, page["symbols"]

    lines = _log(p)
    for account in ("main", "by"):
        assert any(f"posguard.supervisor" in line and f"account {account}: supervisor" in line
                   for line in lines), [x for x in lines if "supervisor" in x][:10]
        for kind in ("user", "market"):
            assert any(f"account {account}: {kind} stream connected" in line
                       for line in lines), [x for x in lines if "stream" in x][:10]
