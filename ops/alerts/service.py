"""Placeholder until the alerts service lands: builds nothing."""

from __future__ import annotations

from typing import Any


def build(ctx: Any) -> Any:
    """The alerts service for `ctx` (None: not configured)."""
    return None
