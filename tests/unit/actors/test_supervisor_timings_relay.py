"""The supervisor relays TimingsQuery exactly as it relays StateQuery (no actor system)."""

from __future__ import annotations

from typing import Any

import pytest

from actors.child_status import ChildStatus
from actors.messages import ActorEntry, Forward, Located, StateQuery, TimingsQuery
from actors.supervisor import Supervisor
from tests.unit.actors.test_supervisor_table import _Addr

CLI = _Addr(99)


def _supervisor() -> tuple[Supervisor, list[tuple[Any, Any]]]:
    sup = Supervisor()
    sent: list[tuple[Any, Any]] = []
    sup.send = lambda to, msg: sent.append((to, msg))  # type: ignore[method-assign]
    return sup, sent


def _answer(query: StateQuery | TimingsQuery, status: str | None) -> tuple[Any, Any]:
    sup, sent = _supervisor()
    if status is not None:
        child = sup.routes.add("BTCUSDT")
        child.address, child.status = _Addr(1), status
        if status == ChildStatus.QUARANTINED:
            child.quarantine_reason = "restarted 3 times"
    handler = (sup.receiveMsg_TimingsQuery if isinstance(query, TimingsQuery)
               else sup.receiveMsg_StateQuery)
    handler(query, CLI)
    assert len(sent) == 1
    return sent[0]


@pytest.mark.parametrize("status", [ChildStatus.RUNNING, ChildStatus.STARTING])
def test_a_timings_query_goes_to_the_live_actor_wrapped_for_the_asker(status):
    query = TimingsQuery("BTCUSDT")

    to, msg = _answer(query, status)

    assert to == _Addr(1)
    assert isinstance(msg, Forward) and msg.payload is query and msg.reply_to == CLI


@pytest.mark.parametrize("status", [None, ChildStatus.QUARANTINED, ChildStatus.PASSIVATED])
def test_without_a_live_actor_a_timings_query_is_answered_like_a_state_query(status):
    to, timings_answer = _answer(TimingsQuery("BTCUSDT"), status)
    _, state_answer = _answer(StateQuery("BTCUSDT"), status)

    assert to == CLI
    assert timings_answer == state_answer
    assert isinstance(timings_answer, Located if status is None else ActorEntry)


def test_a_timings_query_never_creates_an_actor():
    sup, _ = _supervisor()

    sup.receiveMsg_TimingsQuery(TimingsQuery("BTCUSDT"), CLI)

    assert sup.routes.get("BTCUSDT") is None
