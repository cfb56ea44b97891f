"""The `status_page:` section of config.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field


def _f(default, doc: str, **limits):
    return field(default=default, metadata={"doc": doc, **limits})


@dataclass(frozen=True, slots=True)
class StatusPageConfig:
    """The read-only status page."""

    port: int = _f(8478, "loopback TCP port of the read-only status page (0 = off)",
                   min=0, max=65535)
