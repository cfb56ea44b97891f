"""The message package: every name the old single module exported, every message a frozen
slotted dataclass, and messages that still pickle by their class's module (Thespian)."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import pickle
from decimal import Decimal

import pytest

import actors.messages as messages
from actors.messages import ExchangeRequest, PlaceStop, PositionUpdate, Respawn, SymbolView

# Every public name `actors/messages.py` defined before it became a package (git show
# HEAD~:actors/messages.py); each must still import from `actors.messages`. Except Timer,
# the generic kind-tagged timer payload: one type per timer replaced it (REPLACED).
OLD_NAMES = (
    "new_id", "now_ms", "OpenPosition", "ClosePosition", "ReconcileRequest", "StateQuery",
    "TimingsQuery", "SymbolTimings", "CommandResult", "SymbolView", "SymbolCounters",
    "PositionUpdate", "OrderUpdate", "AlgoUpdate", "MarkPrice", "STREAM_EVENTS", "FailureKind",
    "ExchangeFailure", "RateUsage", "FetchLimits", "AccountLimits", "PlaceMarket", "PlaceStop",
    "CancelStop", "LookupOrder", "FetchSymbol", "StopRef", "StopOutcome", "ExchangeRequest",
    "RequestHeld", "OrderInfo", "SymbolSnapshot", "ExchangeReply", "MarketRulesInfo",
    "ExchangeSettings", "PoolInit", "WorkerInit", "WorkerIdle", "PoolStatus", "SymbolInit",
    "Ready", "Retry", "FetchPositions", "PositionInfo", "FetchAccount", "AccountSnapshot",
    "StopCheck", "StreamSettings", "SupervisorInit", "ChildFailing", "ParentCheck",
    "Where", "Located", "StatusQuery", "ActorEntry", "StreamStatus", "SupervisorStatus",
    "RestartSymbol", "RestartDone", "ShutdownRequest", "ShutdownAccepted", "StreamConnected",
    "Subscriptions", "Started", "MarketsLoaded", "WorkerGone", "Forward",
)
REPLACED = ("Timer",)

MESSAGE_CLASSES = sorted(
    (obj for name in messages.__all__ if inspect.isclass(obj := getattr(messages, name))
     and not issubclass(obj, enum.Enum)), key=lambda c: c.__name__)


@pytest.mark.parametrize("name", OLD_NAMES)
def test_every_name_of_the_old_module_still_imports_from_actors_messages(name):
    assert name in messages.__all__
    obj = getattr(messages, name)
    # The journal records an operation by its class name (`type(op).__name__`): unchanged.
    assert getattr(obj, "__name__", name) == name


def test_the_replaced_generic_timer_is_gone():
    assert not any(hasattr(messages, name) for name in REPLACED)


def test_the_package_exports_nothing_it_does_not_define():
    assert len(set(messages.__all__)) == len(messages.__all__)
    assert all(hasattr(messages, name) for name in messages.__all__)


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda c: c.__name__)
def test_every_message_is_a_frozen_slotted_dataclass(cls):
    assert dataclasses.is_dataclass(cls)
    assert cls.__dataclass_params__.frozen
    assert "__slots__" in cls.__dict__ and "__dict__" not in dir(cls)


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda c: c.__name__)
def test_every_message_lives_at_the_top_level_of_an_importable_module(cls):
    # pickle finds a class by module and qualified name; a nested or renamed one would not load.
    module = __import__(cls.__module__, fromlist=["_"])
    assert getattr(module, cls.__qualname__) is cls
    assert cls.__module__.startswith(("actors.messages.", "venue."))


def test_the_venue_types_live_in_the_venue_package():
    for name in ("PositionUpdate", "OrderUpdate", "AlgoUpdate", "MarkPrice"):
        assert getattr(messages, name).__module__ == "venue.events"
    for name in ("PlaceMarket", "PlaceStop", "CancelStop", "LookupOrder", "FetchSymbol",
                 "FetchPositions", "FetchAccount", "FetchLimits"):
        assert getattr(messages, name).__module__ == "venue.requests"
    for name in ("OrderInfo", "SymbolSnapshot", "MarketRulesInfo", "PositionInfo",
                 "AccountSnapshot", "AccountLimits", "StopOutcome"):
        assert getattr(messages, name).__module__ == "venue.replies"
    for name in ("FailureKind", "ExchangeFailure", "RateUsage"):
        assert getattr(messages, name).__module__ == "venue.errors"


@pytest.mark.parametrize("msg", [
    PositionUpdate("BTCUSDT", Decimal("0.5"), Decimal("100"), "ORDER", 1, 2, received_mono=3.5),
    ExchangeRequest("r1", PlaceStop("BTCUSDT", "SELL", Decimal(1), "pg-1-BTCUSDT-stop-1",
                                    "STOP_MARKET", Decimal("90"), "MARK_PRICE"), None),
    SymbolView("BTCUSDT", "FLAT", None, "0", None, None, None, None, None, False, None, 3, None,
               0, 42),
    Respawn(2, "BTCUSDT"),
], ids=lambda m: type(m).__name__)
def test_a_message_survives_pickling_unchanged(msg):
    assert pickle.loads(pickle.dumps(msg)) == msg


def test_failure_kind_values_are_the_journaled_strings():
    # Counters and journal rows store FailureKind by value.
    assert {k.value for k in messages.FailureKind} == {
        "temporary", "unknown", "would_trigger", "rejected", "not_found", "halt"}
