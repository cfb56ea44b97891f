"""The launcher re-creates a dead supervisor, and never kills the children of a slow one."""

from __future__ import annotations

import os
import subprocess
import sys

from system.config import load_config
from system.kernel import Kernel
from tests.fixtures.engine import REPO


def test_a_slow_but_alive_supervisor_keeps_its_children_and_is_not_recreated():
    kernel = Kernel(load_config(REPO / "config.yaml"))
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        kernel.pids.add(os.getpid(), "supervisor", "main")  # alive: this process stands in
        kernel.pids.add(child.pid, "symbol", "main")

        kernel.recreate_supervisor()

        assert child.poll() is None, "a healthy child of a live supervisor was killed"
        assert kernel.supervisor_restarts == 0
    finally:
        child.kill()
        child.wait(5)


def test_restart_counts_the_launcher_saw_are_handed_to_the_next_supervisor(tmp_path):
    from types import SimpleNamespace

    from actors.messages import ActorEntry, SupervisorStatus
    kernel = Kernel(load_config(REPO / "config.yaml", [
        f"actor_system.log_file={tmp_path / 'actors.log'}"]))
    kernel.holder, kernel.external_url = SimpleNamespace(epoch=3), "http://127.0.0.1:9"
    for restarts in (2, 1):  # a later status of a re-created supervisor never lowers a count
        kernel._learn(SupervisorStatus(True, False, (
            ActorEntry("symbol", "BTCUSDT", None, "PROTECTED", restarts, None),
            ActorEntry("user_stream", None, None, "connected", 1, None),
            ActorEntry("exchange_worker", None, None, "running", 0, None)), (), 0, 0, 3))

    init = kernel.supervisor_init()

    assert sorted(init.restarts, key=str) == sorted(
        [("symbol", "BTCUSDT", 2), ("user_stream", None, 1)], key=str)
