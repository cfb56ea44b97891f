"""A prometheus_client Collector over the latest Reading (ops/metrics/reading.py).

A custom collector rather than library gauges: each scrape shows exactly the latest status,
so a symbol that is gone has no gauges left behind, and nothing is ever half updated (the
launcher replaces the Reading whole; a scrape reads one reference).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from ops.metrics.catalogue import COUNTER, GAUGE, SPECS, Spec
from ops.metrics.reading import Reading


class LatestCollector(Collector):
    """Serves `reading`, the latest one the metrics service was given."""

    def __init__(self, clock_ms: Callable[[], int] | None = None) -> None:
        self.reading: Reading | None = None
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)

    def collect(self) -> Iterator[Metric]:
        """Every family of the catalogue (empty ones too: the endpoint says what it has)."""
        r = self.reading
        for spec in SPECS:
            if spec.name == "posguard_status_age_seconds":
                yield self._age(spec, r)
            elif spec.kind == GAUGE or spec.kind == COUNTER:
                yield _family(spec, r)
            else:
                yield _histogram(spec, r)

    def _age(self, spec: Spec, r: Reading | None) -> Metric:
        g = GaugeMetricFamily(spec.name, spec.help)
        if r is not None:
            g.add_metric([], max(self._clock_ms() - r.at_ms, 0) / 1000)
        return g


def _family(spec: Spec, r: Reading | None) -> Metric:
    cls = CounterMetricFamily if spec.kind == COUNTER else GaugeMetricFamily
    family = cls(spec.name, spec.help, labels=list(spec.labels))
    for labels, value in (r.samples.get(spec.name, ()) if r is not None else ()):
        family.add_metric(list(labels), value)
    return family


def _histogram(spec: Spec, r: Reading | None) -> Metric:
    h = HistogramMetricFamily(spec.name, spec.help, labels=list(spec.labels))
    if r is not None:
        buckets = [(floatToGoString(le), n) for le, n in r.appends.buckets]
        h.add_metric([], [*buckets, ("+Inf", r.appends.count)], r.appends.sum)
    return h
