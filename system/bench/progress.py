"""Which bench section runs and how far the run is: `[3/8] reaction 10 symbols (level 2/2):
measuring 20 s ...`. Said through the bench's `say` (stderr), so --json output stays clean."""

from __future__ import annotations

from collections.abc import Callable

RECOVERY_LEVEL = 100
"""Recovery and cold-restart run at this level (or the largest level below it)."""


def recovery_level(levels: tuple[int, ...]) -> int:
    """The level the recovery sections run at."""
    return max([lv for lv in levels if lv <= RECOVERY_LEVEL] or [min(levels)])


def plan(opts) -> list[tuple[str, str]]:
    """(key, title) of every section, in the order `system.bench.run.run` runs them.

    With one RTT (the bench without --rtt-ms) the titles are as they always were; with
    several, each RTT's sections say which RTT they run at and their keys end in `@<rtt>`.
    With several venues each venue's sections say which venue they run on (`bybit: ...`)
    and their keys end in `#<venue>`; the store appends run once, at the end.
    """
    venues = tuple(getattr(opts, "venues", ("binanceusdm",)))
    out = []
    for venue in venues:
        tag, key = ("", "") if len(venues) == 1 else (f"{venue}: ", f"#{venue}")
        out += [(k + key, tag + title) for k, title in _venue_plan(opts)]
    return out + [("store", "store appends")]


def _venue_plan(opts) -> list[tuple[str, str]]:
    levels = tuple(sorted(opts.levels))
    rtts = tuple(getattr(opts, "rtt_ms", (0.0,)))
    burst = getattr(opts, "open_burst", 0)
    out = []
    for n, rtt in enumerate(rtts):
        at = "" if len(rtts) == 1 else f" at RTT {rtt:g} ms"
        key = "" if len(rtts) == 1 else f"@{rtt:g}"
        out.append((f"floor{key}", f"floor{at}"))
        # A quick run measures only its largest level at the later RTTs (system/bench/run.py).
        counts = levels if n == 0 or not getattr(opts, "quick", False) else levels[-1:]
        rec = recovery_level(counts)
        for i, level in enumerate(counts, 1):
            noun = "symbol" if level == 1 else "symbols"
            out.append((f"level {level}{key}",
                        f"reaction {level} {noun} (level {i}/{len(counts)}){at}"))
            if level != rec:
                continue
            if n == 0:
                out += [(f"recovery{key}", f"recovery at {level} symbols"),
                        (f"cold restart{key}", f"cold restart of {level} positions"),
                        (f"burst{key}", f"aligned ticks at {level} symbols")]
            if burst:
                out.append((f"open burst{key}", f"{burst} positions opened at once{at}"))
    for level in sorted(getattr(opts, "stop_lag_levels", ())):
        out.append((f"stop lag {level}", f"stop lag at {level} symbols, real order budget, "
                                         f"RTT {opts.stop_lag_rtt_ms:g} ms"))
    return out + [("durability", "durability")]


class Progress:
    """The bench's progress lines: the section, its place in the run, what it does now."""

    def __init__(self, say: Callable[[str], None], opts) -> None:
        self._say = say
        self._plan = plan(opts)
        self._where = "?"
        self._title = "starting"
        self._suffix = "" if len(tuple(getattr(opts, "rtt_ms", (0.0,)))) == 1 else "@"
        self._venues = len(tuple(getattr(opts, "venues", ("binanceusdm",)))) > 1
        self.rtt: float | None = None
        """The RTT whose sections run now (None: a section that is not per RTT)."""
        self.venue: str | None = None
        """The venue whose sections run now (None: a section that is not per venue)."""

    def section(self, key: str) -> None:
        """Section `key` of the plan starts (an unknown key is shown as it is)."""
        keys = [k for k, _ in self._plan]
        venue = f"#{self.venue}" if self._venues and self.venue is not None else ""
        if self._suffix and self.rtt is not None and f"{key}@{self.rtt:g}{venue}" in keys:
            key = f"{key}@{self.rtt:g}"
        if venue and f"{key}{venue}" in keys:
            key = f"{key}{venue}"
        if key in keys:
            i = keys.index(key)
            self._where, self._title = str(i + 1), self._plan[i][1]
        else:
            self._where, self._title = "?", key

    def level(self, level: int) -> None:
        """The reaction section of `level` starts."""
        self.section(f"level {level}")

    def __call__(self, text: str) -> None:
        """Say what the current section does now."""
        self._say(f"[{self._where}/{len(self._plan)}] {self._title}: {text}")
