"""The one Lifecycle base of every posguard actor: its guarded receive, without processes.

Actors are constructed directly (no actor system), so `myAddress` is unset and nothing can
end this process: the tests also prove that dying outside a Thespian actor process never
reaches os._exit (it would end pytest with exit code 0).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from thespian.actors import ActorExitRequest, ChildActorExited

from actors.exchange_worker import ExchangePool, ExchangeWorker
from actors.lifecycle import Lifecycle
from actors.market_stream import MarketStreamActor
from actors.messages import ChildFailing
from actors.supervisor import Supervisor
from actors.symbol import SymbolActor
from actors.user_stream import UserStreamActor

EVERY_ACTOR = (Supervisor, SymbolActor, ExchangePool, ExchangeWorker, MarketStreamActor,
               UserStreamActor)


@dataclass(frozen=True, slots=True)
class Nonsense:
    """A message no posguard actor handles."""


@dataclass(frozen=True, slots=True)
class Boom:
    """A message whose handler raises."""


class Crasher(Lifecycle):
    """A Lifecycle actor with one handler that raises."""

    def receiveMsg_Boom(self, msg: Boom, sender: Any) -> None:
        """Raise."""
        raise RuntimeError("boom")


def _recorded(actor: Any) -> list[tuple[Any, Any]]:
    sent: list[tuple[Any, Any]] = []
    actor.send = lambda to, msg: sent.append((to, msg))
    actor.wakeupAfter = lambda delay, payload=None: None
    return sent


@pytest.mark.parametrize("cls", EVERY_ACTOR, ids=lambda c: c.__name__)
def test_every_actor_is_a_lifecycle_actor(cls):
    assert issubclass(cls, Lifecycle)


@pytest.mark.parametrize("cls", EVERY_ACTOR, ids=lambda c: c.__name__)
def test_an_unexpected_message_is_logged_with_its_type_and_sender(cls, caplog):
    actor = cls()
    _recorded(actor)

    with caplog.at_level(logging.WARNING):
        actor.receiveMessage(Nonsense(), "the-sender")

    assert f"{cls.__name__}: unexpected message Nonsense from the-sender" in caplog.text


def test_thespians_exit_notices_are_not_taken_for_unexpected_messages(caplog):
    actor = Crasher()
    _recorded(actor)

    with caplog.at_level(logging.DEBUG):
        actor.receiveMessage(ActorExitRequest(), "admin")
        actor.receiveMessage(ChildActorExited("child"), "admin")

    assert "unexpected" not in caplog.text


def test_an_exception_in_a_handler_ends_the_actor_and_tells_its_parent_why():
    actor = Crasher()
    sent = _recorded(actor)
    actor.parent_addr = "parent"
    timers = threading.active_count()

    actor.receiveMessage(Boom(), "someone")

    assert sent == [("parent", ChildFailing(None, "crashed on Boom: RuntimeError: boom"))]
    assert actor.dying == "crashed on Boom: RuntimeError: boom"
    assert threading.active_count() == timers, "an exit timer outside an actor process"


def test_a_dying_actor_handles_nothing_more(caplog):
    actor = Crasher()
    sent = _recorded(actor)
    actor.receiveMessage(Boom(), "someone")

    with caplog.at_level(logging.WARNING):
        actor.receiveMessage(Nonsense(), "someone")
        actor.receiveMessage(Boom(), "someone")

    assert sent == [] and "unexpected" not in caplog.text


class CrashingSupervisor(Supervisor):
    """A supervisor with one handler that raises."""

    def receiveMsg_Boom(self, msg: Boom, sender: Any) -> None:
        """Raise."""
        raise ZeroDivisionError("boom")


def test_a_supervisor_crash_outside_an_actor_process_does_not_end_this_process():
    sup = CrashingSupervisor()
    _recorded(sup)

    sup.receiveMessage(Boom(), "someone")

    assert sup.dying is not None and "ZeroDivisionError" in sup.dying


def test_a_pool_takes_its_dying_workers_reason_as_expected_news(caplog):
    from tests.unit.actors.test_exchange_pool import PoolHarness
    h = PoolHarness(workers=1)

    with caplog.at_level(logging.WARNING):
        h.pool.receiveMessage(ChildFailing(None, "crashed on WorkerInit: KeyError: 'K'"), "w0")

    assert "unexpected" not in caplog.text
    assert "exiting: crashed on WorkerInit: KeyError: 'K'" in caplog.text
