"""The CLI names the account: ACCOUNT:SYMBOL / --account, resolution, exit code 2."""

from __future__ import annotations

import argparse

import pytest

from actors.messages import ActorEntry, SupervisorStatus
from system.admin import Admin, AdminError, AmbiguousSymbol, SymbolRef
from system.admin_commands import account_arg, ref_of, symbol_arg
from system.cli import UsageError, main


def test_a_symbol_may_carry_its_account():
    assert symbol_arg("btcusdt") == SymbolRef("BTCUSDT", None)
    assert symbol_arg("by:ethusdt") == SymbolRef("ETHUSDT", "by")
    assert str(SymbolRef("ETHUSDT", "by")) == "by:ETHUSDT"


@pytest.mark.parametrize("text", ["BY:BTCUSDT", "b-y:BTCUSDT", ":BTCUSDT", "by:", "by:BTC-USDT",
                                  "a:b:BTCUSDT"])
def test_a_bad_account_or_symbol_is_an_argument_error(text):
    with pytest.raises(argparse.ArgumentTypeError):
        symbol_arg(text)


def test_account_flag_agrees_with_the_symbols_account_or_is_refused():
    ns = argparse.Namespace(symbol=SymbolRef("BTCUSDT", None), account="by")
    assert ref_of(ns) == SymbolRef("BTCUSDT", "by")
    with pytest.raises(UsageError, match="names account 'main' but --account is 'by'"):
        ref_of(argparse.Namespace(symbol=SymbolRef("BTCUSDT", "main"), account="by"))
    with pytest.raises(argparse.ArgumentTypeError):
        account_arg("Main")


def _status(account: str, *symbols: str) -> SupervisorStatus:
    return SupervisorStatus(True, False, tuple(
        ActorEntry("symbol", s, 1, "PROTECTED", 0, None) for s in symbols), (), 0, 1, 3,
        account=account)


def _admin(monkeypatch, *statuses: SupervisorStatus) -> Admin:
    admin = Admin.__new__(Admin)  # no running system: only the resolution is under test
    admin.accounts = tuple(st.account for st in statuses)
    by_name = {st.account: st for st in statuses}
    monkeypatch.setattr(admin, "status", lambda account=None: by_name[account])
    return admin


def test_with_one_account_the_account_may_be_left_out(monkeypatch):
    admin = _admin(monkeypatch, _status("main"))
    assert admin.resolve(SymbolRef("BTCUSDT")) == ("main", "BTCUSDT")
    with pytest.raises(AmbiguousSymbol, match="account 'by' is not configured; configured: "
                                              "main"):
        admin.resolve(SymbolRef("BTCUSDT", "by"))


def test_with_several_accounts_the_one_that_has_the_symbol_is_used(monkeypatch):
    admin = _admin(monkeypatch, _status("main", "BTCUSDT"), _status("by", "ETHUSDT"))
    assert admin.resolve(SymbolRef("ETHUSDT")) == ("by", "ETHUSDT")
    assert admin.resolve(SymbolRef("BTCUSDT", "by")) == ("by", "BTCUSDT")  # named: as named


def test_a_symbol_on_several_accounts_is_refused_naming_them(monkeypatch):
    admin = _admin(monkeypatch, _status("main", "BTCUSDT"), _status("by", "BTCUSDT"))
    with pytest.raises(AmbiguousSymbol, match=r"BTCUSDT is on several accounts \(main, by\): "
                                              r"name one, e.g. main:BTCUSDT or --account main"):
        admin.resolve(SymbolRef("BTCUSDT"))


def test_a_symbol_no_account_has(monkeypatch):
    admin = _admin(monkeypatch, _status("main"), _status("by"))
    with pytest.raises(AdminError, match="no account has an actor for this symbol"):
        admin.resolve(SymbolRef("XRPUSDT"), must_exist=True)
    with pytest.raises(AmbiguousSymbol, match="none has it yet: name one"):
        admin.resolve(SymbolRef("XRPUSDT"))


def test_the_cli_exits_2_on_a_bad_account_argument(capsys):
    with pytest.raises(SystemExit) as e:
        main(["status", "B-Y:BTCUSDT"])
    assert e.value.code == 2
    assert "'B-Y' is not an account name" in capsys.readouterr().err
