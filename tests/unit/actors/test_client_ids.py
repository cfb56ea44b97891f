"""Unit tests for deterministic client order ids (actors/client_ids.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.client_ids import Purpose, account_tag, is_ours, parse, symbol_tag
from actors.client_ids import make as make_for
from venues.binance.adapter import CAPABILITIES

BINANCE_CHARSET = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
MAX_LEN = CAPABILITIES.client_id_max_len


def make(epoch: int, symbol: str, purpose: Purpose, n: int) -> str:
    """An id within Binance's limit, as the machine makes it for that venue."""
    return make_for(epoch, symbol, purpose, n, max_len=MAX_LEN)


def test_make_builds_epoch_symbol_purpose_and_counter():
    assert make(7, "BTCUSDT", Purpose.OPEN, 1) == "pg-7-BTCUSDT-op-1"


@pytest.mark.parametrize("purpose", list(Purpose))
def test_make_and_parse_round_trip(purpose):
    cid = make(12, "ETHUSDT", purpose, 345)
    parsed = parse(cid)
    assert parsed is not None
    assert (parsed.epoch, parsed.symbol_tag, parsed.purpose, parsed.n) == (
        12, "ETHUSDT", purpose, 345)


@given(epoch=st.integers(0, 10**6), n=st.integers(0, 10**6),
       symbol=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=20),
       purpose=st.sampled_from(list(Purpose)))
def test_any_id_fits_binance_limits_parses_back_and_is_ours(epoch, n, symbol, purpose):
    cid = make(epoch, symbol, purpose, n)
    assert len(cid) <= MAX_LEN and BINANCE_CHARSET.match(cid) and CAPABILITIES.client_id_ok(cid)
    parsed = parse(cid)
    assert parsed is not None and (parsed.epoch, parsed.purpose, parsed.n) == (epoch, purpose, n)
    assert is_ours(cid, symbol)


def test_a_20_character_symbol_is_replaced_by_its_stable_digest():
    symbol = "1000000BABYDOGEUSDTX"
    assert len(symbol) == 20
    cid = make(123456, symbol, Purpose.TRAILING, 99999)
    assert len(cid) <= 36
    assert cid == f"pg-123456-{symbol_tag(symbol)}-tr-99999"
    assert symbol_tag(symbol) == symbol_tag(symbol) and len(symbol_tag(symbol)) == 8
    assert is_ours(cid, symbol) and not is_ours(cid, "BTCUSDT")


def test_short_symbols_keep_their_name_in_the_id():
    assert make(1, "BTCUSDT", Purpose.STOP, 2).split("-")[2] == "BTCUSDT"


@pytest.mark.parametrize("cid", [
    "x-cvBPrNm97b8f79aee1fdb87b5e8e2f",  # another client (ccxt's default broker prefix)
    "pg-7-BTCUSDT-zz-1",                 # unknown purpose
    "pg-7-btcusdt-sl-1",                 # not an exchange symbol
    "pg-x-BTCUSDT-sl-1",
    "pg-7-BTCUSDT-sl-",
    "",
])
def test_ids_posguard_did_not_make_do_not_parse_and_are_not_ours(cid):
    assert parse(cid) is None
    assert not is_ours(cid, "BTCUSDT")


def test_an_id_of_another_symbol_is_not_ours():
    assert not is_ours(make(7, "ETHUSDT", Purpose.STOP, 1), "BTCUSDT")
    assert is_ours(make(3, "BTCUSDT", Purpose.STOP, 1), "BTCUSDT")  # any epoch


@pytest.mark.parametrize(("epoch", "n"), [(-1, 1), (1, -1)])
def test_negative_epoch_or_counter_is_refused(epoch, n):
    with pytest.raises(ValueError, match="must be >= 0"):
        make(epoch, "BTCUSDT", Purpose.STOP, n)


def test_a_venue_with_shorter_ids_gets_the_digest_sooner_and_never_a_longer_id():
    symbol = "1000BONKUSDT"
    assert make_for(7, symbol, Purpose.STOP, 1, max_len=36) == "pg-7-1000BONKUSDT-sl-1"
    short = make_for(7, symbol, Purpose.STOP, 1, max_len=18)
    assert short == f"pg-7-{symbol_tag(symbol)}-sl-1" and len(short) <= 18
    with pytest.raises(ValueError, match="exceeds 12 characters"):
        make_for(7, symbol, Purpose.STOP, 1, max_len=12)


# --------------------------------------------------------------------------- accounts

BYBIT_CHARSET = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


def test_an_id_names_its_account_after_the_prefix():
    cid = make_for(7, "BTCUSDT", Purpose.STOP, 3, max_len=36, account="by")
    assert cid == "pg-by-7-BTCUSDT-sl-3"
    parsed = parse(cid)
    assert parsed is not None
    assert (parsed.account_tag, parsed.epoch, parsed.symbol_tag, parsed.purpose, parsed.n) == (
        "by", 7, "BTCUSDT", Purpose.STOP, 3)


@given(account=st.from_regex(r"\A[a-z][a-z0-9]{0,11}\Z"), epoch=st.integers(0, 10**6),
       n=st.integers(0, 10**6),
       symbol=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=20),
       purpose=st.sampled_from(list(Purpose)))
def test_any_account_id_fits_both_venues_and_is_ours_only_for_its_account(
        account, epoch, n, symbol, purpose):
    from venues.bybit.adapter import CAPABILITIES as BYBIT
    cid = make_for(epoch, symbol, purpose, n, max_len=BYBIT.client_id_max_len, account=account)
    assert BYBIT_CHARSET.match(cid) and BINANCE_CHARSET.match(cid)
    assert BYBIT.client_id_ok(cid) and CAPABILITIES.client_id_ok(cid)
    parsed = parse(cid)
    assert parsed is not None and (parsed.epoch, parsed.purpose, parsed.n) == (epoch, purpose, n)
    assert is_ours(cid, symbol, account) and is_ours(cid, symbol)
    assert not is_ours(cid, symbol, "zz" if account != "zz" else "zy")


def test_a_long_account_with_a_long_symbol_and_large_counters_is_digested_last():
    cid = make_for(123456, "1000000BABYDOGEUSDTX", Purpose.TRAILING, 999999, max_len=36,
                   account="abcdefghijkl")
    assert len(cid) <= 36 and cid.split("-")[1] == account_tag("abcdefghijkl")
    assert is_ours(cid, "1000000BABYDOGEUSDTX", "abcdefghijkl")
    assert make_for(1, "BTCUSDT", Purpose.STOP, 1, max_len=36,
                    account="abcdefghijkl") == "pg-abcdefghijkl-1-BTCUSDT-sl-1"


def test_an_id_made_before_accounts_is_the_main_accounts():
    legacy = "pg-7-BTCUSDT-sl-1"
    parsed = parse(legacy)
    assert parsed is not None and parsed.account_tag is None
    assert is_ours(legacy, "BTCUSDT", "main") and is_ours(legacy, "BTCUSDT")
    assert not is_ours(legacy, "BTCUSDT", "by")


@pytest.mark.parametrize("account", ["", "By", "1ab", "a-b", "abcdefghijklm"])
def test_an_invalid_account_is_refused(account):
    with pytest.raises(ValueError, match="account"):
        make_for(1, "BTCUSDT", Purpose.STOP, 1, max_len=36, account=account)
