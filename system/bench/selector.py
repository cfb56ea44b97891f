"""CPU of one pass of Thespian's loop spent in its selector, by selector class and socket count.

Thespian 4.0.1 builds a selector on every pass, registers every socket it holds, selects
once and closes it (system/thespian_poll.py). This times exactly that, with nothing ready
(select(0)), for epoll (Thespian's own default on Linux), selectors.PollSelector (what
posguard installed before) and PassPoll (what it installs now), at the socket counts of a
symbol actor (~6) and of the pool, supervisor and user stream at 100 symbols (~110).

Run: `.venv/bin/python -m system.bench.selector [--passes N] [--sockets 6,110,510]`.
"""

from __future__ import annotations

import argparse
import selectors
import socket
import sys
import time

from system.thespian_poll import PassPoll

CLASSES: tuple[type, ...] = (selectors.EpollSelector, selectors.PollSelector, PassPoll)


def us_per_pass(cls: type, fds: list[int], passes: int) -> float:
    """Process CPU per pass, in microseconds."""
    started = time.process_time()
    for _ in range(passes):
        sel = cls()
        for fd in fds:
            sel.register(fd, selectors.EVENT_READ)
        sel.select(0)
        sel.close()
    return (time.process_time() - started) / passes * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m system.bench.selector")
    p.add_argument("--passes", type=int, default=3000)
    p.add_argument("--sockets", default="6,110,510")
    a = p.parse_args(argv)
    try:
        counts = [int(n) for n in a.sockets.split(",")]
    except ValueError:
        p.error(f"--sockets {a.sockets!r}: a comma-separated list of integers, e.g. 6,110")
    if a.passes < 1 or any(n < 1 or n > 5000 for n in counts):
        p.error("--passes must be >= 1 and each --sockets count 1..5000")
    pairs = [socket.socketpair() for _ in range(max(counts))]
    try:
        print(f"{'sockets':>8} " + " ".join(f"{c.__name__:>14}" for c in CLASSES)
              + "   (us of CPU per pass, nothing ready)")
        for n in counts:
            fds = [a_.fileno() for a_, _ in pairs[:n]]
            print(f"{n:>8} " + " ".join(f"{us_per_pass(c, fds, a.passes):>14.1f}"
                                        for c in CLASSES))
    finally:
        for x, y in pairs:
            x.close()
            y.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
