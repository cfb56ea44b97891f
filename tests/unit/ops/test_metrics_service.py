"""The metrics service: prometheus_client's HTTP server on 127.0.0.1:metrics.port, closed by
close(); a port in use is logged naming `metrics.port` and leaves the metrics off while
everything else starts (ops/metrics/service.py, ops/build.py)."""

from __future__ import annotations

import logging
import socket
import urllib.request
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ops.build import OpsContext, build_hub
from ops.metrics.service import MetricsService, build
from ops.metrics.settings import MetricsConfig
from system.launched import free_port
from tests.unit.ops.test_metrics_collector import T0, entry, status, view


def ctx(port: int) -> Any:
    return SimpleNamespace(config=SimpleNamespace(metrics=MetricsConfig(port=port)))


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port something else listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def _get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def test_the_endpoint_serves_the_latest_status_on_loopback_and_close_frees_the_port():
    port = free_port()
    service = build(ctx(port))
    assert isinstance(service, MetricsService)
    try:
        assert service.server.server_address[0] == "127.0.0.1"
        service.observe(status(entry(view("BTCUSDT", mark="60000", stop="58800"))), T0)

        families = {f.name: f for f in text_string_to_metric_families(_get(port))}

        (sample,) = families["posguard_stop_distance_bps"].samples
        assert (sample.labels, sample.value) == ({"symbol": "BTCUSDT"}, pytest.approx(200))
        assert not any(name.startswith(("process_", "python_")) for name in families), \
            "a private registry: none of the library's default collectors"
    finally:
        service.close()
    assert not service.thread.is_alive()
    again = MetricsService(port)  # the port is free again (as for the next `posguard run`)
    again.close()


def test_metrics_port_zero_starts_nothing():
    assert build(ctx(0)) is None


def test_a_port_in_use_is_logged_naming_the_key_and_the_port_and_metrics_stay_off(
        busy_port, caplog):
    with caplog.at_level(logging.ERROR, "posguard.ops.metrics"):
        assert build(ctx(busy_port)) is None

    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert f"metrics.port {busy_port}" in line and "protection goes on" in line


def test_the_hub_starts_without_metrics_when_its_port_is_in_use(busy_port, monkeypatch,
                                                                 caplog):
    # The other services are someone else's: here they start as a stand-in that records.
    class Other:
        name = "other"
        seen: list[Any] = []

        def observe(self, status: Any, now_ms: int) -> None:
            self.seen.append(status)

        def event(self, event: Any) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr("ops.alerts.service.build", lambda c: Other())
    monkeypatch.setattr("ops.page.service.build", lambda c: None)
    config = SimpleNamespace(metrics=MetricsConfig(port=busy_port))

    with caplog.at_level(logging.ERROR):
        hub = build_hub(OpsContext(config, None, 7, None))
        hub.observe(status(), T0)

    assert [s.name for s in hub.services] == ["other"] and len(Other.seen) == 1
    assert "metrics.port" in caplog.text
    hub.close()
