"""Direct routing of user-stream events, and the dead-letter path that keeps it lossless.

The user-stream actor sends an event straight to the symbol's actor when the supervisor's
routing table has it; an event sent to an actor that died comes back to the supervisor as a
Thespian DeadEnvelope and must reach the replacement (never dropped, I-5). No actor system:
the handlers are called directly and `send` is recorded.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from thespian.actors import DeadEnvelope

from actors.child_status import ChildStatus
from actors.messages import AlgoUpdate, Forward, MarkPrice, Subscriptions
from actors.supervisor import Supervisor
from actors.user_stream import UserStreamActor
from tests.unit.actors.test_stream_received_mono import SETTINGS as STREAM_SETTINGS
from tests.unit.actors.test_supervisor_table import _Addr


def _algo(symbol: str = "BTCUSDT") -> AlgoUpdate:
    return AlgoUpdate(symbol, "pg-1-BTCUSDT-sl-2", "4000000001", "STOP_MARKET", "SELL",
                      "CANCELED", Decimal("59000"), Decimal("0.010"), False, "", 1)


def _supervisor() -> tuple[Supervisor, list[tuple[Any, Any]]]:
    sup = Supervisor()
    sent: list[tuple[Any, Any]] = []
    sup.send = lambda to, msg: sent.append((to, msg))  # type: ignore[method-assign]
    return sup, sent


def test_a_dead_letter_for_an_actor_not_yet_known_dead_waits_for_the_replacement():
    sup, sent = _supervisor()
    child = sup.routes.add("BTCUSDT")
    child.address, child.status = _Addr(1), ChildStatus.RUNNING
    event = _algo()

    sup.receiveMsg_DeadEnvelope(DeadEnvelope(_Addr(1), event), None)

    assert sent == []  # not sent to the dead address again
    assert child.pending == [(event, None)]  # delivered by _spawn to the replacement


def test_a_dead_letter_goes_to_the_replacement_once_it_runs():
    sup, sent = _supervisor()
    child = sup.routes.add("BTCUSDT")
    # already restarted: a new address
    child.address, child.status = _Addr(2), ChildStatus.RUNNING
    event = _algo()

    sup.receiveMsg_DeadEnvelope(DeadEnvelope(_Addr(1), event), None)

    assert sent == [(_Addr(2), event)]


def test_a_dead_letter_while_restarting_is_queued():
    sup, sent = _supervisor()
    child = sup.routes.add("BTCUSDT")
    child.address, child.status = None, ChildStatus.RESTARTING
    event = _algo()

    sup.receiveMsg_DeadEnvelope(DeadEnvelope(_Addr(1), event), None)

    assert sent == [] and child.pending == [(event, None)]


def test_dead_ticks_and_other_messages_are_not_routed_again():
    sup, sent = _supervisor()
    child = sup.routes.add("BTCUSDT")
    child.address, child.status = _Addr(2), ChildStatus.RUNNING

    sup.receiveMsg_DeadEnvelope(DeadEnvelope(_Addr(1), MarkPrice("BTCUSDT", Decimal(1), 1)),
                                None)
    sup.receiveMsg_DeadEnvelope(DeadEnvelope(_Addr(1), Forward(object(), _Addr(9))), None)

    assert sent == [] and child.pending == []


def test_the_user_stream_sends_to_the_routed_actor_and_the_rest_to_the_supervisor():
    actor = UserStreamActor()
    sent: list[tuple[Any, Any]] = []
    actor.send = lambda to, msg: sent.append((to, msg))  # type: ignore[method-assign]
    actor.parent_addr = _Addr(0)
    actor.settings = STREAM_SETTINGS  # the venue that parses the frames
    actor.receiveMsg_Subscriptions(Subscriptions((("BTCUSDT", _Addr(1)),)), _Addr(0))
    frame = ('{"e":"ALGO_UPDATE","E":1,"T":1,"o":{"caid":"pg-1-%s-sl-2","aid":4000000001,'
             '"at":"CONDITIONAL","o":"STOP_MARKET","s":"%s","S":"SELL","ps":"BOTH","f":"GTC",'
             '"q":"0.010","p":"0","tp":"59000","sp":"0","wt":"MARK_PRICE","pm":"NONE",'
             '"ap":"0","aq":"0","X":"CANCELED","R":true,"cp":false,"pP":false,"V":"NONE",'
             '"ut":1,"rm":""}}')

    actor.on_text(frame % ("BTCUSDT", "BTCUSDT"), 1.0)
    actor.on_text(frame % ("ETHUSDT", "ETHUSDT"), 2.0)

    assert [(to, msg.symbol) for to, msg in sent] == [(_Addr(1), "BTCUSDT"),
                                                      (_Addr(0), "ETHUSDT")]
