"""Progress where work takes time: what `posguard run` says while it starts, and what a slow
stop (the launcher's, `posguard shutdown`'s) is waiting for.

Start: the market list loaded, the symbols recovered from the store, how many of them have
been recovered and reconciled, read from the supervisor's status once a second
(SupervisorStatus.markets / .recovering). The launcher prints these lines before its live
status line; a start that takes longer than START_HOLD_SECS says what it still waits for and
the live status line starts anyway (an operator is never left without it for long), the
progress lines going on above it until the start is over.

Stop: a Narrator stays quiet for a stop that is over within a second; past that it says the
step it is in, every later step, and "done".
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from actors.messages import SupervisorStatus

SETTLING = ("STARTING", "RECONCILING", "RESTARTING")
"""A recovered symbol in one of these has not been restored and reconciled yet."""
HEALTHY = ("FLAT", "PROTECTED", "MOVING_STOP", "PASSIVATED")
"""Settled states not worth naming in the progress line."""
START_HOLD_SECS = 3.0
"""The live status line is held back for at most this long while posguard starts (a cold
start of an empty store is over in ~2 s; a large recovery takes longer, and the status line
must not wait for it)."""
NAMED = 5
"""Symbols a progress line names."""


def _names(symbols: list[str] | tuple[str, ...]) -> str:
    return ", ".join(symbols[:NAMED]) + (", ..." if len(symbols) > NAMED else "")


class StartProgress:
    """The start's progress lines, fed the supervisor's status once a second."""

    def __init__(self) -> None:
        self.done = False
        """The start is over: markets loaded, every recovered symbol reconciled."""
        self.status_due = False
        """The live status line may run: the start is over, or took longer than the hold."""
        self._markets_said = False
        self._recovering_said = False
        self._settled_said = 0

    def update(self, st: SupervisorStatus, elapsed_secs: float) -> list[str]:
        """New lines for this status (none once done)."""
        if self.done:
            return []
        lines = []
        if st.markets is not None and not self._markets_said:
            self._markets_said = True
            lines.append(f"markets loaded ({st.markets} symbols)")
        if st.recovering is not None:
            lines += self._recovery(st, st.recovering)
        waiting = self._waiting(st)
        if not waiting:
            self.done = self.status_due = True
        elif elapsed_secs >= START_HOLD_SECS and not self.status_due:
            self.status_due = True
            lines.append(f"still starting after {START_HOLD_SECS:g} s: "
                         f"{'; '.join(waiting)}; the live status follows")
        return lines

    def _recovery(self, st: SupervisorStatus, symbols: tuple[str, ...]) -> list[str]:
        lines = []
        if not self._recovering_said:
            self._recovering_said = True
            lines.append(f"recovering {len(symbols)} symbol{'s' if len(symbols) != 1 else ''} "
                         f"from the store: {_names(symbols)}" if symbols else
                         "nothing to recover: no open positions in the store")
        if not symbols:
            return lines
        states = _states(st, symbols)
        settled = [s for s in symbols if states[s] not in SETTLING]
        if len(settled) != self._settled_said:
            self._settled_said = len(settled)
            lines.append(f"{len(settled)}/{len(symbols)} recovered and reconciled "
                         f"({_breakdown([states[s] for s in settled], settled)})")
        return lines

    @staticmethod
    def _waiting(st: SupervisorStatus) -> list[str]:
        """What the start still waits for (empty: it is over)."""
        out = []
        if st.markets is None:
            out.append("the market list is not loaded yet")
        if st.recovering is None:
            out.append("the store's symbols are not read yet")
        elif st.recovering:
            states = _states(st, st.recovering)
            left = [s for s in st.recovering if states[s] in SETTLING]
            if left:
                out.append(f"{len(st.recovering) - len(left)}/{len(st.recovering)} recovered "
                           f"(waiting for {_names([f'{s} {states[s]}' for s in left])})")
        return out


def _breakdown(states: list[str], symbols: list[str]) -> str:
    """`2 PROTECTED, 1 QUARANTINED: ETHUSDT`: how many ended in each state, most first; the
    symbols of a state worth a look (not FLAT, PROTECTED, ...) are named."""
    counts = Counter(states)
    parts = []
    for state, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        named = [s for s, st in zip(symbols, states, strict=True) if st == state]
        parts.append(f"{n} {state}" + ("" if state in HEALTHY else f": {_names(named)}"))
    return ", ".join(parts)


def _states(st: SupervisorStatus, symbols: tuple[str, ...]) -> dict[str, str]:
    """Each symbol's state in the status (STARTING while it has no entry yet)."""
    known = {e.symbol: e.state for e in st.actors if e.kind == "symbol"}
    return {s: known.get(s, "STARTING") for s in symbols}


def in_flight(symbols: tuple[str, ...] | list[str], secs_left: float) -> str:
    """`waiting for 2 symbols with requests in flight: BTCUSDT, ETHUSDT (8 s left)`."""
    n = len(symbols)
    what = "1 symbol with a request" if n == 1 else f"{n} symbols with requests"
    return f"waiting for {what} in flight: {_names(list(symbols))} ({max(secs_left, 0):.0f} s left)"


class Narrator:
    """Says what a slow operation is waiting for: nothing if it is over within `quiet_secs`.

    Once it has spoken, every new step is said at once (and a step said again with the same
    text is not repeated); finish() then says "done".
    """

    def __init__(self, say: Callable[[str], None], quiet_secs: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._say = say
        self._quiet = quiet_secs
        self._clock = clock
        self._t0 = clock()
        self._pending: str | None = None
        self._last: str | None = None
        self._talking = False
        self._lock = threading.Lock()  # step() from the stopping thread, poll() from a ticker

    def step(self, text: str) -> None:
        """The operation now waits for `text`."""
        with self._lock:
            self._pending = text
            self._flush()

    def poll(self) -> None:
        """Say the current step if the operation has taken longer than the quiet time."""
        with self._lock:
            self._flush()

    def finish(self, text: str = "done") -> None:
        """The operation is over: `text` if anything was said."""
        with self._lock:
            if self._talking:
                self._say(text)

    def _flush(self) -> None:
        if not self._talking and self._clock() - self._t0 >= self._quiet:
            self._talking = True
        if self._talking and self._pending is not None and self._pending != self._last:
            self._last = self._pending
            self._say(self._pending)


class Ticker:
    """Polls a Narrator from a daemon thread, so a step that blocks is still said in time."""

    def __init__(self, narrator: Narrator, every_secs: float = 0.1) -> None:
        self._n = narrator
        self._every = every_secs
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stop-progress", daemon=True)

    def __enter__(self) -> Narrator:
        self._thread.start()
        return self._n

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(1.0)
        self._n.finish()

    def _run(self) -> None:
        while not self._done.wait(self._every):
            self._n.poll()


def demo_lines(opened: list) -> list[str]:
    """What `posguard run` says once the simulator has opened its demo positions."""
    if not opened:
        return []
    return [f"demo: the simulator opened {len(opened)} positions as the trader's own bot would, "
            f"outside posguard: {', '.join(p.describe() for p in opened)}",
            "demo: posguard adopts them and places their stops; their prices trend their way, "
            "so trailing engages within a minute or two "
            "(exchange.simulator.demo_positions=0 turns this off)"]
