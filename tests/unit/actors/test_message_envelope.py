"""The envelope: a message's id and engine time live in one base, keyword-only, with the
same names and defaults every message had before."""

from __future__ import annotations

import dataclasses
import inspect
from decimal import Decimal

import pytest

import actors.messages as messages
from actors.messages import Command, Envelope, MarkPrice, OpenPosition, PositionUpdate, StreamEvent

ENVELOPED = ("OpenPosition", "ClosePosition", "ReconcileRequest", "StateQuery", "TimingsQuery",
             "CommandResult", "StopCheck", "StatusQuery", "PositionUpdate", "OrderUpdate",
             "AlgoUpdate", "MarkPrice")
COMMANDS = ("OpenPosition", "ClosePosition", "ReconcileRequest")
STREAM = ("PositionUpdate", "OrderUpdate", "AlgoUpdate", "MarkPrice")


def keyword_only(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.kw_only}


@pytest.mark.parametrize("name", ENVELOPED)
def test_a_message_with_an_id_and_an_engine_time_gets_them_from_the_envelope(name):
    cls = getattr(messages, name)
    assert issubclass(cls, Envelope)
    assert {"msg_id", "engine_ms"} <= keyword_only(cls)
    # Declared once, in the base: no message repeats them.
    assert "msg_id" not in cls.__dict__.get("__annotations__", {})


@pytest.mark.parametrize("name", COMMANDS)
def test_a_command_carries_when_it_was_issued_as_a_keyword(name):
    assert issubclass(getattr(messages, name), Command)
    assert "event_ms" in keyword_only(getattr(messages, name))


@pytest.mark.parametrize("name", STREAM)
def test_a_stream_event_keeps_the_exchange_time_positional_and_the_read_time_keyword(name):
    cls = getattr(messages, name)
    assert issubclass(cls, StreamEvent)
    assert "received_mono" in keyword_only(cls)
    assert "event_ms" in inspect.signature(cls).parameters
    assert "event_ms" not in keyword_only(cls)


def test_envelope_fields_default_to_a_fresh_id_and_the_engine_time():
    a = OpenPosition("BTCUSDT", "long", Decimal(1), "c1")
    b = OpenPosition("BTCUSDT", "long", Decimal(1), "c1")
    assert a.msg_id != b.msg_id and len(a.msg_id) == 32
    assert a.engine_ms > 0 and a.event_ms > 0
    assert MarkPrice("BTCUSDT", Decimal(1), 5).received_mono == 0.0


def test_envelope_fields_cannot_be_passed_positionally():
    with pytest.raises(TypeError):
        PositionUpdate("BTCUSDT", Decimal(1), Decimal(2), "ORDER", 1, 2, "id")


def test_the_bases_are_frozen_and_slotted_too():
    for cls in (Envelope, Command, StreamEvent):
        assert cls.__dataclass_params__.frozen and "__slots__" in cls.__dict__
    event = MarkPrice("BTCUSDT", Decimal(1), 5, msg_id="m", engine_ms=6, received_mono=1.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.msg_id = "other"
    assert not hasattr(event, "__dict__")
