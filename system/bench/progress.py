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
    """(key, title) of every section, in the order `system.bench.run.run` runs them."""
    levels = tuple(sorted(opts.levels))
    rec = recovery_level(levels)
    out = [("floor", "floor")]
    for i, level in enumerate(levels, 1):
        noun = "symbol" if level == 1 else "symbols"
        out.append((f"level {level}", f"reaction {level} {noun} (level {i}/{len(levels)})"))
        if level == rec:
            out += [("recovery", f"recovery at {level} symbols"),
                    ("cold restart", f"cold restart of {level} positions"),
                    ("burst", f"aligned ticks at {level} symbols")]
    return out + [("durability", "durability"), ("store", "store appends")]


class Progress:
    """The bench's progress lines: the section, its place in the run, what it does now."""

    def __init__(self, say: Callable[[str], None], opts) -> None:
        self._say = say
        self._plan = plan(opts)
        self._where = "?"
        self._title = "starting"

    def section(self, key: str) -> None:
        """Section `key` of the plan starts (an unknown key is shown as it is)."""
        keys = [k for k, _ in self._plan]
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
