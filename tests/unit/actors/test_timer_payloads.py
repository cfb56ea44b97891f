"""Timer payloads are typed: every wakeupAfter in actors/ hands over a frozen dataclass of
actors.messages.timers, never a tuple, a string or a generic kind-tagged Timer."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import pathlib

import pytest

from actors.messages import timers

ACTORS = pathlib.Path(__file__).resolve().parents[3] / "actors"
PAYLOADS = [obj for _, obj in inspect.getmembers(timers, inspect.isclass)
            if obj.__module__ == timers.__name__]


def wakeup_payloads() -> list[tuple[str, ast.expr | None]]:
    """(where, payload expression) of every wakeupAfter call under actors/."""
    calls = []
    for path in sorted(ACTORS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "wakeupAfter":
                payload = next((k.value for k in node.keywords if k.arg == "payload"),
                               node.args[1] if len(node.args) > 1 else None)
                calls.append((f"{path.name}:{node.lineno}", payload))
    return calls


def test_every_timer_payload_is_a_frozen_slotted_dataclass():
    assert len(PAYLOADS) >= 10
    for cls in PAYLOADS:
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls
        assert "__slots__" in cls.__dict__, cls


def test_there_is_no_generic_kind_tagged_timer_left():
    assert not any("kind" in {f.name for f in dataclasses.fields(c)} for c in PAYLOADS)


def test_no_wakeup_in_actors_hands_over_a_tuple_a_string_or_a_bare_name():
    names = {c.__name__ for c in PAYLOADS}
    wrong = []
    for where, payload in wakeup_payloads():
        if payload is None:
            continue  # a bare wakeup (the pool's pacing timer: any wakeup dispatches)
        if isinstance(payload, ast.Call) and isinstance(payload.func, ast.Name) \
                and payload.func.id in names:
            continue
        if isinstance(payload, ast.Name) and payload.id in ("payload", "t"):
            continue  # a timer re-armed with the payload it just fired with
        wrong.append((where, ast.unparse(payload)))
    assert wrong == []


def test_the_same_timer_compares_equal_and_another_does_not():
    assert timers.ViewRefresh() == timers.ViewRefresh()
    assert timers.Reconnect(gen=2) != timers.Reconnect(gen=3)
    assert timers.Respawn(gen=1, symbol="BTCUSDT") != timers.Respawn(gen=1, symbol="ETHUSDT")
    assert timers.PoolSweep() != timers.LimitsRetry()


@pytest.mark.parametrize("cls", PAYLOADS, ids=lambda c: c.__name__)
def test_a_timer_payload_is_exported_by_actors_messages(cls):
    import actors.messages
    assert getattr(actors.messages, cls.__name__) is cls
