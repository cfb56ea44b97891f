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
        kernel.pids.add(os.getpid(), "supervisor")  # alive: this process stands in for it
        kernel.pids.add(child.pid, "symbol")

        kernel.recreate_supervisor()

        assert child.poll() is None, "a healthy child of a live supervisor was killed"
        assert kernel.supervisor_restarts == 0
    finally:
        child.kill()
        child.wait(5)
