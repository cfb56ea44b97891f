"""Alerts from a real `posguard run` (launcher + actor processes + simulator + SQLite) to a
real local webhook. One scenario, two launcher runs (the suite's time budget allows one such
test): a stop the exchange refuses three times is alerted while the webhook is down and
Telegram is misconfigured (both logged by key, protection goes on), the whole system is
SIGKILLed, and after a restart with the webhook up the first run's alert reaches it."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from persistence.factory import attach
from system.clock import SystemClock
from tests.integration.ops.alerts import http_servers

SYM, QTY, ENTRY = "BTCUSDT", "0.010", "60000"
ALGO = "/fapi/v1/algoOrder"
REFUSED = dict(code=-1001, msg="Internal error; unable to process your request.")
HOOK_ENV, NO_TOKEN_ENV = "PG_ALERT_TEST_HOOK", "PG_ALERT_TEST_NO_TOKEN"
SETS = ("alerts.retry_min_secs=0.2", "alerts.retry_max_secs=1", "alerts.group_window_secs=0.3",
        f"alerts.webhook.url_env={HOOK_ENV}", f"alerts.telegram.token_env={NO_TOKEN_ENV}",
        "alerts.telegram.chat_id_env=PG_ALERT_TEST_NO_CHAT", "actor_system.shutdown_grace_secs=1")


def _alerts(received) -> list[dict]:
    return [a for r in received for a in r.body["alerts"]]


def test_a_refused_stop_alerted_while_the_webhook_is_down_reaches_it_after_sigkill_and_restart(
        systems, sim_control, servers, tmp_path, monkeypatch):
    port = http_servers.unused_port()
    monkeypatch.setenv(HOOK_ENV, f"http://127.0.0.1:{port}/hooks/secret-path")
    monkeypatch.delenv(NO_TOKEN_ENV, raising=False)
    first = systems(*SETS)
    sim_control.set_price(SYM, ENTRY, mark=ENTRY)
    for _ in range(3):  # MAX_STOP_FAILURES: quarantined, then the stop is placed again
        sim_control.fail_next("POST", ALGO, **REFUSED)

    assert first.cli("open", SYM, "--side", "long", "--qty", QTY, "--no-wait").returncode == 0

    # Protection is not held up by the dead webhook or the broken Telegram settings.
    row = first.wait_state(SYM, "PROTECTED")
    stops = [o for o in sim_control.state()["open_algo_orders"] if o["symbol"] == SYM]
    assert [str(s["algoId"]) for s in stops] == [row["stop_order_id"]]
    assert Decimal(stops[0]["quantity"]) == Decimal(QTY)
    outbox = SimpleNamespace(backend="sqlite", sqlite_path=str(tmp_path / "posguard.sqlite3"))

    def tried_and_pending():
        with attach(outbox, 0, SystemClock()) as store:
            rows = store.pending_alerts("webhook", due_at_ms=10**15)
        return [r for r in rows if r.kind == "stop_failed" and r.attempts >= 1]

    (pending,) = first.wait_for(tried_and_pending, "the stop failure's alert, tried", 30)
    # Seen QUARANTINED (critical) or, if it was over by the next status read, as "was
    # QUARANTINED" (warning) from the actor's count: either way the stop failure is named.
    assert "QUARANTINED" in pending.text and "Internal error" in pending.text
    assert "stop placement failed past its retries" in pending.text
    assert "Connection refused" in pending.last_error
    log = first.tail(500_000)
    assert f"alerts.webhook: cannot connect to 127.0.0.1:{port} (Connection refused)" in log
    assert (f"alerts.telegram.token_env: the environment variable {NO_TOKEN_ENV} is not "
            "set") in log
    assert "secret-path" not in log

    first.kill_all()
    hook = http_servers.webhook(port=port).start()
    servers.append(hook)
    second = systems(*SETS)

    got = hook.wait_for(lambda got: any(a["id"] == pending.id for a in _alerts(got)) and got,
                        "the first run's alert after the restart", 30)
    alert = next(a for a in _alerts(got) if a["id"] == pending.id)
    assert (alert["kind"], alert["severity"], alert["text"]) == (
        "stop_failed", pending.severity, pending.text)
    assert any(a["kind"] == "started" and "epoch 1" in a["text"] for a in _alerts(got))
    assert second.terminate() == 0
    hook.wait_for(lambda got: any(a["kind"] == "stopped" for a in _alerts(got)),
                  "the engine's stopped alert", 10)
