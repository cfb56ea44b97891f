"""Fuzzed user-stream frames against the running system: counted, never fatal, never applied.

A seeded generator (seed in every failure message; POSGUARD_FUZZ_SEED replays one) builds
frames that are malformed by construction: random bytes, truncated JSON, deep nesting, wrong
types, missing fields, numbers no exchange sends. They go, raw, to the system's user stream
(`/_sim/fault/inject_frame`) mixed with events posguard does not know (valid, ignored). The
user-stream actor must keep its process, `status --json` must count exactly the malformed
ones as bad frames, the open symbol must not move (same seq, same stop), and a new symbol
must still open and be protected.

Bybit (`test_fuzzed_bybit_frames_...`) has two sockets and its own frames: the same kinds of
malformed frames are built from Bybit's pushes (order, position: `{"topic", "creationTime",
"data": [row]}`) and sent raw to the private socket, mixed with valid frames posguard does not
use (execution, wallet, an unknown topic, rows of another category or a hedge leg, pongs and
acks) and a subscription refusal (`error:handler not found,topic:X`, a bad frame); then
malformed ticker frames (`tickers.SYM`) to the public socket (`sim.call`: the Bybit front has
no inject route for it). Then an auth refusal arrives on the live private socket: it is not
a bad frame, the stream reconnects and authenticates again, protection goes on. The Binance
market stream has no injection point, so its malformed frames are not covered here.
"""

from __future__ import annotations

import copy
import json
import os
import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures.launcher import Launched
from tests.fixtures.venues import BYBIT
from tests.integration.sim import samples

FRAMES = 60
HELD, FRESH = "BNBUSDT", "ETHUSDT"
HUGE_INT = "1" + "0" * 5000  # longer than Python's int parsing limit (4300 digits)
Path = tuple[Any, ...]

TEMPLATES = {"ORDER_TRADE_UPDATE": samples.ORDER_TRADE_UPDATE,
             "ALGO_UPDATE": samples.ALGO_UPDATE, "ACCOUNT_UPDATE": samples.ACCOUNT_UPDATE}
REQUIRED: dict[str, list[Path]] = {
    "ORDER_TRADE_UPDATE": [("E",), ("o",), *[("o", k) for k in ["s", "c", "i", "ot", "S", "x",
                                                                "X", "l", "z", "ap"]]],
    "ALGO_UPDATE": [("E",), ("o",), *[("o", k) for k in ["s", "caid", "aid", "o", "S", "X"]]],
    "ACCOUNT_UPDATE": [("E",), ("a",), ("a", "P", 0, "s"), ("a", "P", 0, "pa"),
                       ("a", "P", 0, "ep")],
}
# The fields the parser reads, by type (a field it does not read cannot make a frame bad).
STRINGS: dict[str, list[Path]] = {
    "ORDER_TRADE_UPDATE": [("o", k) for k in ["s", "c", "ot", "S", "x", "X"]],
    "ALGO_UPDATE": [("o", k) for k in ["s", "caid", "o", "S", "X"]],
    "ACCOUNT_UPDATE": [("a", "P", 0, "s")],
}
NUMBERS: dict[str, list[Path]] = {
    "ORDER_TRADE_UPDATE": [("o", k) for k in ["l", "z", "ap", "rp"]],
    "ALGO_UPDATE": [("o", "tp"), ("o", "q")],
    "ACCOUNT_UPDATE": [("a", "P", 0, "pa"), ("a", "P", 0, "ep")],
}
CONTAINERS: dict[str, list[tuple[Path, list[Any]]]] = {
    "ORDER_TRADE_UPDATE": [(("o",), ["x", 5, []])],
    "ALGO_UPDATE": [(("o",), ["x", 5, []])],
    "ACCOUNT_UPDATE": [(("a",), ["x", [], 5]), (("a", "P"), [7, "ab", [5]])],
}
BAD_STRINGS = [123, None, [], {}, True]  # and "" for a symbol
BAD_NUMBERS = ["abc", [], {}, True, None, "NaN", "1e400x", "Infinity"]
BAD_INTS = ["soon", [], {}, None, "1e3", "0x10"]
# Magnitudes no exchange field ever has (the parser must refuse them, not compute with them).
HUGE_NUMBERS = ["1e999999999", "-1e999999999", 1e300, "1" + "0" * 40, "__INF__"]
HUGE_INTS = [10 ** 30, -(10 ** 30), "__HUGE_INT__", 1.5e300]


# --------------------------------------------------------------------------- generator


def _event(rng: random.Random) -> tuple[str, dict[str, Any]]:
    kind = rng.choice(sorted(TEMPLATES))
    ev = copy.deepcopy(TEMPLATES[kind])
    if kind == "ACCOUNT_UPDATE":
        ev["a"]["P"][0]["s"] = HELD
    else:
        ev["o"]["s"] = HELD
    return kind, ev


def _set(ev: dict[str, Any], path: Path, value: Any) -> None:
    *parent, last = path
    node: Any = ev
    for p in parent:
        node = node[p]
    node[last] = value


def _delete(ev: dict[str, Any], path: Path) -> None:
    *parent, last = path
    node: Any = ev
    for p in parent:
        node = node[p]
    del node[last]


def _text(ev: Any) -> str:
    return (json.dumps(ev).replace('"__HUGE_INT__"', HUGE_INT)
            .replace('"__INF__"', "1e400"))


def random_bytes(rng: random.Random) -> str:
    return rng.randbytes(rng.randint(1, 300)).decode("latin-1")


def truncated_json(rng: random.Random) -> str:
    text = _text(_event(rng)[1])
    return text[:rng.randrange(1, len(text))]


def deep_nesting(rng: random.Random) -> str:
    opener = rng.choice(["[", '{"a":'])
    return opener * rng.randint(2_000, 60_000)


def wrong_type(rng: random.Random) -> str:
    kind, ev = _event(rng)
    choices = [(p, BAD_STRINGS + ([""] if p[-1] == "s" else [])) for p in STRINGS[kind]]
    choices += [(p, BAD_NUMBERS) for p in NUMBERS[kind]] + CONTAINERS[kind]
    choices.append((("E",), BAD_INTS))
    path, values = rng.choice(choices)
    _set(ev, path, rng.choice(values))
    return _text(ev)


def missing_field(rng: random.Random) -> str:
    kind, ev = _event(rng)
    _delete(ev, rng.choice(REQUIRED[kind]))
    return _text(ev)


def huge_number(rng: random.Random) -> str:
    kind, ev = _event(rng)
    if rng.random() < 0.5:
        _set(ev, ("E",), rng.choice(HUGE_INTS))
    else:
        _set(ev, rng.choice(NUMBERS[kind]), rng.choice(HUGE_NUMBERS))
    return _text(ev)


def unknown_event(rng: random.Random) -> str:
    """Valid JSON posguard does not use: parsed, ignored, not a bad frame."""
    if rng.random() < 0.2:
        return json.dumps({"result": None, "id": rng.randint(1, 10 ** 6)})
    name = rng.choice(["TRADE_LITE", "MARGIN_CALL", "ACCOUNT_CONFIG_UPDATE",
                       "STRATEGY_UPDATE", f"FUZZ_{rng.randint(0, 10 ** 9)}"])
    return json.dumps({"e": name, "E": rng.randint(0, 2 ** 41),
                       "x": [rng.random(), "y" * rng.randint(0, 50), None]})


MALFORMED: list[Callable[[random.Random], str]] = [
    random_bytes, truncated_json, deep_nesting, wrong_type, missing_field, huge_number]


def frames(seed: int, n: int) -> list[tuple[str, str, bool]]:
    """`n` frames: (generator name, raw text, malformed?); about one in six is valid."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        gen = unknown_event if rng.random() < 1 / 6 else rng.choice(MALFORMED)
        out.append((gen.__name__, gen(rng), gen is not unknown_event))
    return out


# --------------------------------------------------------------------------- test


def _user_stream(system: Launched) -> dict[str, Any]:
    return system.json("status")["stream"]["user"]


def _user_stream_pid(system: Launched) -> int:
    return next(a["pid"] for a in system.actors() if a["kind"] == "user_stream")


def test_fuzzed_user_stream_frames_are_counted_and_never_crash_or_move_anything(launched):
    seed = int(os.environ.get("POSGUARD_FUZZ_SEED", random.randrange(2 ** 32)))
    where = f"(seed {seed}; replay with POSGUARD_FUZZ_SEED={seed})"
    system = launched
    assert system.cli("open", HELD, "--side", "long", "--qty", "1").returncode == 0
    held = system.wait_state(HELD, "PROTECTED")
    pid = _user_stream_pid(system)
    batch = frames(seed, FRAMES)
    bad = sum(1 for _, _, malformed in batch if malformed)

    for name, raw, _ in batch:
        assert system.control.inject_frame(raw)["sent"] == 1, f"{name}: no stream {where}"

    # Every frame the actor has read: the simulator's events (one connection since the
    # start) and the injected ones. Status is refreshed on the actor's health timer.
    total = system.control.state()["user_stream"]["events_sent"] + FRAMES
    user = system.wait_for(
        lambda: (u := _user_stream(system)) and (u["frames"] >= total or u["pid"] != pid) and u,
        f"all {FRAMES} frames to be read {where}", 30)
    assert user["pid"] == pid == _user_stream_pid(system), (
        f"the user-stream actor was replaced: {user['last_error']} {where}")
    assert user["frames"] == total, where
    assert user["bad_frames"] == bad, f"{bad} malformed frames sent, {user['bad_frames']} " \
                                      f"counted {where}"
    assert (user["state"], user["reconnects"]) == ("connected", 0), where
    after = system.symbols()[HELD]
    assert (after["state"], after["seq"], after["stop_order_id"], after["pid"]) == (
        "PROTECTED", held["seq"], held["stop_order_id"], held["pid"]), f"{HELD} moved {where}"
    assert not any(a["restarts"] for a in system.actors()), f"an actor restarted {where}"

    r = system.cli("open", FRESH, "--side", "short", "--qty", "0.100")

    assert r.returncode == 0, f"{r.stderr} {where}"
    row = system.wait_state(FRESH, "PROTECTED")
    stops = [o for o in system.control.state()["open_algo_orders"] if o["symbol"] == FRESH]
    assert [str(o["algoId"]) for o in stops] == [row["stop_order_id"]], where


# --------------------------------------------------------------------------- Bybit
# Only the fields venues/bybit/events.py reads, and only values it must refuse: a field
# with a default ("qty", "0") takes a falsy value ([] , 0, False) as absent, so only truthy
# bad values go there.

BYBIT_ORDER = {  # a plain market order's last push (system/sim/bybit/frames.py)
    "category": "linear", "symbol": HELD, "orderId": "00000000-0000-0000-0000-00000000b001",
    "orderLinkId": "foreign-1", "side": "Buy", "positionIdx": 0, "orderStatus": "Filled",
    "orderType": "Market", "stopOrderType": "", "triggerPrice": "0", "qty": "1",
    "cumExecQty": "1", "avgPrice": "600.00", "leavesQty": "0", "reduceOnly": False,
    "rejectReason": "EC_NoError", "createdTime": "1795263000000",
    "updatedTime": "1795263300120"}
BYBIT_STOP = {**BYBIT_ORDER, "orderId": "00000000-0000-0000-0000-00000000b002",
              "orderLinkId": "foreign-2", "side": "Sell", "orderStatus": "Untriggered",
              "stopOrderType": "Stop", "triggerPrice": "580.00", "cumExecQty": "0",
              "avgPrice": "", "reduceOnly": True, "closeOnTrigger": True}
BYBIT_POSITION = {"category": "linear", "symbol": HELD, "side": "Buy", "size": "1",
                  "positionIdx": 0, "entryPrice": "600.00", "updatedTime": "1795263300120"}
BYBIT_TEMPLATES = {"order": BYBIT_ORDER, "stop": BYBIT_STOP, "position": BYBIT_POSITION}
BYBIT_REQUIRED: dict[str, list[Path]] = {
    kind: [("topic",), ("creationTime",), ("data",), ("data", 0, "symbol")]
    + ([("data", 0, "size")] if kind == "position" else [("data", 0, "orderId")])
    for kind in BYBIT_TEMPLATES}
BYBIT_NUMBERS: dict[str, list[tuple[Path, bool]]] = {  # (path, has a default)
    "order": [(("data", 0, "cumExecQty"), True), (("data", 0, "avgPrice"), True)],
    "stop": [(("data", 0, "triggerPrice"), True), (("data", 0, "qty"), True)],
    "position": [(("data", 0, "size"), False), (("data", 0, "entryPrice"), True)]}
TRUTHY_BAD_NUMBERS = ["abc", [1], {"a": 1}, True, "NaN", "1e400x", "Infinity", "-Infinity"]
TRUTHY_BAD_INTS = ["soon", [1], {"a": 1}, "1e3", "0x10", True]
BAD_ROWS = ["x", 5, {"a": 1}, [5], ["ab"], {"category": "linear"}]
BYBIT_TOPIC = {"order": "order", "stop": "order", "position": "position"}


def _bybit_push(rng: random.Random) -> tuple[str, dict[str, Any]]:
    kind = rng.choice(sorted(BYBIT_TEMPLATES))
    return kind, {"id": f"fz{rng.randint(0, 10 ** 9)}", "topic": BYBIT_TOPIC[kind],
                  "creationTime": 1795263300124 + rng.randint(0, 10 ** 6),
                  "data": [copy.deepcopy(BYBIT_TEMPLATES[kind])]}


def bybit_truncated(rng: random.Random) -> str:
    text = _text(_bybit_push(rng)[1])
    return text[:rng.randrange(1, len(text))]


def bybit_wrong_type(rng: random.Random) -> str:
    kind, push = _bybit_push(rng)
    choices: list[tuple[Path, list[Any]]] = [
        (("data", 0, "symbol"), BAD_STRINGS + [""]), (("topic",), [5, None, [], {}, True]),
        (("creationTime",), BAD_INTS + [-1]), (("data",), BAD_ROWS),
        (("data", 0, "positionIdx"), ["abc", [1], {"a": 1}])]
    choices += [(p, TRUTHY_BAD_NUMBERS if has_default else BAD_NUMBERS)
                for p, has_default in BYBIT_NUMBERS[kind]]
    if kind == "position":
        choices.append((("data", 0, "side"), ["Long", "buy", 5, True]))
    path, values = rng.choice(choices)
    _set(push, path, rng.choice(values))
    return _text(push)


def bybit_missing_field(rng: random.Random) -> str:
    kind, push = _bybit_push(rng)
    _delete(push, rng.choice(BYBIT_REQUIRED[kind]))
    return _text(push)


def bybit_huge_number(rng: random.Random) -> str:
    kind, push = _bybit_push(rng)
    if rng.random() < 0.5:
        _set(push, ("creationTime",), rng.choice(HUGE_INTS))
    else:
        _set(push, rng.choice(BYBIT_NUMBERS[kind])[0], rng.choice(HUGE_NUMBERS))
    return _text(push)


def bybit_refusal(rng: random.Random) -> str:
    """Bybit refusing a subscription (an unknown topic): a bad frame, named in the log."""
    return json.dumps({"success": False, "ret_msg": f"error:handler not found,topic:"
                       f"fuzz{rng.randint(0, 99)}", "op": "subscribe", "conn_id": "fz"})


def bybit_not_ours(rng: random.Random) -> str:
    """Valid frames posguard does not use: parsed, ignored, not bad frames."""
    pick = rng.randrange(6)
    if pick == 0:
        return json.dumps({"req_id": str(rng.randint(1, 99)), "op": "pong",
                           "args": [str(rng.randint(0, 2 ** 41))], "conn_id": "fz"})
    if pick == 1:
        return json.dumps({"success": True, "ret_msg": "", "op": "subscribe",
                           "conn_id": "fz", "req_id": "topics"})
    if pick == 2:  # another category, a hedge leg: not posguard's rows
        row = {**BYBIT_POSITION, **rng.choice([{"category": "inverse"}, {"positionIdx": 1}])}
        return json.dumps({"topic": "position", "creationTime": 1795263300124,
                           "data": [row]})
    topic = ["execution", "wallet", f"greeks{rng.randint(0, 10 ** 6)}", "dcp"][pick - 3]
    return json.dumps({"id": "fz", "topic": topic, "creationTime": rng.randint(0, 2 ** 41),
                       "data": [{"x": rng.random(), "y": "z" * rng.randint(0, 50)}]})


BYBIT_MALFORMED: list[Callable[[random.Random], str]] = [
    random_bytes, bybit_truncated, deep_nesting, bybit_wrong_type, bybit_missing_field,
    bybit_huge_number, bybit_refusal]


def bybit_frames(seed: int, n: int) -> list[tuple[str, str, bool]]:
    """`n` private-socket frames: (generator, raw text, malformed?); about one in six valid."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        gen = bybit_not_ours if rng.random() < 1 / 6 else rng.choice(BYBIT_MALFORMED)
        out.append((gen.__name__, gen(rng), gen is not bybit_not_ours))
    return out


def ticker_frames(seed: int, n: int) -> list[tuple[str, bool]]:
    """`n` public-socket frames for HELD's ticker: (raw, malformed?). A delta without
    markPrice is valid (markPrice unchanged, ignored); nothing valid carries a price."""
    rng = random.Random(seed + 1)
    topic = f"tickers.{HELD}"
    out = []
    for _ in range(n):
        frame: dict[str, Any] = {"topic": topic, "type": "snapshot", "cs": 1, "ts":
                                 1795263300124, "data": {"symbol": HELD, "markPrice": "600"}}
        pick = rng.randrange(8)
        if pick == 0:
            out.append((json.dumps({**frame, "type": "delta", "data": {"symbol": HELD}}),
                        False))
            continue
        if pick == 1:
            text = _text(frame)
            out.append((text[:rng.randrange(1, len(text))], True))
            continue
        if pick == 2:
            del frame["data"]["markPrice"]  # a snapshot must carry it
        elif pick == 3:
            frame["data"]["markPrice"] = rng.choice(TRUTHY_BAD_NUMBERS + HUGE_NUMBERS)
        elif pick == 4:
            frame["ts"] = rng.choice(BAD_INTS + HUGE_INTS)
        elif pick == 5:
            frame["data"] = rng.choice(["x", 5, [frame["data"]], None])
        elif pick == 6:
            frame["data"]["symbol"], frame["topic"] = "", "tickers."
        else:
            del frame["ts"]
        out.append((_text(frame), True))
    return out


def _streams(system: Launched) -> dict[str, Any]:
    return system.json("status")["stream"]


def _push_public(sim: Any, raw: str) -> int:
    from system.sim.bybit.ws_public import public_streams

    def push(s: Any) -> int:
        conns = list(public_streams(s).conns)
        for c in conns:
            c.push(raw)
        return len(conns)
    return int(sim.call(push))


AUTH_REFUSED = json.dumps({"success": False, "ret_msg": "Params Error", "op": "auth",
                           "conn_id": "fz"})  # Bybit's own words (system/sim/bybit)


def _counted(system: Launched, kind: str, bad: int, at_least: int, where: str
             ) -> dict[str, Any]:
    """The stream once it has read `at_least` frames and counted `bad` bad ones, re-read a
    second later (a frame still on its way would show up then)."""
    system.wait_for(lambda: (x := _streams(system)[kind])["frames"] >= at_least
                    and x["bad_frames"] >= bad, f"the {kind} stream to read them {where}", 30)
    time.sleep(1.0)
    return _streams(system)[kind]


@pytest.mark.parametrize("venue", [BYBIT], ids=["bybit"])
def test_fuzzed_bybit_frames_on_both_sockets_are_counted_and_never_crash_or_move_anything(
        launched, sim, venue):
    seed = int(os.environ.get("POSGUARD_FUZZ_SEED", random.randrange(2 ** 32)))
    where = f"(seed {seed}; replay with POSGUARD_FUZZ_SEED={seed})"
    system = launched
    assert system.cli("open", HELD, "--side", "long", "--qty", "1").returncode == 0
    held = system.wait_state(HELD, "PROTECTED")
    pid = _user_stream_pid(system)
    before = _streams(system)
    assert (before["user"]["bad_frames"], before["market"]["bad_frames"]) == (0, 0), before
    private = bybit_frames(seed, FRAMES)
    public = ticker_frames(seed, FRAMES // 2)

    for name, raw, _ in private:
        assert system.control.inject_frame(raw)["sent"] == 1, f"{name}: no socket {where}"
    bad_public = 0  # each frame goes to every public socket (one per market shard)
    for raw, malformed in public:
        sockets = _push_public(sim, raw)
        assert sockets >= 1, f"no public socket {where}"
        bad_public += sockets if malformed else 0

    bad = sum(1 for _, _, malformed in private if malformed)
    user = _counted(system, "user", bad, before["user"]["frames"] + FRAMES, where)
    assert user["pid"] == pid == _user_stream_pid(system), (
        f"the user-stream actor was replaced: {user['last_error']} {where}")
    assert user["bad_frames"] == bad, f"{bad} malformed private frames sent, " \
                                      f"{user['bad_frames']} counted {where}"
    assert (user["state"], user["reconnects"]) == ("connected", 0), f"{user} {where}"
    market = _counted(system, "market", bad_public, 0, where)
    assert market["bad_frames"] == bad_public, f"{bad_public} malformed ticker frames read, " \
                                               f"{market['bad_frames']} counted {where}"
    assert (market["state"], market["reconnects"]) == ("connected", 0), f"{market} {where}"
    after = system.symbols()[HELD]
    assert (after["state"], after["seq"], after["stop_order_id"], after["pid"]) == (
        "PROTECTED", held["seq"], held["stop_order_id"], held["pid"]), f"{HELD} moved {where}"
    assert not any(a["restarts"] for a in system.actors()), f"an actor restarted {where}"

    # Bybit refuses the private socket's auth (the sim's own words) on the live socket: not
    # a bad frame; the stream reconnects and authenticates again.
    assert system.control.inject_frame(AUTH_REFUSED)["sent"] == 1
    user = system.wait_for(lambda: (u := _streams(system)["user"])["reconnects"] == 1
                           and u["state"] == "connected" and u, "the re-authenticated stream",
                           30)
    assert "refused the authentication" in (user["last_error"] or ""), user
    assert user["bad_frames"] == bad and user["pid"] == pid, user
    assert system.control.state()["bybit_streams"]["private_authenticated"] == 1

    r = system.cli("open", FRESH, "--side", "short", "--qty", "0.100")

    assert r.returncode == 0, f"{r.stderr} {where}"
    row = system.wait_state(FRESH, "PROTECTED")
    resting = system.control.state()["open_algo_orders"]
    assert [venue.order_id(o["algoId"]) for o in resting if o["symbol"] == FRESH] == [
        row["stop_order_id"]], where
    assert [venue.order_id(o["algoId"]) for o in resting if o["symbol"] == HELD] == [
        held["stop_order_id"]], where
    assert system.symbols()[HELD]["state"] == "PROTECTED"


@pytest.mark.parametrize("venue", [BYBIT], ids=["bybit"])
def test_a_bybit_position_push_without_its_side_is_refused_not_read_as_a_flat_position(
        launched, venue):
    """Bybit always sends `side` (Buy, Sell, or "" with size 0 when flat: position.mdx). A
    row without it, or "" with a size, says nothing certain about the position: it must be a
    bad frame, never a close of the protected position (its stop cancelled)."""
    system = launched
    assert system.cli("open", HELD, "--side", "long", "--qty", "1").returncode == 0
    held = system.wait_state(HELD, "PROTECTED")
    before = _streams(system)["user"]
    no_side = {k: v for k, v in BYBIT_POSITION.items() if k != "side"}
    for row in (no_side, {**BYBIT_POSITION, "side": ""}):
        push = {"id": "fz", "topic": "position", "creationTime": 1795263300124, "data": [row]}
        assert system.control.inject_frame(json.dumps(push))["sent"] == 1

    user = _counted(system, "user", 0, before["frames"] + 2, "")
    after = system.symbols()[HELD]
    lost = system.control.state()["unprotected"]
    assert (after["state"], after["seq"], after["stop_order_id"]) == (
        "PROTECTED", held["seq"], held["stop_order_id"]), (after, lost, system.cli(
            "journal", HELD).stdout[-3000:])
    assert user["bad_frames"] == before["bad_frames"] + 2, user
    assert [venue.order_id(o["algoId"]) for o in system.control.state()["open_algo_orders"]
            if o["symbol"] == HELD] == [held["stop_order_id"]]
