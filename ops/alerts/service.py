"""The alerts service the launcher's hub feeds: rules on the launcher's thread (pure, fast),
delivery on its own (ops/alerts/delivery.py). observe() and event() never touch the store or
the network, so a failing channel or store can never hold up the launcher's loop.

Always built, channels or not: with none configured, alerts still go to the outbox and the
launcher's log. A configured channel that cannot send (its environment variable unset) is
logged at start naming the key and the variable; its alerts wait in the outbox.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from ops.alerts.channels import resolve
from ops.alerts.delivery import Delivery
from ops.alerts.rules import Rules, Thresholds
from system.clock import SystemClock

log = logging.getLogger("posguard.alerts")
CLOSE_EXTRA_SECS = 2.0


class AlertsService:
    """observe / event / close for the hub (ops/hub.py)."""

    name = "alerts"

    def __init__(self, rules: Rules, delivery: Delivery, close_timeout_secs: float) -> None:
        self.rules, self.delivery = rules, delivery
        self.close_timeout_secs = close_timeout_secs

    def observe(self, status: Any, now_ms: int) -> None:
        """Rules over the supervisor's status; what they find is queued for delivery."""
        self.delivery.submit(self.rules.observe(status, now_ms))

    def event(self, event: Any) -> None:
        """An engine event (started, stopped, lock_lost, ...) becomes one alert."""
        self.delivery.submit(self.rules.event(event))

    def close(self) -> None:
        """Flush what is queued (one send per channel), bounded by the send timeouts."""
        self.delivery.close(self.close_timeout_secs)


def source(ctx: Any) -> str:
    """Who is speaking, in every message: host, mode, epoch."""
    return f"{socket.gethostname()}, {ctx.config.mode}, epoch {ctx.epoch}"


def build(ctx: Any) -> AlertsService:
    """The alerts service for an ops.build.OpsContext, its delivery thread started."""
    from persistence.factory import attach
    cfg = ctx.config.alerts
    channels = resolve(cfg)
    for problem in channels.problems:
        log.error("alerts: %s", problem)
    for channel in channels.working.values():
        log.info("alerts: sending to %s", channel.describe())
    if not channels.names:
        log.info("alerts: no channel configured (alerts.webhook.url_env, alerts.telegram."
                 "token_env): alerts go to the outbox and this log only")
    accounts = ctx.config.accounts
    delivery = Delivery(cfg, channels, lambda: attach(ctx.store_target, ctx.epoch,
                                                      SystemClock()), source=source(ctx),
                        account=accounts[0].account if len(accounts) == 1 else None)
    delivery.start()
    timeout = cfg.send_timeout_secs * max(len(channels.working), 1) + CLOSE_EXTRA_SECS
    return AlertsService(Rules(Thresholds.from_config(cfg)), delivery, timeout)
