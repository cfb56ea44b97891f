"""The message envelope: the id and engine time every message carries, and their defaults.

It lives in `venue/`, the lowest layer, because the venue's stream events carry the same
envelope as the actors' own messages and `venue/` may import nothing from `actors/`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field


def new_id() -> str:
    """A fresh message id."""
    return uuid.uuid4().hex


def now_ms() -> int:
    """Engine time in ms (default for `engine_ms`; actors pass their injected clock's)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """What every message posguard creates or reads from a stream carries: an id and when.

    Keyword-only, so a message keeps its own required fields positional (dataclass fields
    of a base come first otherwise)."""

    msg_id: str = field(default_factory=new_id)
    """Message id."""
    engine_ms: int = field(default_factory=now_ms)
    """When posguard created this message (a stream event: when it read the frame)."""
