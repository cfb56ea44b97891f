"""Child process for the lock tests: open an instance, report, then hold it until killed."""

from __future__ import annotations

import json
import sys
import time
from types import SimpleNamespace

from persistence.factory import open_instance
from system.clock import SystemClock

if __name__ == "__main__":
    cfg = SimpleNamespace(**json.loads(sys.argv[1]))  # factory.py reads cfg duck-typed
    lock, holder = open_instance(cfg, SystemClock())
    print(json.dumps({"epoch": holder.epoch, "pid": holder.pid}), flush=True)
    time.sleep(120)  # the test SIGKILLs us long before this
