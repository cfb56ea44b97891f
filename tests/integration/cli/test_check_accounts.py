"""`posguard check` with several accounts: each account checked on its own venue (Binance's
checks for main, Bybit's for by, each against its own embedded simulator)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CONFIG = """
mode: paper
exchanges:
  - account: main
    name: binanceusdm
  - account: by
    name: bybit
"""


def _check(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "system.cli", "check", "--config", str(config),
                           *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_check_looks_at_every_account_each_on_its_own_venue(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)

    every = _check(config)
    by = _check(config, "--account", "by", "--json")

    assert every.returncode == 0, every.stdout + every.stderr
    out = every.stdout
    assert out.splitlines()[0] == "account main (binanceusdm):"
    main_part, by_part = out.split("account by (bybit):")
    assert "binanceusdm venue simulator" in main_part and "futures" in main_part
    assert "bybit venue simulator" in by_part and "permissions" in by_part
    assert out.count("posguard check: all checks passed; no order was placed") == 2
    assert by.returncode == 0, by.stdout + by.stderr
    found = json.loads(by.stdout)
    assert (found["account"], found["exchange"], found["ok"]) == ("by", "bybit", True)
    unknown = _check(config, "--account", "zz")
    assert unknown.returncode == 2
    assert "account 'zz' is not configured; configured: main, by" in unknown.stderr


def test_a_symbol_one_venue_does_not_list_fails_that_account_only(tmp_path):
    """NOPEUSDT in protection.symbols, listed by neither simulator: each account's failure
    names the account and its exchange."""
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG + "protection:\n  symbols:\n    NOPEUSDT: {stop_loss_pct: 1.5}\n")
    r = _check(config)
    assert r.returncode == 1
    assert "FAIL    symbols: account 'main' (binanceusdm): NOPEUSDT not listed" in r.stdout
    assert "FAIL    symbols: account 'by' (bybit): NOPEUSDT not listed" in r.stdout
