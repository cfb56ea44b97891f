"""Builds the operator services the config asks for (called by the launcher once started).

A service that cannot start (a port in use, a channel misconfigured) is logged with the
config key to fix and left out: it never stops protection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ops.hub import Hub

log = logging.getLogger("posguard.ops")


@dataclass(frozen=True, slots=True)
class OpsContext:
    """What the services may use: the config, the store and who the instance is."""

    config: Any
    """system.config.Config."""
    store_target: Any
    """persistence: where the store is (services open their own connections)."""
    epoch: int
    """This instance's fencing epoch."""
    exchange_url: str | None
    """The simulator's URL in paper mode, None on a real venue."""


def build_hub(ctx: OpsContext) -> Hub:
    """Every configured service, each started or logged as not started."""
    from ops.alerts.service import build as alerts
    from ops.metrics.service import build as metrics
    from ops.page.service import build as page
    hub = Hub()
    for build in (alerts, metrics, page):
        try:
            service = build(ctx)
        except Exception:  # noqa: BLE001 - logged; protection goes on without it
            log.exception("an operator service failed to start (protection goes on)")
            continue
        if service is not None:
            hub.add(service)
    return hub
