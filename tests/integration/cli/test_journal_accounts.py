"""`posguard journal` per account: ACCOUNT:SYMBOL, the one account with rows, or refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from persistence.factory import attach, open_instance
from system.clock import SystemClock
from system.config import load_config

REPO = Path(__file__).resolve().parents[3]
TWO = """
exchanges:
  - account: main
  - account: by
    simulator: {seed: 2}
store: {sqlite_path: pg.sqlite3}
"""


def _journal(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "system.cli", "journal", *args, "--config",
                           str(config)], cwd=REPO, capture_output=True, text=True, timeout=60)


def _write(config: Path, rows: list[tuple[str, str, str]]) -> None:
    target = load_config(config).store_target()
    lock, holder = open_instance(target, SystemClock())
    seqs: dict[tuple[str, str], int] = {}
    for account, symbol, kind in rows:
        store = attach(target, holder.epoch, SystemClock(), account=account)
        n = seqs.get((account, symbol), 0)
        store.append(symbol, expected_seq=n, kind=kind, payload={}, state={"v": 1}, live=True,
                     correlation_id=f"{account}-{n}")
        seqs[(account, symbol)] = n + 1
        store.close()
    lock.release()


def test_journal_reads_the_named_or_the_only_account_and_refuses_an_ambiguous_symbol(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(TWO)
    _write(config, [("main", "BTCUSDT", "opened"), ("by", "BTCUSDT", "adopted"),
                    ("by", "BTCUSDT", "stop_placed"), ("by", "ETHUSDT", "adopted")])

    both = _journal(config, "BTCUSDT")
    named = _journal(config, "by:BTCUSDT", "--json")
    flag = _journal(config, "BTCUSDT", "--account", "main", "--json")
    only = _journal(config, "ETHUSDT")

    assert both.returncode == 2
    assert "BTCUSDT has journal rows on several accounts (by, main): name one" in both.stderr
    assert [(r["account"], r["kind"]) for r in json.loads(named.stdout)] == [
        ("by", "adopted"), ("by", "stop_placed")]
    assert [(r["account"], r["kind"]) for r in json.loads(flag.stdout)] == [("main", "opened")]
    assert only.returncode == 0 and only.stdout.splitlines()[0] == "account by"
    assert "adopted" in only.stdout


def test_with_the_single_exchange_section_the_journal_is_the_main_accounts(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("store: {sqlite_path: pg.sqlite3}\n")
    _write(config, [("main", "BTCUSDT", "opened")])

    r = _journal(config, "BTCUSDT", "--json")

    assert r.returncode == 0, r.stderr
    assert [(x["account"], x["symbol"], x["kind"]) for x in json.loads(r.stdout)] == [
        ("main", "BTCUSDT", "opened")]
