"""Prometheus metrics (prometheus_client) on a loopback port."""
