"""SimServer lifecycle, binding, `posguard sim` entry point, bench."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from system.sim.bench import bench_sim, format_bench_sim
from system.sim.server import SimServer
from system.sim.settings import SimSettings

ROOT = Path(__file__).resolve().parents[3]


def test_start_returns_url_and_stop_is_idempotent():
    s = SimServer(SimSettings(walk_interval_ms=50))
    url = s.start()
    assert url == f"http://127.0.0.1:{s.port}" and s.port > 0
    with urllib.request.urlopen(url + "/fapi/v1/time", timeout=5) as r:
        assert r.status == 200
    s.stop()
    s.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/fapi/v1/time", timeout=2)


def test_binds_only_to_loopback(sim):
    out = subprocess.run(["ss", "-ltn"], capture_output=True, text=True, timeout=10).stdout
    lines = [ln for ln in out.splitlines() if f":{sim.port} " in ln]
    assert lines and all("127.0.0.1:" in ln for ln in lines)


def test_all_interfaces_host_is_refused():
    with pytest.raises(ValueError):
        SimServer(SimSettings(host="0.0.0.0"))


def test_settings_fields_carry_docs():
    from dataclasses import fields
    for f in fields(SimSettings):
        assert f.metadata["doc"], f.name


def test_serve_forever_prints_url_first_and_exits_0_on_sigterm():
    code = ("import sys; from system.sim.server import serve_forever; "
            "from system.sim.settings import SimSettings; "
            "sys.exit(serve_forever(SimSettings()))")
    p = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = p.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        with urllib.request.urlopen(line.split()[-1] + "/fapi/v1/ping", timeout=5) as r:
            assert r.status == 200
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0  # generous: CI runs this beside actor systems
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        p.stdout.close()


def test_bench_sim_reports_latencies():
    r = bench_sim(SimSettings(walk_interval_ms=3_600_000), requests=30, events=20)
    assert r["cores"] == os.cpu_count()
    assert r["rest_round_trip"]["n"] == 30 and r["rest_round_trip"]["p50_ms"] > 0
    assert r["user_stream_latency"]["n"] == 20 and r["user_stream_latency"]["lost"] == 0
    assert "p99 ms" in format_bench_sim(r)
