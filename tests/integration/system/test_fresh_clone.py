"""The README's run command works on a fresh clone: default config, paper mode, no keys."""

from __future__ import annotations

import os
import subprocess
import sys

from system.processes import system_pids
from tests.fixtures.engine import REPO, free_port


def test_posguard_run_from_a_fresh_clone_brings_the_paper_system_up_and_stops_cleanly(tmp_path):
    clone = tmp_path / "posguard"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{REPO}", str(clone)],
                   check=True, timeout=60)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(clone)}
    env.pop("POSGUARD_CONFIG", None)

    r = subprocess.run([sys.executable, "-m", "system.cli", "run", "--duration-secs", "8",
                        "--set", f"actor_system.admin_port={port}"], cwd=clone, env=env,
                       capture_output=True, text=True, timeout=120)

    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert lines[0].startswith("posguard paper | epoch 1 | exchange http://127.0.0.1:")
    assert any("user stream connected" in line for line in lines[1:]), r.stdout
    assert (clone / "var" / "posguard.sqlite3").exists()
    assert system_pids("127.0.0.1", port) == []
