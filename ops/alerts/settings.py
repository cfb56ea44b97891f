"""The `alerts:` section of config.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field


def _f(default, doc: str, **limits):
    return field(default=default, metadata={"doc": doc, **limits})


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """Where alerts go and when they fire (secrets only by environment-variable name)."""

    unprotected_secs: float = _f(
        10.0, "alert when a position has had no resting stop for longer than this (s)",
        min=0, max=86_400)
