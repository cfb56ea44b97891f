"""The alert outbox (ops/alerts), one conformance suite on every backend."""

from __future__ import annotations

import pytest

from persistence.store import StoreUnavailable
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


def _add(store, text="BTCUSDT QUARANTINED", *, at_ms=1_000, channels=("webhook", "telegram"),
         kind="quarantined", symbol="BTCUSDT"):
    return store.add_alert(kind=kind, severity="critical", symbol=symbol, text=text,
                           payload={"resolved": False, "n": 1}, created_at_ms=at_ms,
                           channels=channels)


def test_an_added_alert_is_pending_on_every_channel_with_all_its_fields(opened):
    store = opened.store

    alert_id = _add(store, at_ms=1_500)

    for channel in ("webhook", "telegram"):
        (row,) = store.pending_alerts(channel, due_at_ms=1_500)
        assert (row.id, row.channel, row.kind, row.severity, row.symbol, row.text) == (
            alert_id, channel, "quarantined", "critical", "BTCUSDT", "BTCUSDT QUARANTINED")
        assert (row.payload, row.created_at_ms, row.attempts, row.next_at_ms,
                row.last_error, row.epoch) == ({"resolved": False, "n": 1}, 1_500, 0, 1_500,
                                               None, opened.holder.epoch)
    assert store.pending_alerts("other", due_at_ms=10**15) == []


def test_pending_alerts_come_oldest_first_up_to_the_limit(opened):
    store = opened.store
    ids = [_add(store, f"alert {i}", at_ms=1_000 + i) for i in range(5)]

    rows = store.pending_alerts("webhook", due_at_ms=10_000, limit=3)

    assert [r.id for r in rows] == ids[:3]
    assert ids == sorted(ids)


def test_a_failed_attempt_counts_keeps_the_error_and_waits_until_next_at(opened):
    store = opened.store
    first, second = _add(store, "a"), _add(store, "b")

    store.alert_attempt_failed("webhook", [first, second], error="connection refused",
                               next_at_ms=5_000)

    assert store.pending_alerts("webhook", due_at_ms=4_999) == []
    rows = store.pending_alerts("webhook", due_at_ms=5_000)
    assert [(r.id, r.attempts, r.last_error, r.next_at_ms) for r in rows] == [
        (first, 1, "connection refused", 5_000), (second, 1, "connection refused", 5_000)]
    # The other channel is untouched.
    assert [r.attempts for r in store.pending_alerts("telegram", due_at_ms=1_000)] == [0, 0]
    store.alert_attempt_failed("webhook", [first], error="HTTP 500", next_at_ms=9_000)
    (again,) = store.pending_alerts("webhook", due_at_ms=9_000, limit=1)
    assert (again.attempts, again.last_error) == (2, "HTTP 500")


def test_a_delivered_alert_is_no_longer_pending_on_that_channel_only(opened):
    store = opened.store
    done, left = _add(store, "a"), _add(store, "b")

    store.alerts_delivered("webhook", [done], delivered_at_ms=2_000)

    assert [r.id for r in store.pending_alerts("webhook", due_at_ms=10**15)] == [left]
    assert [r.id for r in store.pending_alerts("telegram", due_at_ms=10**15)] == [done, left]
    store.alerts_delivered("webhook", [], delivered_at_ms=2_000)  # nothing to mark: no error


def test_an_alert_with_no_channel_is_kept_but_never_pending(opened):
    store = opened.store

    alert_id = _add(store, channels=())

    assert alert_id >= 1
    assert store.pending_alerts("webhook", due_at_ms=10**15) == []


def test_pending_alerts_survive_closing_and_reopening_the_store(store_backend, clock):
    lock, holder = open_instance(store_backend, clock)
    try:
        store = attach(store_backend, holder.epoch, clock)
        alert_id = _add(store, "survives")
        store.alert_attempt_failed("webhook", [alert_id], error="down", next_at_ms=3_000)
        store.close()
    finally:
        lock.release()
    lock, holder = open_instance(store_backend, clock)  # a new instance: epoch + 1
    try:
        store = attach(store_backend, holder.epoch, clock)
        rows = store.pending_alerts("webhook", due_at_ms=3_000)
        assert [(r.id, r.text, r.attempts, r.epoch) for r in rows] == [
            (alert_id, "survives", 1, holder.epoch - 1)]
        store.close()
    finally:
        lock.release()


def test_outbox_calls_on_a_closed_store_raise_store_unavailable(opened):
    opened.store.close()
    with pytest.raises(StoreUnavailable):
        _add(opened.store)
    with pytest.raises(StoreUnavailable):
        opened.store.pending_alerts("webhook", due_at_ms=0)
