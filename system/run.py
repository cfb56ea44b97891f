"""`posguard run`: start the kernel, watch it once a second, show the status, stop it.

The loop checks the instance lock and the admin, reads the supervisor's status (re-creating
the supervisor if it stops answering), feeds the status to the operator services (ops/),
prints the start's progress and then the live status line, until SIGTERM / SIGINT /
`posguard shutdown` or --duration-secs.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

from actors.messages import SupervisorStatus
from system import actor_system
from system.config import Config
from system.console import Line, banner, status_line
from system.kernel import Kernel, KernelError
from system.progress import Narrator, StartProgress, Ticker, demo_lines

log = logging.getLogger("posguard.kernel")


def _starting(kernel: Kernel, start: StartProgress, line: Line, st: SupervisorStatus,
              elapsed_secs: float) -> None:
    """The start's progress lines; then, once the user stream is up, the demo positions."""
    from system.sim.errors import SimError
    for text in start.update(st, elapsed_secs):
        line.note(text)
    if not start.done or kernel.demo_opened or not any(
            x.kind == "user" and x.state == "connected" for x in st.streams):
        return
    try:
        opened = kernel.open_demo()
    except (SimError, TimeoutError) as e:  # the demo is optional; protection is not at stake
        log.warning("demo positions not opened: %s", e)
        line.note(f"demo: positions not opened ({e})")
        return
    for text in demo_lines(opened):
        line.note(text)


def _watch(kernel: Kernel, done: threading.Event, duration_secs: float | None) -> int:
    """Supervise the supervisor until asked to stop; the exit code of `posguard run`."""
    from persistence.store import LockLost
    a = kernel.config.actor_system
    line, misses, started = Line(), 0, time.monotonic()
    start = StartProgress()
    while not done.wait(1.0):
        try:
            kernel.lock.check()
        except LockLost as e:
            log.critical("%s: stopping at once (another instance may be trading)", e)
            kernel.ops.event("lock_lost", f"{e}: posguard stopped at once (another instance "
                             "may be trading)")
            return 1
        if not actor_system.port_answers(a.admin_address, a.admin_port):
            log.critical("the actor system's admin on port %d is gone", a.admin_port)
            return 1
        st = kernel.status()
        if st is not None:
            kernel.ops.observe(st)
        if st is not None and not st.initialized:
            # Ours, whose SupervisorInit was lost or timed out (the CLI never creates one: it
            # looks the name up): it refuses commands and has no children yet; initialise it.
            kernel.init_supervisor()
            continue
        if st is None:
            misses += 1
            if misses >= 2:
                kernel.recreate_supervisor()
                misses = 0
            continue
        misses = 0
        _starting(kernel, start, line, st, time.monotonic() - started)
        if start.status_due:  # the live status line follows the start's progress lines
            line.show(status_line(st, kernel.supervisor_restarts))
        if st.stopping:
            log.warning("shutdown requested through the supervisor")
            break
        if duration_secs is not None and time.monotonic() - started >= duration_secs:
            break
    if line.tty:
        print()
    return 0


def _say(text: str) -> None:
    print(f"posguard: {text}", file=sys.stderr, flush=True)


def run_kernel(config: Config, duration_secs: float | None = None) -> int:
    """`posguard run`: start, show the live status, run until SIGTERM/SIGINT/shutdown."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s", stream=sys.stderr)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # the embedded simulator
    # Handlers first: a SIGTERM during the start must still shut down what was started.
    done = threading.Event()
    previous = {s: signal.signal(s, lambda *_: done.set())
                for s in (signal.SIGTERM, signal.SIGINT)}
    kernel = Kernel(config)
    rc = 1
    try:
        try:
            kernel.start()
        except KernelError as e:
            print(f"posguard run: cannot start: {e}", file=sys.stderr)
            return 3
        except actor_system.ActorSystemError as e:
            print(f"posguard run: cannot start the actor system: {e}", file=sys.stderr)
            return 1
        try:
            print(banner(kernel), flush=True)
            kernel.start_ops()
            if urls := kernel.ops.urls():  # where an operator looks (loopback, read-only)
                print(" | ".join(f"{name.replace('_', ' ')} {url}" for name, url in urls),
                      flush=True)
            rc = _watch(kernel, done, duration_secs)
        except (KernelError, actor_system.ActorSystemError) as e:
            # Re-creating the supervisor failed: a clear line, a non-zero exit, and the stop
            # below still ends every process (a traceback would tell an operator nothing more).
            print(f"posguard run: stopping: {e}", file=sys.stderr)
            rc = 1
        finally:
            print("posguard: shutting down (exchange stops stay in place)", file=sys.stderr)
            with Ticker(Narrator(_say)) as narrator:
                narrator.step("closing the operator services (alerts, metrics, status page)")
                kernel.stop_ops(rc)
                kernel.stop(grace_secs=0 if rc else None, narrator=narrator)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    return rc
