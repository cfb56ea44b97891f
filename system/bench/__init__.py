"""`posguard bench`: the real system in paper mode against the simulator, measured.

Modules: stats (percentiles, ratios), reaction (which tick caused which stop), memory (PSS),
target (the system under test), durability (SIGKILL trials), recovery (single-actor kills,
cold restart), rtt (per-RTT floors, latency, open burst), stoplag (ideal - resting stop),
budget (the stop-lag section under the real order budget), run (the sections in order),
report and report_targets (table, targets met / missed, JSON, plot).
"""
