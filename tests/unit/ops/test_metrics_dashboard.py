"""docs/grafana-posguard.json is a Grafana dashboard over a Prometheus datasource variable
whose every query names only metrics the exporter exposes, and which shows every one of them."""

from __future__ import annotations

import json
import re
from itertools import combinations
from typing import Any

import pytest

from ops.metrics.catalogue import HISTOGRAM, SPECS
from tests.fixtures.engine import REPO
from tests.unit.ops.test_metrics_collector import (
    T0,
    Scraper,
    counters,
    entry,
    pool,
    status,
    stream,
    view,
)

DASHBOARD = REPO / "docs" / "grafana-posguard.json"
METRIC = re.compile(r"\bposguard_[a-z0-9_]+")


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def _panels(d: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in d["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def _exprs(d: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in _panels(d) for t in p.get("targets", [])]


def _exposed() -> set[str]:
    """Every sample name the exporter serves for a status that has something of everything."""
    s = Scraper()
    sym = view("BTCUSDT", mark="60000", stop="58800", quarantines=1,
               c=counters(moves=1, failures=(("temporary", 1),), appends=(0.002,),
                          unprotected_ms=10))
    st = status(entry(sym), streams=(stream("user"), stream("market")), pool_status=pool())
    s.observe(st, T0)
    s.observe(st, T0 + 1000)
    return {name for name, _ in s.scrape()}


def test_every_query_names_only_metrics_the_exporter_exposes(dashboard):
    exposed = _exposed()

    used = {m for e in _exprs(dashboard) for m in METRIC.findall(e)}

    assert used and used <= exposed, f"not exposed: {sorted(used - exposed)}"


def test_every_metric_the_exporter_exposes_has_a_panel(dashboard):
    used = {m for e in _exprs(dashboard) for m in METRIC.findall(e)}

    missing = [s.name for s in SPECS if s.name not in used and not (
        s.kind == HISTOGRAM and {f"{s.name}_{x}" for x in ("bucket", "sum", "count")} & used)]

    assert missing == []


def test_it_is_a_dashboard_over_a_prometheus_datasource_variable(dashboard):
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    ds = variables["datasource"]
    assert (ds["type"], ds["query"]) == ("datasource", "prometheus")
    assert dashboard["title"] and dashboard["uid"] and dashboard["schemaVersion"] >= 30

    panels = [p for p in _panels(dashboard) if p["type"] != "row"]
    assert panels and len({p["id"] for p in _panels(dashboard)}) == len(_panels(dashboard))
    for p in panels:
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        assert p["targets"] and all(t["datasource"]["uid"] == "${datasource}"
                                    for t in p["targets"]), p["title"]


def test_no_two_panels_overlap_on_the_grid(dashboard):
    boxes = [(p["title"], p["gridPos"]) for p in _panels(dashboard)]
    for (a, g), (b, h) in combinations(boxes, 2):
        apart = (g["x"] + g["w"] <= h["x"] or h["x"] + h["w"] <= g["x"]
                 or g["y"] + g["h"] <= h["y"] or h["y"] + h["h"] <= g["y"])
        assert apart, f"{a!r} overlaps {b!r}"
    assert all(g["x"] >= 0 and g["x"] + g["w"] <= 24 for _, g in boxes)
