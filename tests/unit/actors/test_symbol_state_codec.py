"""The symbol snapshot codec (actors/symbol_state.py) reads what older posguard wrote.

Before its sub-states were typed, the reconcile's progress and the quarantine's
release-on-stop flag sat in a string-keyed `extra` dict. A snapshot of that form, stored by a
posguard that crashed mid-reconcile or mid-quarantine, must resume with the same meaning.
"""

from __future__ import annotations

from decimal import Decimal

from actors.protection import Side
from actors.symbol_state import (
    ReconcileProgress,
    State,
    StopOrder,
    SymbolState,
    from_dict,
    to_dict,
)
from persistence import codec

D = Decimal
PENDING = StopOrder("pg-7-BTCUSDT-sl-2", None, D("58800"), D("0.010"), "STOP_MARKET")


def _old_form(s: SymbolState, extra: dict) -> dict:
    """`s` as the old code encoded it: `extra` instead of the typed fields."""
    d = to_dict(s)
    del d["reconcile"], d["release_on_stop"]
    d["extra"] = extra
    return codec.decode(codec.encode(d))


def test_an_old_snapshot_mid_reconcile_resumes_with_its_refetch_progress():
    # Arrange: written while a reconcile had fetched twice and seen an event since
    s = SymbolState("BTCUSDT", State.RECONCILING, Side.LONG, D("0.010"), D("60000"))
    stored = _old_form(s, {"dirty": True, "refetches": 2})
    # Act
    back = from_dict(stored)
    # Assert
    assert back.reconcile == ReconcileProgress(dirty=True, refetches=2)
    assert back == s.replace(reconcile=ReconcileProgress(True, 2))


def test_an_old_snapshot_quarantined_over_an_unplaceable_stop_still_releases_on_the_stop():
    s = SymbolState("BTCUSDT", State.QUARANTINED, Side.LONG, D("0.010"), D("60000"),
                    pending_stop=PENDING, quarantine_reason="stop failed 3 times")
    back = from_dict(_old_form(s, {"release_on_stop": True, "dirty": False, "refetches": 0}))
    assert back.release_on_stop is True
    assert back == s.replace(release_on_stop=True)


def test_an_old_snapshot_with_an_empty_extra_reads_the_defaults():
    s = SymbolState("BTCUSDT", State.PROTECTED)
    assert from_dict(_old_form(s, {})) == s


def test_the_typed_sub_states_round_trip_through_the_codec():
    s = SymbolState("BTCUSDT", State.QUARANTINED, Side.SHORT, D("0.5"), D("100"),
                    reconcile=ReconcileProgress(True, 1), release_on_stop=True)
    assert from_dict(codec.decode(codec.encode(to_dict(s)))) == s
