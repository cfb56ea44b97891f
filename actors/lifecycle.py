"""The one base of every posguard actor: the guarded receive, the parent watch, a loud death.

The guarded receive: Thespian calls a handler that raised once more with a copy of the
message, then sends PoisonMessage to the sender and keeps the actor alive with whatever state
the failed handler left (THESPIAN.md). No posguard actor may go on like that: an exception in
a handler ends the actor (die: tell the parent why, exit), and its parent replaces it. Each
actor only declares its `receiveMsg_<Type>` handlers; a message none of them handles is
logged with its type and sender (as pykka does), never dropped without a word.

Thespian never stops the children of a dead actor (measured: they keep running as orphans,
even past ActorSystem().shutdown()), so every child asks the kernel to kill it when its parent
dies (PR_SET_PDEATHSIG, `die_with_parent`) and also checks its parent process on a timer, a
backstop (every PARENT_BACKSTOP_SECS; every PARENT_CHECK_SECS where the kernel refused). The
timer alone, every 0.5 s, cost 0.33 ms of CPU a wakeup: 0.33 of the 2 cores at 500 symbols.
An actor that must not go on (a failed store write, an unexpected exception) tells its parent
why, stops handling messages, and exits shortly after, so the parent can show the reason as
`last_exit_reason`.

Ending the process is armed only in a process Thespian made for the actor (in_actor_process):
an actor a unit test builds, or one in simpleSystemBase, runs in the test's own process, and
os._exit there ends pytest with exit code 0.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from datetime import timedelta
from typing import Any

from thespian.actors import ActorExitRequest, ActorTypeDispatcher, ChildActorExited
from thespian.system.actorManager import ActorManager

from actors.log import ActorLogger
from actors.messages import ChildFailing, ExitNow, ParentCheck

log = ActorLogger("posguard.lifecycle")  # looked up per call: see actors/log.py
PARENT_CHECK_SECS = 0.5
PARENT_BACKSTOP_SECS = 5.0
"""The parent check's period once the kernel kills us with our parent (die_with_parent)."""
_PR_SET_PDEATHSIG = 1
EXIT_ORPHANED = 0
EXIT_FAILED = 70
DIE_GRACE_SECS = 0.2
NOTICES = (ActorExitRequest, ChildActorExited)
"""Thespian's lifecycle notices: it acts on them itself (the exit happens, the child is gone),
so an actor without a handler for one has nothing to add and they are not "unexpected"."""


def die_with_parent() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies; False if it refused.

    The signal comes when the parent's thread that forked us exits: Thespian forks from the
    actor's main thread. A SIGKILL is what every actor already survives (persist, then act:
    the chaos and I-1 tests kill them so), and an orphan must not go on."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux
        return False


def in_actor_process(actor: Any) -> bool:
    """True only in a process a multiproc Thespian base made for `actor`.

    Its ActorManager runs the actor there; simpleSystemBase (ActorRef) and direct
    construction (no reference at all) run in the caller's process.
    """
    return isinstance(getattr(actor, "_myRef", None), ActorManager)


class Lifecycle(ActorTypeDispatcher):
    """Base of every posguard actor: guarded dispatch, parent watch, die."""

    dying: str | None = None
    parent_addr: Any = None
    parent_check_secs: float = PARENT_CHECK_SECS

    def receiveMessage(self, msg: Any, sender: Any) -> Any:
        """Dispatch to receiveMsg_<Type>; an exception ends the actor instead of a retry."""
        if self.dead_or_exit(msg):
            return None
        try:
            return super().receiveMessage(msg, sender)
        except Exception as e:  # noqa: BLE001 - not swallowed: logged, reported, process ends
            log.exception("%s: %s failed", self.actor_label(), type(msg).__name__)
            self.die(self.crash_reason(msg, e), self.failing_symbol())
            return None

    def receiveUnrecognizedMessage(self, msg: Any, sender: Any) -> None:
        """Log what no handler takes, with its type and sender; Thespian's notices aside."""
        if isinstance(msg, NOTICES):
            return
        log.warning("%s: unexpected message %s from %s", type(self).__name__,
                    type(msg).__name__, sender)

    # ------------------------------------------------------------------ hooks

    def actor_label(self) -> str:
        """Who this actor is, in log lines (a symbol actor names its symbol)."""
        return type(self).__name__

    def crash_reason(self, msg: Any, e: Exception) -> str:
        """The exit reason its parent shows after a handler raised `e` on `msg`."""
        return f"crashed on {type(msg).__name__}: {type(e).__name__}: {e}"

    def failing_symbol(self) -> str | None:
        """ChildFailing.symbol: the symbol of a symbol actor, None for other actors."""
        return None

    # ------------------------------------------------------------------ the parent

    def watch_parent(self, parent: Any) -> None:
        """Remember the parent; die with its process (the kernel, and a timer as backstop)."""
        self.parent_addr = parent
        if in_actor_process(self) and die_with_parent():
            self.parent_check_secs = PARENT_BACKSTOP_SECS
        self.wakeupAfter(timedelta(seconds=self.parent_check_secs),
                         payload=ParentCheck(os.getppid()))

    def check_parent(self, payload: ParentCheck) -> None:
        """Exit if the process that created us is gone (we were re-parented)."""
        if os.getppid() != payload.ppid and in_actor_process(self):
            log.warning("%s %d: parent process %d is gone; exiting", type(self).__name__,
                        os.getpid(), payload.ppid)
            os._exit(EXIT_ORPHANED)
        self.wakeupAfter(timedelta(seconds=self.parent_check_secs), payload=payload)

    # ------------------------------------------------------------------ dying

    def die(self, reason: str, symbol: str | None = None, code: int = EXIT_FAILED) -> None:
        """Tell the parent why, ignore every further message, exit within DIE_GRACE_SECS."""
        if self.dying is not None:
            return
        self.dying = reason
        log.critical("%s %d exiting: %s", type(self).__name__, os.getpid(), reason)
        print(f"posguard {type(self).__name__} {os.getpid()}: {reason}", file=sys.stderr,
              flush=True)
        if self.parent_addr is not None:
            self.send(self.parent_addr, ChildFailing(symbol, reason))
        if not in_actor_process(self):
            return  # a test's actor: it stops handling messages; the process goes on
        # The timer gives Thespian a moment to transmit ChildFailing; the thread makes the exit
        # certain even if no further message ever arrives to run the timer.
        self.wakeupAfter(timedelta(seconds=DIE_GRACE_SECS), payload=ExitNow(code))
        timer = threading.Timer(DIE_GRACE_SECS * 5, os._exit, args=(code,))
        timer.daemon = True
        timer.start()

    def dead_or_exit(self, msg: Any) -> bool:
        """True if the actor is dying (the message is ignored); exits on the exit timer."""
        if self.dying is None:
            return False
        payload = getattr(msg, "payload", None)
        if isinstance(payload, ExitNow) and in_actor_process(self):
            os._exit(payload.code)
        return True
