"""Message text and the JSON each channel format sends."""

from __future__ import annotations

import pytest

from ops.alerts.formats import compose, payload
from ops.alerts.model import Alert

T0 = 1_700_000_000_000
SOURCE = "host1, paper, epoch 3"


def _alert(i=0, severity="critical", resolved=False, kind="quarantined"):
    return Alert(kind, severity, f"SYM{i:03d}USDT QUARANTINED by its actor: reason {i}", T0 + i,
                 f"SYM{i:03d}USDT", resolved)


def test_one_alert_is_one_line_naming_severity_and_source():
    msg = compose([(7, _alert())], source=SOURCE, max_chars=4000)

    assert msg.text == ("[posguard host1, paper, epoch 3] CRITICAL: SYM000USDT QUARANTINED by "
                        "its actor: reason 0")
    assert msg.alerts == ({"id": 7, "kind": "quarantined", "severity": "critical",
                           "symbol": "SYM000USDT", "resolved": False,
                           "text": "SYM000USDT QUARANTINED by its actor: reason 0",
                           "at_ms": T0},)


def test_many_alerts_are_one_message_with_a_count_critical_first():
    items = [(1, _alert(1, "info", resolved=True)), (2, _alert(2, "warning")),
             (3, _alert(3, "critical"))]

    msg = compose(items, source=SOURCE, max_chars=4000)

    lines = msg.text.splitlines()
    assert lines[0] == ("[posguard host1, paper, epoch 3] 3 alerts: 1 critical, 1 warning, "
                        "1 resolved")
    assert [line.split(":")[0] for line in lines[1:]] == ["CRITICAL", "WARNING", "RESOLVED"]
    assert [a["id"] for a in msg.alerts] == [1, 2, 3]


def test_thirty_alerts_fit_the_channels_limit_and_say_how_many_are_not_listed():
    items = [(i, _alert(i)) for i in range(30)]

    msg = compose(items, source=SOURCE, max_chars=600)

    assert len(msg.text) <= 600
    assert msg.text.splitlines()[0].endswith("30 alerts: 30 critical")
    listed = [line for line in msg.text.splitlines() if line.startswith("CRITICAL")]
    assert 0 < len(listed) < 30
    assert msg.text.splitlines()[-1] == f"... and {30 - len(listed)} more (see the launcher's log)"
    assert len(msg.alerts) == 30, "the generic webhook's JSON carries every alert"


def test_a_single_overlong_alert_is_cut_to_the_limit():
    long = Alert("quarantined", "critical", "x" * 5000, T0)
    assert len(compose([(1, long)], source=SOURCE, max_chars=2000).text) == 2000


@pytest.mark.parametrize("fmt,expected_keys", [("generic", {"text", "alerts"}),
                                               ("slack", {"text"}), ("discord", {"content"})])
def test_each_webhook_format_sends_its_own_json(fmt, expected_keys):
    msg = compose([(1, _alert())], source=SOURCE, max_chars=4000)

    body = payload(fmt, msg)

    assert set(body) == expected_keys
    assert msg.text in body.values()
    if fmt == "generic":
        assert body["alerts"] == list(msg.alerts)
