"""Operator services around the engine (issue 17), run by the launcher (`posguard run`).

They read what the launcher already learns once a second (the supervisor's status) and the
store; they never send a command to an actor and never block or crash protection: the hub
(ops/hub.py) guards every call into them.

- ops/alerts: the durable alert outbox, rules over the status, webhook and Telegram delivery.
- ops/metrics: the Prometheus endpoint (prometheus_client) on a loopback port.
- ops/page: the read-only status page on a loopback port.
"""
