"""`posguard run`: start the kernel, watch it once a second, show the status, stop it.

The loop checks the instance lock and the admin, reads every account's supervisor's status
(re-creating one that stops answering; the other accounts run on), feeds the statuses to the
operator services (ops/),
prints the start's progress and then the live status line, until SIGTERM / SIGINT /
`posguard shutdown` or --duration-secs.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

from actors.messages import SupervisorStatus
from system import actor_system
from system.account_run import ops_status
from system.config import Config
from system.console import Line, banner, status_lines
from system.kernel import Kernel, KernelError
from system.progress import Narrator, StartProgress, Ticker, demo_lines

log = logging.getLogger("posguard.kernel")


@dataclass
class _Watch:
    """What the loop remembers of one account between its once-a-second looks."""

    name: str
    start: StartProgress = field(default_factory=StartProgress)
    misses: int = 0
    """Status queries in a row its supervisor did not answer."""
    failure: str | None = None
    """The last failure to re-create its supervisor (said once, retried every second)."""


def _starting(kernel: Kernel, w: _Watch, line: Line, st: SupervisorStatus,
              elapsed_secs: float, tag: str) -> None:
    """The start's progress lines; then, once the user stream is up, the demo positions."""
    from system.sim.errors import SimError
    for text in w.start.update(st, elapsed_secs):
        line.note(tag + text)
    if not w.start.done or kernel.run_of(w.name).demo_opened or not any(
            x.kind == "user" and x.state == "connected" for x in st.streams):
        return
    try:
        opened = kernel.open_demo(w.name)
    except (SimError, TimeoutError) as e:  # the demo is optional; protection is not at stake
        log.warning("demo positions of account %s not opened: %s", w.name, e)
        line.note(f"{tag}demo: positions not opened ({e})")
        return
    for text in demo_lines(opened):
        line.note(tag + text)


def _look(kernel: Kernel, w: _Watch) -> SupervisorStatus | None:
    """One account's status, initialising or re-creating its supervisor when needed."""
    st = kernel.status(account=w.name)
    if st is not None and not st.initialized:
        # Ours, whose SupervisorInit was lost or timed out (the CLI never creates one: it
        # looks the name up): it refuses commands and has no children yet; initialise it.
        kernel.init_supervisor(w.name)
        return None
    if st is None:
        w.misses += 1
        if w.misses >= 2:
            kernel.recreate_supervisor(w.name)
            w.misses = 0
        return None
    w.misses, w.failure = 0, None
    return st


def _look_all(kernel: Kernel, watches: list[_Watch], line: Line
              ) -> dict[str, SupervisorStatus]:
    """Every account's status; one account's failure never stops the others'."""
    statuses = {}
    for w in watches:
        try:
            st = _look(kernel, w)
        except KernelError as e:
            if len(watches) == 1:
                raise  # nothing else is protected: stop, saying why (as before accounts)
            if w.failure != str(e):
                w.failure = str(e)
                log.error("account %s: %s (retrying every second; the other accounts run "
                          "on)", w.name, e)
                line.note(f"{w.name}: {e} (retrying; the other accounts run on)")
            continue
        if st is not None:
            statuses[w.name] = st
    return statuses


def _watch(kernel: Kernel, done: threading.Event, duration_secs: float | None) -> int:
    """Supervise the supervisors until asked to stop; the exit code of `posguard run`."""
    from persistence.store import LockLost
    a = kernel.config.actor_system
    line, started = Line(), time.monotonic()
    watches = [_Watch(name) for name in kernel.runs]
    several = len(watches) > 1
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
        kernel.keep_writer()
        statuses = _look_all(kernel, watches, line)
        if statuses:
            kernel.ops.observe(ops_status(statuses))
        for w in watches:
            if w.name in statuses:
                _starting(kernel, w, line, statuses[w.name], time.monotonic() - started,
                          f"{w.name}: " if several else "")
        # The live status line follows the start's progress lines (every account's).
        if statuses and all(w.start.status_due for w in watches):
            line.show(status_lines(statuses, {n: r.supervisor_restarts
                                              for n, r in kernel.runs.items()}))
        if any(st.stopping for st in statuses.values()):
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
