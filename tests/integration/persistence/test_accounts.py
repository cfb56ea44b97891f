"""Stores scoped to one account on one database: one conformance suite on every backend.

Two accounts may hold the same symbol (BTCUSDT on Binance and on Bybit): each has its own
journal, seqs and snapshot; the store-wide reads (live_accounts, symbol_accounts, the outbox)
see every account.
"""

from __future__ import annotations

import pytest

from persistence.store import UnlistedAccount, check_live_accounts
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


@pytest.fixture
def two(opened, clock):
    """The opened instance's store (account main) and one scoped to account 'by'."""
    other = attach(opened.cfg, opened.holder.epoch, clock, account="by")
    yield opened.store, other
    other.close()


def _append(store, symbol, expected_seq, *, live=True, kind="tick"):
    return store.append(symbol, expected_seq=expected_seq, kind=kind,
                        payload={"account": store.account}, state={"at": expected_seq + 1},
                        live=live, correlation_id=f"{store.account}-{expected_seq + 1}")


def test_a_store_says_which_account_it_is_scoped_to(two):
    main, other = two
    assert (main.account, other.account) == ("main", "by")


def test_the_same_symbol_on_two_accounts_has_two_journals_with_their_own_seqs(two):
    main, other = two
    assert [_append(main, "BTCUSDT", i) for i in range(3)] == [1, 2, 3]
    assert _append(other, "BTCUSDT", 0, kind="opened") == 1

    assert [(r.account, r.seq, r.payload) for r in other.journal("BTCUSDT")] == [
        ("by", 1, {"account": "by"})]
    assert [r.account for r in main.journal("BTCUSDT")] == ["main"] * 3
    assert (main.load("BTCUSDT").seq, other.load("BTCUSDT").seq) == (3, 1)
    assert other.load("BTCUSDT").state == {"at": 1}
    assert [r.account for r in main.load("BTCUSDT").tail] == []


def test_live_symbols_are_the_accounts_own_and_live_accounts_lists_every_account(two):
    main, other = two
    _append(main, "BTCUSDT", 0)
    _append(main, "ETHUSDT", 0, live=False)
    _append(other, "XRPUSDT", 0)
    _append(other, "BTCUSDT", 0)

    assert main.live_symbols() == ["BTCUSDT"]
    assert other.live_symbols() == ["BTCUSDT", "XRPUSDT"]
    assert main.live_accounts() == other.live_accounts() == {
        "by": ["BTCUSDT", "XRPUSDT"], "main": ["BTCUSDT"]}


def test_an_account_whose_symbols_all_went_flat_is_not_a_live_account(two):
    main, other = two
    _append(other, "BTCUSDT", 0)
    _append(other, "BTCUSDT", 1, live=False)
    assert main.live_accounts() == {}


def test_symbol_accounts_names_every_account_with_journal_rows_for_the_symbol(two):
    main, other = two
    _append(other, "BTCUSDT", 0, live=False)
    _append(main, "BTCUSDT", 0)
    _append(main, "ETHUSDT", 0)

    assert main.symbol_accounts("BTCUSDT") == other.symbol_accounts("BTCUSDT") == ["by", "main"]
    assert other.symbol_accounts("ETHUSDT") == ["main"]
    assert main.symbol_accounts("NOPEUSDT") == []


def test_an_alert_keeps_the_account_it_is_about_and_every_account_s_alerts_are_pending(two):
    main, other = two
    ids = [main.add_alert(kind="quarantined", severity="critical", symbol="BTCUSDT",
                          text=f"{account}:BTCUSDT QUARANTINED", payload={}, created_at_ms=10,
                          channels=("webhook",), account=account)
           for account in ("by", "main", None)]

    rows = other.pending_alerts("webhook", due_at_ms=10)

    assert [(r.id, r.account, r.text) for r in rows] == [
        (ids[0], "by", "by:BTCUSDT QUARANTINED"), (ids[1], "main", "main:BTCUSDT QUARANTINED"),
        (ids[2], None, "None:BTCUSDT QUARANTINED")]


@pytest.mark.parametrize("bad", ["", "Main", "1abc", "abcdefghijklm", "a-b", "a:b"])
def test_a_store_for_an_account_name_config_would_refuse_is_refused(store_backend, clock, bad):
    lock, holder = open_instance(store_backend, clock)
    try:
        with pytest.raises(ValueError, match="account"):
            attach(store_backend, holder.epoch, clock, account=bad)
    finally:
        lock.release()


def test_an_alert_for_a_bad_account_name_is_refused_before_anything_is_written(two):
    main, _ = two
    with pytest.raises(ValueError, match="account 'By'"):
        main.add_alert(kind="k", severity="info", symbol=None, text="t", payload={},
                       created_at_ms=1, channels=("webhook",), account="By")
    assert main.pending_alerts("webhook", due_at_ms=10) == []


def test_the_start_check_passes_when_every_account_with_live_symbols_is_configured(two):
    main, other = two
    _append(main, "BTCUSDT", 0)
    _append(other, "ETHUSDT", 0, live=False)  # flat: "by" need not be configured

    check_live_accounts(main, ["main", "bn"])


def test_the_start_check_refuses_live_symbols_of_an_unlisted_account_naming_them(two):
    main, other = two
    _append(main, "BTCUSDT", 0)
    _append(other, "XRPUSDT", 0)
    _append(other, "ETHUSDT", 0)

    with pytest.raises(UnlistedAccount) as err:
        check_live_accounts(main, ("main",))

    assert 'account "by": ETHUSDT, XRPUSDT' in str(err.value)
    assert "configured: main" in str(err.value) and "main\": " not in str(err.value)


def test_symbol_accounts_on_a_store_without_any_journal_row_is_empty(opened):
    assert opened.store.symbol_accounts("BTCUSDT") == []
