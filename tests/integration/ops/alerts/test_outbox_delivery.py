"""The delivery thread with a real store (SQLite and PostgreSQL) and a real webhook server:
delivered and marked, kept while the webhook is down, sent again after a crash between send
and mark, and sent directly while the store fails."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict

import psycopg
import pytest

from ops.alerts import delivery
from ops.alerts.channels import resolve
from ops.alerts.delivery import Delivery
from ops.alerts.model import Alert, Findings, StopProbe
from ops.alerts.settings import AlertsConfig, WebhookConfig
from persistence.factory import attach, open_instance
from system.clock import SystemClock
from tests.integration.ops.alerts import http_servers
from tests.integration.persistence.conftest import StoreCfg
from tests.waiting import wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))
FAST = dict(group_window_secs=0.2, retry_min_secs=0.05, retry_max_secs=0.3,
            send_timeout_secs=2.0)


@pytest.fixture(params=["sqlite", "postgres"])
def target(request, tmp_path) -> Iterator[tuple[StoreCfg, int]]:
    """A migrated store on each backend, its instance lock held: (cfg, epoch)."""
    if request.param == "sqlite":
        cfg = StoreCfg("sqlite", sqlite_path=str(tmp_path / "var" / "store.sqlite3"))
    else:
        cfg = StoreCfg("postgres", postgres_dsn=request.getfixturevalue("pg_dsn"))
    lock, holder = open_instance(cfg, SystemClock())
    try:
        yield cfg, holder.epoch
    finally:
        lock.release()


@pytest.fixture
def deliveries() -> Iterator[list[Delivery]]:
    made: list[Delivery] = []
    yield made
    for d in made:
        d.close(5)


def _start(target, url: str, made: list[Delivery], **cfg) -> Delivery:
    store_cfg, epoch = target
    alerts = AlertsConfig(webhook=WebhookConfig(url_env="HOOK"), **{**FAST, **cfg})
    d = Delivery(alerts, resolve(alerts, {"HOOK": url}),
                 lambda: attach(store_cfg, epoch, SystemClock()), source="itest")
    made.append(d)
    d.start()
    return d


def _alert(text: str) -> Alert:
    return Alert("quarantined", "critical", text, SystemClock().now_ms(), "BTCUSDT")


def _rows(target, channel: str = "webhook"):
    store_cfg, epoch = target
    with attach(store_cfg, epoch, SystemClock()) as store:
        return store.pending_alerts(channel, due_at_ms=10**15)


def test_alerts_at_once_reach_the_webhook_as_one_message_and_are_marked_delivered(
        target, hook, deliveries):
    d = _start(target, f"{hook.url}/hook", deliveries)

    d.submit(Findings(tuple(_alert(f"SYM{i}USDT QUARANTINED") for i in range(3))))

    (body,) = hook.wait_for(lambda got: got and [r.body for r in got], "one message")
    assert [a["text"] for a in body["alerts"]] == [f"SYM{i}USDT QUARANTINED" for i in range(3)]
    assert all(isinstance(a["id"], int) for a in body["alerts"]), "sent from the outbox"
    wait_for(lambda: _rows(target) == [], 15, "the alerts marked delivered")
    d.submit(Findings((_alert("ETHUSDT QUARANTINED later"),)))
    later = hook.wait_for(lambda got: len(got) >= 2 and [r.body for r in got], "a later alert")
    assert [a["text"] for a in later[1]["alerts"]] == ["ETHUSDT QUARANTINED later"], \
        "the first three were not sent again"


def test_alerts_wait_in_the_outbox_while_the_webhook_is_down_and_go_out_when_it_is_up(
        target, deliveries, servers):
    port = http_servers.unused_port()
    d = _start(target, f"http://127.0.0.1:{port}/hook", deliveries)

    d.submit(Findings((_alert("BTCUSDT QUARANTINED while the hook is down"),)))

    rows = wait_for(lambda: [r for r in _rows(target) if r.attempts >= 2], 15,
                    "two failed attempts")
    assert "Connection refused" in rows[0].last_error
    up = http_servers.webhook(port=port).start()
    servers.append(up)
    (body,) = up.wait_for(lambda got: got and [r.body for r in got], "the retried alert")
    assert body["alerts"][0]["text"] == "BTCUSDT QUARANTINED while the hook is down"
    wait_for(lambda: _rows(target) == [], 15, "the alert marked delivered")


def test_a_crash_between_the_send_and_its_mark_sends_the_alert_again(target, deliveries,
                                                                      servers):
    hook = http_servers.webhook().start()
    servers.append(hook)
    hook.hold.set()
    store_cfg, epoch = target
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.ops.alerts._sender_child",
         json.dumps({"store": asdict(store_cfg), "epoch": epoch, "url": f"{hook.url}/hook",
                     "text": "ETHUSDT QUARANTINED before the crash"})],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        (first,) = hook.wait_for(lambda got: got and [r.body for r in got], "the child's send",
                                 30)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    hook.hold.clear()
    hook.released.set()
    assert [r.id for r in _rows(target)] == [first["alerts"][0]["id"]], "still pending"

    _start(target, f"{hook.url}/hook", deliveries)

    bodies = hook.wait_for(lambda got: len(got) >= 2 and [r.body for r in got], "the resend")
    assert bodies[1]["alerts"][0]["id"] == first["alerts"][0]["id"]
    assert bodies[1]["alerts"][0]["text"] == "ETHUSDT QUARANTINED before the crash"
    wait_for(lambda: _rows(target) == [], 15, "the resent alert marked delivered")


def test_while_the_store_fails_alerts_are_sent_directly_and_its_recovery_is_alerted(
        pg_dsn, hook, deliveries, monkeypatch):
    # The store is tried again every REOPEN_MS / RECHECK_MS (5 s): shortened for the test.
    monkeypatch.setattr(delivery, "REOPEN_MS", 300)
    monkeypatch.setattr(delivery, "RECHECK_MS", 300)
    cfg = StoreCfg("postgres", postgres_dsn=pg_dsn)
    lock, holder = open_instance(cfg, SystemClock())
    dbname = psycopg.conninfo.conninfo_to_dict(pg_dsn)["dbname"]
    admin_dsn = pg_dsn.replace(f"dbname={dbname}", "dbname=postgres")
    try:
        d = _start((cfg, holder.epoch), f"{hook.url}/hook", deliveries)
        d.submit(Findings((_alert("opened the store"),)))
        hook.wait_for(lambda got: got, "the first alert")
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                          "datname = %s AND application_name = 'posguard'", (dbname,))

        d.submit(Findings((_alert("SOLUSDT QUARANTINED while the store is down"),)))

        direct = hook.wait_for(lambda got: len(got) >= 2 and got[1].body, "the direct send")
        assert [(a["id"], a["kind"]) for a in direct["alerts"]] == [
            (None, "quarantined"), (None, "store_failed")]
        assert "the store is failing" in direct["alerts"][1]["text"]
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
        back = hook.wait_for(lambda got: any(
            a["text"] == "the store works again" for r in got for a in r.body["alerts"]),
            "the store's recovery alert", 20)
        assert back
    finally:
        lock.release()


def test_a_stop_fill_in_the_real_journal_is_alerted_when_stop_fired_is_on(target, hook,
                                                                          deliveries):
    store_cfg, epoch = target
    with attach(store_cfg, epoch, SystemClock()) as store:
        for seq, kind, payload in [(1, "stop_placed", {}), (2, "stop_filled", {
                "price": "58790.1", "pnl": "-12.1", "client_id": "pg-1-BTCUSDT-sl-1"})]:
            store.append("BTCUSDT", expected_seq=seq - 1, kind=kind, payload=payload,
                         state={"n": seq}, live=seq == 1, correlation_id=f"c{seq}")
    d = _start(target, f"{hook.url}/hook", deliveries, stop_fired=True)

    d.submit(Findings(probes=(StopProbe("BTCUSDT", 1, SystemClock().now_ms()),)))

    (body,) = hook.wait_for(lambda got: got and [r.body for r in got], "the stop_fired alert")
    assert [(a["kind"], a["text"]) for a in body["alerts"]] == [
        ("stop_fired", "BTCUSDT stop filled at 58790.1 (pnl -12.1)")]
