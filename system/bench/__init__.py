"""`posguard bench`: the real system in paper mode against the simulator, measured.

Modules: stats (percentiles, ratios), reaction (which tick caused which stop), memory (PSS),
system (the system under test), durability (SIGKILL trials), run (the sections in order),
report (table, JSON, plot).
"""
