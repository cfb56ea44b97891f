"""A SQLite store never imports psycopg: each actor process would carry it (issue 15).

Checked in a clean interpreter (a subprocess), since this test process may have imported
psycopg for other tests already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SQLITE_ROUND_TRIP = textwrap.dedent("""
    import json, sys
    from types import SimpleNamespace
    from persistence.factory import StoreFactory, open_instance
    from system.clock import ManualClock
    cfg = SimpleNamespace(backend="sqlite", sqlite_path=sys.argv[1], postgres_dsn=None)
    lock, holder = open_instance(cfg, ManualClock())
    store = StoreFactory(cfg)(holder.epoch, ManualClock())
    store.load("BTCUSDT")
    store.close()
    lock.release()
    print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "psycopg"
                            or m == "persistence.postgres")))
""")


def _run(code: str, *args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_sqlite_instance_and_store_never_import_psycopg(tmp_path):
    assert _run(SQLITE_ROUND_TRIP, str(tmp_path / "s.sqlite3")) == []


def test_the_probe_sees_psycopg_when_the_postgres_backend_is_imported():
    # The same check on the PostgreSQL module must find it: the test above can fail.
    code = ("import json, sys; import persistence.postgres; print(json.dumps(sorted("
            "m for m in sys.modules if m == 'psycopg' or m == 'persistence.postgres')))")
    assert _run(code) == ["persistence.postgres", "psycopg"]
