"""Starting, reaching and stopping the Thespian actor system.

The launcher holds the instance lock (a flock fd, or a PostgreSQL session). Thespian forks its
admin and every actor from the process that first calls ActorSystem(); forked children would
inherit that fd and keep the lock alive after the launcher died. So the system is started by
a separate, exec'd Python process (`python -m system.actor_system start`): Python file
descriptors are not inherited across exec (PEP 446), and the admin daemonizes and outlives it.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

from system.thespian_idle import cheap_idle_checks
from system.thespian_poll import use_poll_in_thespian

BASE = "multiprocTCPBase"
MAX_PENDING_TRANSMITS = 200
"""Thespian's sends in flight per process (its default is 20; the rest wait in a queue that
every send scans). Measured with 500 symbols ticking in the same instant: delivery p99
547-650 ms at 20, 309-401 ms at 200 (before ticks went as datagrams: actors/tick_inbox.py);
the exchange pool's replies to 100 symbol actors queue the same way. Read by Thespian at
import, so it is set in the admin's environment, which every actor inherits."""


class ActorSystemError(RuntimeError):
    """The actor system could not be started or reached."""


def capabilities(address: str, port: int) -> dict[str, Any]:
    """Thespian capabilities for an admin on `address:port`."""
    return {"Admin Port": port, "Admin Address": address}


def port_answers(address: str, port: int, timeout_secs: float = 1.0) -> bool:
    """True if something accepts TCP connections on address:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout_secs)
        return s.connect_ex((address, port)) == 0


def unbindable(address: str, port: int) -> OSError | None:
    """Why the admin could not bind address:port (None: it can), tried as Thespian binds it
    (SO_REUSEADDR). Thespian reports such a port only as 'not a valid or useable ActorSystem
    Admin', and only after a wait of its own."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError as e:
            return e
    return None


def log_defs(path: str) -> dict[str, Any]:
    """Thespian logDefs (a dictConfig): every actor's records, INFO and up, to `path`."""
    return {"version": 1, "disable_existing_loggers": False,
            "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s "
                                              "[%(process)d]: %(message)s"}},
            "handlers": {"file": {"class": "logging.FileHandler", "filename": path,
                                  "formatter": "line", "level": "INFO"}},
            "root": {"handlers": ["file"], "level": "INFO"}}


def start(address: str, port: int, timeout_secs: float = 20.0,
          log_file: str | None = None) -> None:
    """Start a new actor system in a clean (exec'd) process and wait until it answers."""
    if port_answers(address, port):
        raise ActorSystemError(f"something already listens on {address}:{port}")
    if (held := unbindable(address, port)) is not None:
        raise ActorSystemError(
            f"{address}:{port} cannot be bound ({held.strerror}): another socket holds it "
            "without listening (e.g. a connection's local port); choose another "
            "actor_system.admin_port")
    env = dict(os.environ)
    env.setdefault("THESPIAN_BASE_IPADDR", address)
    env.setdefault("THESPIAN_MAX_PENDING_TRANSMITS", str(MAX_PENDING_TRANSMITS))
    # The admin daemonizes and keeps any inherited pipe open: give it a file, not a pipe.
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.run(
            [sys.executable, "-m", "system.actor_system", "start", "--address", address,
             "--port", str(port), *(["--log-file", log_file] if log_file else [])],
            env=env, timeout=timeout_secs, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=err)
        if proc.returncode != 0:
            err.seek(0)
            raise ActorSystemError(f"actor system did not start: {err.read().strip()[-500:]}")
    deadline = time.monotonic() + timeout_secs
    while not port_answers(address, port):
        if time.monotonic() > deadline:
            raise ActorSystemError(f"actor system admin did not answer on {address}:{port}")
        time.sleep(0.05)


def bind_only_to(address: str) -> None:
    """Make Thespian listen on `address` only (it binds every TCP socket to all interfaces).

    thespian 4.0.1 sets `bindname = ('', port)` for every externally reachable actor address
    (system/transport/IPBase.py), whatever THESPIAN_BASE_IPADDR says, and its wire format is
    pickle: anyone who reaches a port can run code. The admin and every actor are forked from
    the process that calls this before ActorSystem(), so they all inherit the fix; the CLI's
    reply endpoint calls it too. Proven by tests/integration/system/test_listening.py.
    """
    from thespian.system.transport import IPBase
    cls = IPBase.IPActorAddress
    if getattr(cls, "_posguard_bind", None) == address:
        return
    original = getattr(cls, "_posguard_original_init", cls.__init__)

    def __init__(self: Any, *args: Any, **kw: Any) -> None:
        original(self, *args, **kw)
        if self.bindname[0] in ("", "0.0.0.0"):
            self.bindname = (address, self.bindname[1])

    cls._posguard_original_init = original
    cls.__init__ = __init__
    cls._posguard_bind = address


def connect(address: str, port: int) -> Any:
    """A handle on the RUNNING system; never starts one (checks the port first)."""
    if not port_answers(address, port):
        raise ActorSystemError(f"posguard is not running (admin port {port})")
    os.environ.setdefault("THESPIAN_BASE_IPADDR", address)
    bind_only_to(address)
    never_start_admin(port)
    from thespian.actors import ActorSystem
    # transientUnique: a handle on THIS admin. Without it Thespian keeps one process-wide
    # singleton bound to the first admin it reached, so a process that outlives one system
    # (the launcher re-creating things, a test, a bench) would keep talking to a dead admin.
    return ActorSystem(BASE, capabilities(address, port), transientUnique=True)


def never_start_admin(port: int) -> None:
    """Make this process's ActorSystem() refuse to start an admin: it may only reach one.

    Thespian's ActorSystem() starts an admin, forked from the calling process, when its probe
    finds none. The port check above cannot close the race with an admin that goes away just
    after it answered (the leftover of a killed launcher being ended): the chaos run (issue 13)
    found a supervisor, pool and streams forked from a `posguard actors` CLI. Only the exec'd
    `python -m system.actor_system start` may start one (module docstring), and it never calls
    this. thespian 4.0.1 (pinned) has no public switch, hence the class attribute.
    """
    from thespian.system.multiprocCommon import multiprocessCommon

    def refuse(*_: Any, **__: Any) -> None:
        raise ActorSystemError(f"posguard is not running (admin port {port})")
    multiprocessCommon._startAdmin = refuse  # type: ignore[method-assign]


def lookup(asys: Any, name: str, timeout_secs: float) -> Any:
    """The address of the actor registered as `name` (globalName), or None; creates nothing.

    `createActor(cls, globalName=name)` makes the actor when none is registered: the CLI used
    it and, while the launcher was re-creating the supervisor, made an uninitialised one that
    took commands (issue 13). The admin's own status (Thespian_StatusReq) lists the registered
    names instead. thespian 4.0.1 has no public way to address the admin, hence
    `_systemBase.adminAddr` (the version is pinned; tests/integration/system/
    test_supervisor_recreation.py proves the lookup).
    """
    from datetime import timedelta

    from thespian.actors import Thespian_StatusReq, Thespian_SystemStatus
    admin = getattr(getattr(asys, "_systemBase", None), "adminAddr", None)
    if admin is None:
        raise ActorSystemError("cannot address the actor system's admin (thespian changed?)")
    reply = asys.ask(admin, Thespian_StatusReq(), timedelta(seconds=timeout_secs))
    if not isinstance(reply, Thespian_SystemStatus):
        raise ActorSystemError(f"the actor system's admin did not answer within "
                               f"{timeout_secs:g} s")
    return reply.globalActors.get(name)


def shutdown(address: str, port: int, timeout_secs: float = 15.0) -> None:
    """Shut the system on address:port down and wait until its port is closed."""
    if not port_answers(address, port):
        return
    connect(address, port).shutdown()
    deadline = time.monotonic() + timeout_secs
    while port_answers(address, port):
        if time.monotonic() > deadline:
            raise ActorSystemError(f"actor system on port {port} did not shut down")
        time.sleep(0.05)


def _main() -> int:
    p = argparse.ArgumentParser(prog="python -m system.actor_system")
    p.add_argument("action", choices=["start"])
    p.add_argument("--address", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log-file", default=None)
    a = p.parse_args()
    os.environ["THESPIAN_BASE_IPADDR"] = a.address
    os.environ.setdefault("THESPIAN_MAX_PENDING_TRANSMITS", str(MAX_PENDING_TRANSMITS))
    bind_only_to(a.address)
    use_poll_in_thespian()  # inherited by every actor forked from here
    cheap_idle_checks()  # the same
    from thespian.actors import ActorSystem

    # Pre-import what every actor needs so forked actors share those pages (lower PSS).
    import actors.exchange_worker  # noqa: F401
    import actors.market_stream  # noqa: F401
    import actors.supervisor  # noqa: F401
    import actors.symbol  # noqa: F401
    import actors.user_stream  # noqa: F401
    if a.log_file:
        os.makedirs(os.path.dirname(os.path.abspath(a.log_file)), exist_ok=True)
    ActorSystem(BASE, capabilities(a.address, a.port),
                logDefs=log_defs(a.log_file) if a.log_file else None)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
