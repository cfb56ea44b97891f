"""The one way a test waits for something that becomes true on its own (another process, an
actor, a server): poll with a timeout, and on timeout fail naming what did not happen and
the last value seen. Never sleep and then assert.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

DEFAULT_INTERVAL_SECS = 0.05
"""Pause between polls: short, since the CI suite is at its time budget."""

MAX_SHOWN_CHARS = 2000
"""The last value is cut to this in the failure (a simulator state can be huge)."""


def wait_for(predicate: Callable[..., Any], timeout: float, what: str,
             interval: float = DEFAULT_INTERVAL_SECS, *,
             sample: Callable[[], Any] | None = None,
             ignoring: type[BaseException] | tuple[type[BaseException], ...] = (),
             shown: Callable[[Any], Any] = repr,
             clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> Any:
    """Poll until the predicate holds and return what it held on; AssertionError otherwise.

    Without `sample`: polls `predicate()` until it returns something truthy and returns it.
    With `sample`: polls `value = sample()` until `predicate(value)` is truthy and returns
    `value` (so the failure shows the last value, not just False).
    An exception in `ignoring` raised by a poll counts as "not yet" (and as the value seen).
    `shown(value)` is how the failure shows the last value (default repr; cut to 2000 chars).
    The predicate is polled at least once, and once more at or after the timeout.
    """
    deadline = clock() + timeout
    while True:
        try:
            last = predicate() if sample is None else sample()
            held = last if sample is None else predicate(last)
        except ignoring as e:
            last, held = e, None
        if held:
            return last
        left = deadline - clock()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; "
                                 f"last value seen: {_cut(shown(last))}")
        sleep(min(interval, left))


def _cut(shown: Any) -> str:
    text = shown if isinstance(shown, str) else repr(shown)
    return text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS - 3] + "..."
