"""Supervisor bookkeeping without an actor system: poison counting and operator-visible state."""

from __future__ import annotations

from thespian.actors import PoisonMessage

from actors.child_status import ChildStatus
from actors.messages import OpenPosition
from actors.routing import Child, Routes
from actors.supervisor import Supervisor


class _Addr:
    """Stands in for an ActorAddress: equality only, no hash (like Thespian's)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Addr) and other.n == self.n

    __hash__ = None  # type: ignore[assignment]


def test_a_poison_message_is_counted_for_its_actor_and_shown_in_its_entry():
    sup = Supervisor()
    child = sup.routes.add("BTCUSDT")
    child.address, child.status = _Addr(1), "running"

    sup.receiveMsg_PoisonMessage(PoisonMessage(OpenPosition("BTCUSDT", "long", 1, "c"), "boom"),
                                 _Addr(1))

    st = sup._status()
    assert st.poison_messages == 1
    assert [e.poison_messages for e in st.actors if e.symbol == "BTCUSDT"] == [1]


def test_routes_find_children_by_address_equality_not_identity():
    routes = Routes()
    routes.add("A").address = _Addr(1)
    routes.add("B").address = _Addr(2)

    assert routes.by_address(_Addr(2)).symbol == "B"
    assert routes.by_address(_Addr(3)) is None


def test_a_child_without_an_actor_shows_why_and_no_pid():
    for status, shown in ((ChildStatus.QUARANTINED, "QUARANTINED"),
                          (ChildStatus.PASSIVATED, "PASSIVATED"),
                          (ChildStatus.RESTARTING, "RESTARTING")):
        why = "why" if status == ChildStatus.QUARANTINED else None
        entry = Child("X", address=_Addr(1), status=status, pid=7, quarantine_reason=why).entry()
        assert (entry.state, entry.pid, entry.address) == (shown, None, None)
        assert entry.last_exit_reason == ("why" if status == ChildStatus.QUARANTINED else None)
