"""`posguard run` as an operator runs it: a real launcher process, driven by the real CLI.

Used by the test fixtures (tests/fixtures/launcher.py) and by `posguard bench` (durability
trials SIGKILL a whole launched system). The launcher runs against an external simulator
(exchange.simulator.embedded=false) whose port is given; everything else comes from the config
file plus `--set` overrides (private store, log file and admin port per instance).
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from system.processes import kill, system_pids

START_TIMEOUT_SECS = 60


class LaunchError(AssertionError):
    """A launched system did not come up or did not reach a state in time.

    An AssertionError so a test using it fails (not errors) with the launcher's log tail.
    """


EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 10_000
"""free_port's ports are drawn from LOWEST_PORT up to the ephemeral range's start."""
_PORTS = random.Random()
"""free_port's own generator: a test that seeds the module's one must not make two processes
draw the same ports."""


def ephemeral_range(path: Path | None = None) -> tuple[int, int] | None:
    """The kernel's ephemeral port range (bind to port 0, connect), or None if unreadable."""
    try:
        low, high = (int(x) for x in (path or EPHEMERAL_RANGE).read_text().split())
    except (OSError, ValueError):
        return None
    return low, high


def free_port(*, tries: int = 200) -> int:
    """A TCP port on loopback that is free now and that the kernel will not hand out by
    itself: drawn below the ephemeral range. A port from bind(0) is an ephemeral one, and
    between choosing it and binding it (a launch seconds later) any connect() on the machine
    may take it as its local port: CI saw an admin fail to start on such a port."""
    span = ephemeral_range()
    if span is not None and span[0] > LOWEST_PORT + tries:
        for _ in range(tries):
            port = _PORTS.randrange(LOWEST_PORT, span[0])
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket() as s:  # no room below the range (or it is unknown): an ephemeral one
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Launched:
    """A running `posguard run` and a CLI bound to it."""

    def __init__(self, workdir: Path, config_path: Path, sim_port: int | None,
                 extra: Sequence[str] = (), *, cwd: Path | None = None,
                 port: int | None = None, new_session: bool = False,
                 accounts: Mapping[str, int | None] | None = None) -> None:
        self.port = port or free_port()
        self.new_session = new_session
        """Run the launcher in its own session (process group), as a shell would."""
        self.config_path = config_path
        self.cwd = cwd or config_path.parent
        # `accounts` (a config with `exchanges:`): account -> its external simulator's port,
        # or None for a simulator of its own embedded in the launcher.
        per_account = [(f"exchange.{k}", v) for k, v in _sim_sets(sim_port)] \
            if accounts is None else [(f"exchanges.{a}.{k}", v) for a, p in accounts.items()
                                      for k, v in _sim_sets(p)]
        self.sets = [f"store.sqlite_path={workdir / 'posguard.sqlite3'}",
                     f"actor_system.admin_port={self.port}",
                     f"actor_system.log_file={workdir / 'actors.log'}",
                     *(f"{k}={v}" for k, v in per_account),
                     "protection.trailing.min_update_interval_ms=0",
                     # The operator ports are fixed by default; a test asks for its own.
                     "metrics.port=0", "status_page.port=0", *extra]
        self.log = workdir / f"run-{self.port}.log"
        self.proc: subprocess.Popen[str] | None = None
        self.banner: str | None = None
        """The first line the launcher printed (once it is up)."""
        self.output: list[str] = []
        """Every complete stdout line read so far (see lines())."""
        self._out = b""

    def args(self) -> list[str]:
        """--config and --set arguments for any posguard command."""
        out = ["--config", str(self.config_path)]
        for s in self.sets:
            out += ["--set", s]
        return out

    def start(self) -> None:
        """Start the launcher and wait until its supervisor answers and the stream is up."""
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "system.cli", "run", *self.args()], cwd=self.cwd,
                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True,
                start_new_session=self.new_session)
        self.banner, self.output, self._out = None, [], b""
        self.wait_for(lambda: self._user_stream_connected(), "posguard run to come up",
                      START_TIMEOUT_SECS)

    def _user_stream_connected(self) -> bool:
        assert self.proc is not None and self.proc.stdout is not None
        if self.proc.poll() is not None:
            raise LaunchError(f"posguard run exited {self.proc.returncode}: {self.tail()}")
        # The banner first: until this launcher has started its own system, whatever answers
        # on the port may be a leftover of a killed one.
        if self.banner is None:
            self.lines()
            if not self.output:
                return False
            self.banner = self.output[0]
        r = self.cli("status", "--json", "--timeout-secs", "2")
        if r.returncode != 0:
            return False
        accounts = json.loads(r.stdout)["accounts"]  # every account's user stream
        return all(a["stream"].get("user", {}).get("state") == "connected" for a in accounts)

    def cli(self, *argv: str, timeout_secs: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `posguard <argv>` against this system."""
        return subprocess.run([sys.executable, "-m", "system.cli", *argv, *self.args()],
                              cwd=self.cwd, capture_output=True, text=True,
                              timeout=timeout_secs)

    def json(self, *argv: str) -> Any:
        """Run a --json command; LaunchError with its stderr if it fails."""
        r = self.cli(*argv, "--json")
        if r.returncode != 0:
            raise LaunchError(f"posguard {' '.join(argv)} failed: {r.stderr}")
        return json.loads(r.stdout)

    def symbols(self) -> dict[str, dict[str, Any]]:
        """`status --json` symbols by name."""
        return {s["symbol"]: s for s in self.json("status")["symbols"]}

    def actors(self) -> list[dict[str, Any]]:
        """`actors --json`."""
        return list(self.json("actors"))

    def wait_for(self, pred: Callable[[], Any], what: str, timeout_secs: float = 30) -> Any:
        """Poll `pred()` until truthy."""
        deadline = time.monotonic() + timeout_secs
        while not (result := pred()):
            if time.monotonic() > deadline:
                raise LaunchError(f"timed out waiting for {what}; log: {self.tail()}")
            time.sleep(0.1)
        return result

    def wait_state(self, symbol: str, state: str, timeout_secs: float = 30) -> dict[str, Any]:
        """Poll `status --json` until `symbol` is in `state`."""
        return self.wait_for(lambda: (s := self.symbols().get(symbol)) and s["state"] == state
                             and s, f"{symbol} {state}", timeout_secs)

    def lines(self, wait_secs: float = 0.0) -> list[str]:
        """The launcher's stdout lines printed since the last call (banner, status lines)."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()  # raw reads: a buffered reader would hide lines
        while select.select([fd], [], [], wait_secs)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break  # the launcher exited
            self._out += chunk
            wait_secs = 0.0
        *done, self._out = self._out.split(b"\n")
        self.output.extend(line.decode(errors="replace") for line in done)
        return [line.decode(errors="replace") for line in done]

    def wait_output(self, text: str, timeout_secs: float = 30) -> str:
        """Read the launcher's stdout (its status lines) until a line contains `text`."""
        deadline = time.monotonic() + timeout_secs
        while time.monotonic() < deadline:
            found = [line for line in self.lines(0.1) if text in line]
            if found:
                return found[0]
        raise LaunchError(f"the launcher printed no line with {text!r}; log: {self.tail()}")

    def tail(self, n: int = 3000) -> str:
        """The end of the launcher's stderr."""
        return self.log.read_text()[-n:] if self.log.exists() else ""

    def terminate(self, timeout_secs: float = 30) -> int:
        """SIGTERM the launcher and wait for it."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout_secs)

    def kill_all(self, wait_secs: float = 10) -> list[int]:
        """SIGKILL the launcher and every process of its actor system at once; the pids."""
        assert self.proc is not None
        pids = [self.proc.pid, *system_pids("127.0.0.1", self.port)]
        for pid in pids:
            kill(pid)
        self.proc.wait(wait_secs)
        deadline = time.monotonic() + wait_secs
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [p for p in pids if pid_alive(p)]
        if left:
            raise LaunchError(f"SIGKILL left processes running: {left}")
        return pids

    def kill_group(self, wait_secs: float = 10) -> None:
        """SIGKILL the launcher's whole process group (needs new_session), as `kill -9 -PGID`
        does; Thespian's admin and the actors run in their own session and outlive it."""
        assert self.proc is not None and self.new_session
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(wait_secs)

    def cleanup(self) -> list[int]:
        """Stop everything this launcher started; the pids that had to be killed."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.terminate()
            except subprocess.TimeoutExpired:
                kill(self.proc.pid)
                self.proc.wait(5)
        left = system_pids("127.0.0.1", self.port)
        for pid in left:
            kill(pid)
        return left


def _sim_sets(sim_port: int | None) -> list[tuple[str, Any]]:
    """One account's simulator and timeout settings: an external simulator on `sim_port`,
    or (None) one embedded in the launcher."""
    sim = [("simulator.embedded", "true"), ("simulator.port", 0)] if sim_port is None \
        else [("simulator.embedded", "false"), ("simulator.port", sim_port)]
    return [*sim, ("request_timeout_ms", 2000)]


def pid_alive(pid: int) -> bool:
    """True if `pid` runs (zombies count as gone)."""
    import psutil
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
