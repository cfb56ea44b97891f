"""Child process for the crash test: record one alert in the outbox, send it, and be killed
while the webhook holds its reply (between the send and the mark)."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

from ops.alerts.channels import resolve
from ops.alerts.delivery import Delivery
from ops.alerts.model import Alert, Findings
from ops.alerts.settings import AlertsConfig, WebhookConfig
from persistence.factory import attach
from system.clock import SystemClock

if __name__ == "__main__":
    args = json.loads(sys.argv[1])
    target = SimpleNamespace(**args["store"])  # factory.py reads it duck-typed
    cfg = AlertsConfig(webhook=WebhookConfig(url_env="HOOK"), group_window_secs=0,
                       send_timeout_secs=60)
    delivery = Delivery(cfg, resolve(cfg, {"HOOK": args["url"]}),
                        lambda: attach(target, args["epoch"], SystemClock()), source="child")
    delivery.submit(Findings((Alert("quarantined", "critical", args["text"],
                                    SystemClock().now_ms(), "BTCUSDT"),)))
    delivery.step()  # the webhook holds its reply: the test SIGKILLs us in here
    print("the send returned: the test did not hold the webhook", flush=True)
