"""The `metrics:` section of config.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field


def _f(default, doc: str, **limits):
    return field(default=default, metadata={"doc": doc, **limits})


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """The Prometheus endpoint."""

    port: int = _f(9478, "loopback TCP port of the Prometheus endpoint /metrics (0 = off)",
                   min=0, max=65535)
    refresh_secs: float = _f(
        5.0, "with metrics or the status page on, a symbol actor also reports a changed "
        "mark, stop or counter at most this often (s); state changes are reported at once",
        min=0.5, max=300)
