"""Fuzzed user-stream frames against the running system: counted, never fatal, never applied.

A seeded generator (seed in every failure message; POSGUARD_FUZZ_SEED replays one) builds
frames that are malformed by construction: random bytes, truncated JSON, deep nesting, wrong
types, missing fields, numbers no exchange sends. They go, raw, to the system's user stream
(`/_sim/fault/inject_frame`) mixed with events posguard does not know (valid, ignored). The
user-stream actor must keep its process, `status --json` must count exactly the malformed
ones as bad frames, the open symbol must not move (same seq, same stop), and a new symbol
must still open and be protected.
"""

from __future__ import annotations

import copy
import json
import os
import random
from collections.abc import Callable
from typing import Any

from tests.fixtures.launcher import Launched
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
