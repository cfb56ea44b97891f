"""A newcomer's first run: `posguard run` with the shipped config shows protection at work.

The real launcher with its embedded simulator (paper mode, the shipped config.yaml), SQLite
in the test's folder, its own admin port. The simulator opens the demo positions outside
posguard, as the trader's own bot would; posguard adopts them by their stream events and
protects each with exactly one resting stop, which the simulator's own state confirms.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal

from system.launched import free_port
from system.processes import kill, system_pids
from tests.fixtures.engine import REPO
from tests.waiting import wait_for

POSGUARD = [sys.executable, "-m", "system.cli"]
ADOPTED_WITHIN_SECS = 45.0
LIVE_LINE = "symbols 3 | protected 3 | unprotected 0"


def _status(sets: list[str]) -> dict | None:
    r = subprocess.run([*POSGUARD, "status", "--json", "--timeout-secs", "2", *sets], cwd=REPO,
                       capture_output=True, text=True, timeout=30)
    return json.loads(r.stdout) if r.returncode == 0 else None


def _sim_state(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_sim/state", timeout=5) as r:
        return json.load(r)


def _post(url: str, path: str) -> None:
    req = urllib.request.Request(f"{url}{path}", data=b"{}", method="POST")
    with urllib.request.urlopen(req, timeout=5):
        pass


def _differences(status: dict | None, truth: dict) -> list[str]:
    """Where posguard's status and the exchange disagree: each symbol PROTECTED with exactly
    one stop resting on the simulator (the one status names), for the position's size."""
    out = [] if _all_protected(status) else [f"not all PROTECTED: {status}"]
    for row in (status or {}).get("symbols", []):
        sym = row["symbol"]
        resting = [str(o["algoId"]) for o in truth["open_algo_orders"] if o["symbol"] == sym]
        amt = sum(Decimal(p["positionAmt"]) for p in truth["positions"] if p["symbol"] == sym)
        signed = Decimal(row["qty"] or 0) * (1 if row["side"] == "long" else -1)
        if resting != [row["stop_order_id"]] or amt != signed:
            out.append(f"{sym}: resting {resting}, position {amt}; status {row}")
    return out


def _all_protected(status: dict | None) -> bool:
    rows = (status or {}).get("symbols", [])
    return len(rows) == 3 and all(s["state"] == "PROTECTED" for s in rows)


def test_a_first_run_adopts_the_demo_positions_and_protects_each_with_one_stop(tmp_path):
    port = free_port()
    sets = ["--set", f"actor_system.admin_port={port}",
            "--set", f"store.sqlite_path={tmp_path / 'posguard.sqlite3'}",
            "--set", f"actor_system.log_file={tmp_path / 'actors.log'}",
            "--set", "metrics.port=0", "--set", "status_page.port=0"]
    out_file = tmp_path / "run.out"  # a file: a pipe nobody drains could block the launcher
    with open(tmp_path / "run.err", "w") as err, open(out_file, "w") as out:
        proc = subprocess.Popen([*POSGUARD, "run", *sets], cwd=REPO, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, text=True)
    started = time.monotonic()
    try:
        deadline = started + ADOPTED_WITHIN_SECS

        def status_while_running():
            assert proc.poll() is None, (tmp_path / "run.err").read_text()[-3000:]
            return _status(sets)

        status = wait_for(_all_protected, ADOPTED_WITHIN_SECS, "adopted and protected", 0.5,
                          sample=status_while_running)
        adopted_secs = time.monotonic() - started
        url = status["exchange_url"]
        # The walk trends the demo symbols, so a trailing move may replace a stop between two
        # reads: stop it, then compare posguard's view with the exchange's once both settle.
        _post(url, "/_sim/pause")
        status, _ = wait_for(lambda seen: not seen[1], deadline + 10 - time.monotonic(),
                             "posguard's view to equal the exchange's", 0.5,
                             sample=lambda: (s := _status(sets), _differences(s, _sim_state(url))),
                             shown=lambda seen: seen[1])

        assert {s["side"] for s in status["symbols"]} == {"long", "short"}
        print(f"demo positions adopted and PROTECTED {adopted_secs:.1f} s after `posguard run`")
        wait_for(lambda text: LIVE_LINE in text, deadline + 10 - time.monotonic(),
                 "the launcher's live line (printed once a second)", 0.2,
                 sample=out_file.read_text)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(60)
        except subprocess.TimeoutExpired:
            kill(proc.pid)
            proc.wait(10)
            raise
        left = system_pids("127.0.0.1", port)
        for pid in left:
            kill(pid)
    assert rc == 0 and left == []
    out = out_file.read_text()
    lines = out.splitlines()
    assert lines[0].startswith("posguard paper | epoch 1 | exchange http://127.0.0.1:"), out

    def first(text: str) -> int:
        return next((i for i, line in enumerate(lines) if text in line), len(lines))
    # The start's progress, then the demo, then the live line with the positions in it (the
    # live line may start earlier on a slow machine: it is held back 3 s at most).
    assert first("nothing to recover") < len(lines), out
    assert first("markets loaded (8 symbols)") < first("demo: the simulator opened 3 positions") \
        < first("symbols 3 |") < len(lines), out
