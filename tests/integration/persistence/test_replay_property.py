"""Recovery equivalence: latest snapshot + replay of the rows after it == replay of all rows."""

from __future__ import annotations

import uuid
from functools import reduce

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from system.clock import ManualClock
from tests.integration.persistence.conftest import (
    ALL_BACKENDS,
    StoreCfg,
    attach,
    backend_cfg,
    open_instance,
)


@pytest.fixture(params=ALL_BACKENDS)
def store_backend(request: pytest.FixtureRequest, tmp_path) -> StoreCfg:
    """This suite runs on the memory store as well (overrides conftest's durable two)."""
    return backend_cfg(request, tmp_path)


INITIAL: dict = {"total": 0, "count": 0, "peak": 0, "last": None}

transitions = st.lists(
    st.tuples(st.sampled_from(["add", "sub", "note"]), st.integers(-1000, 1000),
              st.booleans()),  # (kind, value, write a snapshot with this row?)
    min_size=0, max_size=25)


def toy_reducer(state: dict, kind: str, payload: dict) -> dict:
    """A small deterministic state machine standing in for the symbol actor."""
    total = state["total"] + {"add": 1, "sub": -1, "note": 0}[kind] * payload["v"]
    return {"total": total, "count": state["count"] + 1, "peak": max(state["peak"], total),
            "last": kind}


def _replay(state: dict, rows) -> dict:
    return reduce(lambda s, r: toy_reducer(s, r.kind, r.payload), rows, state)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=transitions)
def test_snapshot_plus_tail_equals_full_replay(store_backend, steps):
    clock = ManualClock()
    lock, holder = open_instance(store_backend, clock)
    store = attach(store_backend, holder.epoch, clock)
    symbol = f"P{uuid.uuid4().hex[:10]}"  # one store per test, a fresh symbol per example
    try:
        model, seq = dict(INITIAL), 0
        for kind, value, snapshot in steps:
            model = toy_reducer(model, kind, {"v": value})
            seq = store.append(symbol, expected_seq=seq, kind=kind, payload={"v": value},
                               state=model if snapshot else None, live=True,
                               correlation_id=f"c{seq}")
        loaded = store.load(symbol)
        recovered = _replay(loaded.state if loaded.state is not None else dict(INITIAL),
                            loaded.tail)
        assert recovered == _replay(dict(INITIAL), store.journal(symbol)) == model
        assert loaded.seq == len(steps)
    finally:
        store.close()
        lock.release()
