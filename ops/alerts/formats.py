"""What a person reads: one message per channel send, and the JSON of each channel format.

A message carries one alert or a group; a group's text lists critical ones first, as many as
fit the channel's limit (Telegram 4096 characters, Discord 2000), then "... and N more". The
generic webhook's JSON also carries every alert of the group, whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ops.alerts.model import CRITICAL, INFO, WARNING, Alert

RANK = {CRITICAL: 0, WARNING: 1, INFO: 2}
MAX_CHARS = {"generic": 4000, "slack": 4000, "discord": 2000, "telegram": 4096}


@dataclass(frozen=True, slots=True)
class Message:
    """One send to one channel."""

    text: str
    """What a person reads."""
    alerts: tuple[dict[str, Any], ...]
    """Every alert it carries (Alert.as_json), in outbox order."""


def label(a: Alert) -> str:
    """RESOLVED, or the severity in capitals."""
    return "RESOLVED" if a.resolved else a.severity.upper()


def compose(items: Sequence[tuple[int | None, Alert]], *, source: str,
            max_chars: int) -> Message:
    """The message for `items` ((outbox id or None, alert), oldest first)."""
    alerts = tuple(a.as_json(i) for i, a in items)
    head = f"[posguard {source}]"
    if len(items) == 1:
        a = items[0][1]
        return Message(_cut(f"{head} {label(a)}: {a.text}", max_chars), alerts)
    ordered = sorted((a for _, a in items), key=lambda a: (a.resolved, RANK.get(a.severity, 3)))
    lines = [f"{head} {len(items)} alerts: {_counts(ordered)}"]
    for n, a in enumerate(ordered):
        line = f"{label(a)}: {a.text}"
        rest = len(ordered) - n
        more = f"... and {rest - 1} more (see the launcher's log)" if rest > 1 else ""
        if len("\n".join([*lines, line, more])) > max_chars:
            lines.append(f"... and {rest} more (see the launcher's log)")
            break
        lines.append(line)
    return Message(_cut("\n".join(lines), max_chars), alerts)


def _counts(alerts: Sequence[Alert]) -> str:
    parts = []
    for name, pick in ((CRITICAL, lambda a: not a.resolved and a.severity == CRITICAL),
                       (WARNING, lambda a: not a.resolved and a.severity == WARNING),
                       (INFO, lambda a: not a.resolved and a.severity == INFO),
                       ("resolved", lambda a: a.resolved)):
        n = sum(1 for a in alerts if pick(a))
        if n:
            parts.append(f"{n} {name}")
    return ", ".join(parts)


def _cut(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[:max_chars - 3] + "..."


def payload(fmt: str, msg: Message) -> dict[str, Any]:
    """The webhook's JSON body: generic {text, alerts}, slack {text}, discord {content}."""
    if fmt == "slack":
        return {"text": msg.text}
    if fmt == "discord":
        return {"content": msg.text}
    return {"text": msg.text, "alerts": list(msg.alerts)}
