"""What every posguard child actor does about its own life: watch the parent, die loudly.

Thespian never stops the children of a dead actor (measured: they keep running as orphans,
even past ActorSystem().shutdown()), so every child checks its parent process on a timer and
exits when it is gone. An actor that must not go on (a failed store write, an unexpected
exception) tells its parent why, stops handling messages, and exits shortly after, so the
parent can show the reason as `last_exit_reason`.
"""

from __future__ import annotations

import os
import sys
import threading
from datetime import timedelta
from typing import Any

from actors.messages import ChildFailing, ParentCheck
from system.logs import ActorLogger

log = ActorLogger("posguard.lifecycle")  # looked up per call: see system/logs.py
PARENT_CHECK_SECS = 0.5
EXIT_ORPHANED = 0
EXIT_FAILED = 70
DIE_GRACE_SECS = 0.2


class Lifecycle:
    """Mixin for Thespian actors (needs wakeupAfter and send)."""

    dying: str | None = None
    parent_addr: Any = None

    def watch_parent(self, parent: Any) -> None:
        """Remember the parent and start checking that its process is alive."""
        self.parent_addr = parent
        self.wakeupAfter(timedelta(seconds=PARENT_CHECK_SECS),  # type: ignore[attr-defined]
                         payload=ParentCheck(os.getppid()))

    def check_parent(self, payload: ParentCheck) -> None:
        """Exit if the process that created us is gone (we were re-parented)."""
        if os.getppid() != payload.ppid:
            log.warning("%s %d: parent process %d is gone; exiting", type(self).__name__,
                        os.getpid(), payload.ppid)
            os._exit(EXIT_ORPHANED)
        self.wakeupAfter(timedelta(seconds=PARENT_CHECK_SECS),  # type: ignore[attr-defined]
                         payload=payload)

    def die(self, reason: str, symbol: str | None = None, code: int = EXIT_FAILED) -> None:
        """Tell the parent why, ignore every further message, exit within DIE_GRACE_SECS."""
        if self.dying is not None:
            return
        self.dying = reason
        log.critical("%s %d exiting: %s", type(self).__name__, os.getpid(), reason)
        print(f"posguard {type(self).__name__} {os.getpid()}: {reason}", file=sys.stderr,
              flush=True)
        if self.parent_addr is not None:
            self.send(self.parent_addr, ChildFailing(symbol, reason))  # type: ignore[attr-defined]
        # The timer gives Thespian a moment to transmit ChildFailing; the thread makes the exit
        # certain even if no further message ever arrives to run the timer.
        self.wakeupAfter(timedelta(seconds=DIE_GRACE_SECS),  # type: ignore[attr-defined]
                         payload=("exit", code))
        threading.Timer(DIE_GRACE_SECS * 5, os._exit, args=(code,)).start()

    def dead_or_exit(self, msg: Any) -> bool:
        """True if the actor is dying (the message is ignored); exits on the exit timer."""
        if self.dying is None:
            return False
        payload = getattr(msg, "payload", None)
        if isinstance(payload, tuple) and payload and payload[0] == "exit":
            os._exit(payload[1])
        return True
