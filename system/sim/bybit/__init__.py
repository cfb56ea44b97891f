"""The simulator's Bybit v5 front (category=linear, one-way mode) over the shared engine.

rest.py lists the routes, serve.py runs one request through Bybit's checks (IP limit, auth,
per-endpoint limit) to its handler. Facts: /work/shared/protocol/bybit-linear.md.
"""
