"""The supervisor's child status table (actors/child_status.py) and its use in routing.Child."""

from __future__ import annotations

import pytest

from actors.child_status import TABLE, ChildEvent, ChildStatus, IllegalChildMove, move
from actors.routing import Child


def test_every_event_has_a_row_and_every_status_its_old_string():
    assert set(TABLE) == set(ChildEvent)
    assert [s.value for s in ChildStatus] == ["starting", "running", "restarting",
                                              "quarantined", "passivating", "passivated",
                                              "stopping"]


@pytest.mark.parametrize(("status", "event", "target"), [
    (ChildStatus.STARTING, ChildEvent.READY, ChildStatus.RUNNING),
    (ChildStatus.RUNNING, ChildEvent.IDLE, ChildStatus.PASSIVATING),
    (ChildStatus.PASSIVATING, ChildEvent.EXITED_IDLE, ChildStatus.PASSIVATED),
    (ChildStatus.PASSIVATED, ChildEvent.SPAWNED, ChildStatus.STARTING),
    (ChildStatus.RUNNING, ChildEvent.CRASHED, ChildStatus.RESTARTING),
    (ChildStatus.RESTARTING, ChildEvent.SPAWNED, ChildStatus.STARTING),
    (ChildStatus.STARTING, ChildEvent.QUARANTINED, ChildStatus.QUARANTINED),
    (ChildStatus.QUARANTINED, ChildEvent.SPAWNED, ChildStatus.STARTING),
    (ChildStatus.PASSIVATING, ChildEvent.STOPPED, ChildStatus.STOPPING),
])
def test_a_listed_move_leads_where_the_table_says(status, event, target):
    assert move(status, event) is target


@pytest.mark.parametrize(("status", "event"), [
    (ChildStatus.STOPPING, ChildEvent.SPAWNED),
    (ChildStatus.RESTARTING, ChildEvent.READY),
    (ChildStatus.STARTING, ChildEvent.IDLE),
    (ChildStatus.QUARANTINED, ChildEvent.CRASHED),
    (ChildStatus.PASSIVATED, ChildEvent.STOPPED),
    (ChildStatus.RUNNING, ChildEvent.EXITED_IDLE),
])
def test_an_unlisted_move_raises_naming_status_and_event(status, event):
    with pytest.raises(IllegalChildMove, match=f"{status.name} -> {event.name}"):
        move(status, event)


def test_a_child_moves_only_through_the_table():
    child = Child("BTCUSDT")

    child.move(ChildEvent.READY)
    child.move(ChildEvent.IDLE)
    with pytest.raises(IllegalChildMove, match="PASSIVATING -> READY"):
        child.move(ChildEvent.READY)

    assert child.status is ChildStatus.PASSIVATING and child.state == "PASSIVATED"
