"""The operator's output: the live status line and the status/actors tables."""

from __future__ import annotations

import dataclasses

from actors.messages import ActorEntry, StreamStatus, SupervisorStatus, SymbolView
from system.admin import STATUS_COLUMNS, symbol_row, table
from system.console import status_line


def _view(symbol: str, state: str) -> SymbolView:
    return SymbolView(symbol, state, "long", "1", "100", "101", "98", "7", "pg-1-X-sl-2", True,
                      "101", 9, None, 0, 4242)


def _entry(symbol: str, state: str, restarts: int = 0, reason: str | None = None,
           pid: int | None = 4242) -> ActorEntry:
    return ActorEntry("symbol", symbol, pid, state, restarts, reason, None, _view(symbol, state))


def test_status_line_counts_protection_states_restarts_and_stream_health():
    st = SupervisorStatus(True, False, (
        _entry("A", "PROTECTED"), _entry("B", "MOVING_STOP", restarts=2),
        _entry("C", "OPEN_UNPROTECTED"), _entry("D", "QUARANTINED"), _entry("E", "OPENING"),
        ActorEntry("exchange_pool", None, 1, "running", 1, None)),
        (StreamStatus("user", "connected", 5, 0, 1, 0, None),
         StreamStatus("market", "reconnecting", 9, 1, 3, 0, "closed", 4)), 0, 1, 7)

    line = status_line(st, supervisor_restarts=1)

    assert line == ("symbols 5 | protected 2 | UNPROTECTED 1 (C) | in flight 1 | quarantined 1 | "
                    "restarts 4 | user stream connected | market stream reconnecting (4 subs)")


def test_a_quarantined_symbol_without_an_actor_shows_its_reason_as_last_error():
    entry = ActorEntry("symbol", "X", None, "QUARANTINED", 3, "restarted 3 times", None, None)

    row = symbol_row(None, entry)

    assert (row["state"], row["pid"], row["last_error"], row["restarts"]) == (
        "QUARANTINED", None, "restarted 3 times", 3)


def test_table_aligns_columns_and_shows_missing_values_as_dashes():
    rows = [symbol_row(_view("BTCUSDT", "PROTECTED"), _entry("BTCUSDT", "PROTECTED"), "by")]

    lines = table(rows, STATUS_COLUMNS).splitlines()

    assert lines[0].split()[:4] == ["ACCOUNT", "SYMBOL", "STATE", "SIDE"]
    assert lines[1].split()[:5] == ["by", "BTCUSDT", "PROTECTED", "long", "1"]
    assert lines[1].rstrip().endswith("-")  # last_error missing
    assert lines[0].index("STATE") == lines[1].index("PROTECTED")


def test_status_line_names_every_unprotected_position_in_capitals_quarantined_included():
    naked = dataclasses.replace(_view("D", "QUARANTINED"), unprotected=True)
    st = SupervisorStatus(True, False, (
        _entry("A", "PROTECTED"),
        ActorEntry("symbol", "D", 4242, "QUARANTINED", 0, None, None, naked)), (), 0, 1, 7)

    line = status_line(st)

    assert "UNPROTECTED 1 (D)" in line, line
    assert "quarantined 1" in line
