"""An asyncio event loop on a background thread of an actor process, and the way its results
get back to the actor's own thread.

Thespian's send is not thread-safe and an actor handler must never block (THESPIAN.md), so the
loop thread never touches the actor: each finished call goes into a thread-safe queue and the
loop writes one byte to a socketpair. The actor returns ThespianWatch([fileno()]) from every
handler (a watch lasts one message); the byte wakes it with a WatchMessage and it drains the
queue (`drain`) and sends the replies itself. A byte is written after its item is queued, so
no completion is ever left without a wake-up; a wake-up that finds nothing is harmless.

Every call has a deadline (asyncio.wait_for): past it the call is cancelled and reported
`timed_out`. The deadline cannot help when the loop itself hangs (a blocking call on it):
that is what the exchange pool's own deadline is for (it ends the process).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import socket
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

STOP_SECS = 2.0
"""How long stop() waits for the loop thread to finish cancelling and closing."""


@dataclass(frozen=True, slots=True)
class Finished:
    """One submitted call, finished: its value, its exception, or its deadline passed."""

    key: str
    """What the caller named it (the request id)."""
    value: Any = None
    """What the coroutine returned."""
    error: BaseException | None = None
    """What it raised (a bug: the venue's failures are values)."""
    timed_out: bool = False
    """The deadline passed first; the call was cancelled."""


class IOLoop:
    """One event loop thread; submit coroutines from the actor thread, drain their results."""

    def __init__(self, name: str = "posguard-io") -> None:
        self._loop = asyncio.new_event_loop()
        self._done: queue.SimpleQueue[Finished] = queue.SimpleQueue()
        self._rx, self._tx = socket.socketpair()
        self._rx.setblocking(False)
        self._tx.setblocking(False)
        self._pending: dict[str, concurrent.futures.Future[None]] = {}
        """Submitted and not yet drained (the actor thread's own bookkeeping)."""
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # ---- the actor thread's side

    def fileno(self) -> int:
        """The descriptor to watch (ThespianWatch): readable when something finished."""
        return self._rx.fileno()

    def call(self, coro: Coroutine[Any, Any, Any], timeout_secs: float) -> Any:
        """Run `coro` on the loop and wait for it (start-up and shutdown only: it blocks);
        TimeoutError past `timeout_secs` (the coroutine is cancelled)."""
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout_secs)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise TimeoutError(f"no result within {timeout_secs:g} s") from None

    def submit(self, key: str, coro: Coroutine[Any, Any, Any], deadline_secs: float) -> None:
        """Start `coro` on the loop; it comes back from drain() as Finished(key, ...)."""
        self._pending[key] = asyncio.run_coroutine_threadsafe(
            self._bounded(key, coro, deadline_secs), self._loop)

    def drain(self) -> list[Finished]:
        """Everything finished since the last drain (call on a WatchMessage)."""
        with contextlib.suppress(BlockingIOError, OSError):
            while self._rx.recv(4096):
                pass
        out: list[Finished] = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                break
        for f in out:
            self._pending.pop(f.key, None)
        return out

    def in_flight(self) -> list[str]:
        """Keys submitted and not yet drained."""
        return list(self._pending)

    def wait(self, timeout_secs: float) -> None:
        """Block until every submitted call has finished, or `timeout_secs` (shutdown)."""
        concurrent.futures.wait(list(self._pending.values()), timeout=timeout_secs)

    def stop(self, timeout_secs: float = STOP_SECS) -> bool:
        """Stop the loop (calls still running are cancelled) and join its thread, at most
        `timeout_secs`; True if the thread ended."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_secs)
        ended = not self._thread.is_alive()
        if ended:
            self._rx.close()
            self._tx.close()
        return ended

    # ---- the loop thread's side

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
            # Calls submitted just before the stop become tasks first (so they are
            # cancelled, not left as coroutines that never ran).
            self._loop.run_until_complete(asyncio.sleep(0))
            tasks = asyncio.all_tasks(self._loop)
            for t in tasks:
                t.cancel()
            if tasks:
                self._loop.run_until_complete(asyncio.wait(tasks, timeout=STOP_SECS))
        finally:
            self._loop.close()

    async def _bounded(self, key: str, coro: Coroutine[Any, Any, Any],
                       deadline_secs: float) -> None:
        try:
            done = Finished(key, await asyncio.wait_for(coro, deadline_secs))
        except TimeoutError:
            done = Finished(key, timed_out=True)
        except asyncio.CancelledError:
            self._finish(Finished(key, error=RuntimeError("cancelled: the I/O loop stopped")))
            raise
        except Exception as e:  # noqa: BLE001 - handed to the actor, which logs and answers
            done = Finished(key, error=e)
        self._finish(done)

    def _finish(self, done: Finished) -> None:
        self._done.put(done)
        # Full buffer: a byte is already waiting, the actor will drain this too.
        with contextlib.suppress(BlockingIOError, OSError):
            self._tx.send(b"\0")
