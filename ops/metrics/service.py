"""The metrics service: prometheus_client's own HTTP server on 127.0.0.1:`metrics.port`.

The launcher's hub (ops/hub.py) hands it every supervisor status; it keeps a Reading of the
latest one (ops/metrics/reading.py) that a scrape serves, through a private registry (nothing
of the library's default process metrics, nothing global). A port that cannot be bound is
logged naming `metrics.port` and the port, and the metrics stay off: protection goes on.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

from ops.metrics.collector import LatestCollector
from ops.metrics.reading import Tracker

log = logging.getLogger("posguard.ops.metrics")
ADDRESS = "127.0.0.1"
CLOSE_WAIT_SECS = 5.0


class MetricsService:
    """A running /metrics endpoint (hub service: observe, event, close)."""

    name = "metrics"

    def __init__(self, port: int) -> None:
        self.tracker = Tracker()
        self.collector = LatestCollector()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        server, thread = start_http_server(port, addr=ADDRESS, registry=self.registry)
        self.server: Any = server
        self.thread: threading.Thread = thread
        self.port: int = server.server_address[1]
        """The bound port (the configured one)."""
        self.url = f"http://{ADDRESS}:{self.port}/metrics"
        """Where Prometheus scrapes (printed by `posguard run`)."""

    def observe(self, status: Any, now_ms: int) -> None:
        """The supervisor's latest status: the next scrape shows it."""
        self.collector.reading = self.tracker.observe(status, now_ms)

    def event(self, event: Any) -> None:
        """Engine events change no metric (supervisor re-creation is seen by its pid)."""

    def close(self) -> None:
        """Stop serving and release the port (bounded)."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(CLOSE_WAIT_SECS)


def build(ctx: Any) -> MetricsService | None:
    """The metrics service for `ctx` (None: `metrics.port` is 0, or it could not be bound)."""
    port = ctx.config.metrics.port
    if not port:
        return None
    try:
        service = MetricsService(port)
    except OSError as e:
        log.error("metrics.port %d: cannot serve the Prometheus endpoint on %s:%d (%s); "
                  "metrics are off, protection goes on. Free the port or set metrics.port "
                  "(0 = off).", port, ADDRESS, port, e.strerror or e)
        return None
    log.info("Prometheus metrics on http://%s:%d/metrics", ADDRESS, service.port)
    return service
