"""SimServer: the simulator on its own event loop thread; `serve_forever` for `posguard sim`."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import sys
import threading

from aiohttp import web

from system.clock import Clock, SystemClock
from system.sim.app import Sim, background, make_app
from system.sim.settings import SimSettings

STOP_TIMEOUT_SECS = 5.0


def check_host(host: str, explicit: bool) -> None:
    """Refuse a non-loopback bind unless the operator asked for it by name."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not explicit:
        raise ValueError(f"simulator host {host!r} is not loopback; set it explicitly to "
                         "bind there")
    if host in ("0.0.0.0", "::", ""):
        raise ValueError("the simulator never binds to all interfaces")


class SimServer:
    """A running simulator: start() returns once it listens, stop() tears it all down."""

    def __init__(self, settings: SimSettings, clock: Clock | None = None) -> None:
        check_host(settings.host, explicit=settings.host != SimSettings().host)
        self.settings = settings
        self.clock = clock or SystemClock()
        self.sim: Sim | None = None
        self.url = ""
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._bg: asyncio.Task | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> str:
        """Start the loop thread and the HTTP server; returns the base URL."""
        if self._thread is not None:
            return self.url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="sim-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(STOP_TIMEOUT_SECS * 2):
            self.stop()
            raise TimeoutError("simulator did not start listening")
        if self._error is not None:
            self.stop()
            raise RuntimeError("simulator failed to start") from self._error
        return self.url

    def _run(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._open())
        except BaseException as e:  # reported to start(), which re-raises it
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._close())
        loop.close()

    async def _open(self) -> None:
        self.sim = Sim(self.settings, self.clock)
        self._runner = web.AppRunner(make_app(self.sim), handle_signals=False,
                                     shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port,
                           reuse_address=True)
        await site.start()
        sock = site._server.sockets[0]  # aiohttp exposes no public accessor for the port
        self.port = sock.getsockname()[1]
        self.url = f"http://{self.settings.host}:{self.port}"
        self._bg = asyncio.ensure_future(background(self.sim))

    async def _close(self) -> None:
        if self._bg is not None:
            self._bg.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._bg
        if self.sim is not None:
            self.sim.users.close_all()
            for ws in [*self.sim.market_streams.conns, *self.sim.wsapi_conns]:
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def call(self, fn, timeout: float = 5.0):
        """Run `fn(sim)` on the server's loop and return its result (tests, bench)."""
        async def _do():
            result = fn(self.sim)
            self.sim.flush()
            return result
        fut = asyncio.run_coroutine_threadsafe(_do(), self._loop)
        return fut.result(timeout)

    def stop(self) -> None:
        """Close every connection and the loop thread; idempotent, bounded in time."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive() and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT_SECS)
        self._thread = None

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_forever(settings: SimSettings) -> int:
    """`posguard sim`: print `listening on URL` first, serve until SIGTERM/SIGINT."""
    server = SimServer(settings)
    url = server.start()
    # Handlers before the first line: whoever reads it may signal us at once.
    done = threading.Event()
    previous = {s: signal.signal(s, lambda *_: done.set())
                for s in (signal.SIGTERM, signal.SIGINT)}
    print(f"listening on {url}", flush=True)
    try:
        while not done.wait(0.5):
            if server._thread is None or not server._thread.is_alive():
                print("simulator thread died", file=sys.stderr, flush=True)
                return 1
    finally:
        server.stop()
        for s, h in previous.items():
            signal.signal(s, h)
    return 0
