"""`posguard alerts test` against local webhook and Bot API servers: through the real CLI
process, and (the cases with no server to reach) through system.cli.main in this process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.ops.alerts.conftest import BOT_TOKEN, CHAT_ID

REPO = Path(__file__).resolve().parents[4]
BOTH = ("--set", "alerts.webhook.url_env=PG_TEST_HOOK", "--set",
        "alerts.telegram.token_env=PG_TEST_BOT_TOKEN", "--set",
        "alerts.telegram.chat_id_env=PG_TEST_BOT_CHAT")


def _alerts_test(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PG_TEST_")}
    return subprocess.run([sys.executable, "-m", "system.cli", "alerts", "test", "--config",
                           str(REPO / "config.yaml"), *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={**clean, **env})


def test_alerts_test_sends_one_alert_to_the_webhook_and_telegram(hook, bot_api):
    r = _alerts_test(*BOTH, "--set", f"alerts.telegram.api_url={bot_api.url}", "--json",
                     env={"PG_TEST_HOOK": f"{hook.url}/hook/secret",
                          "PG_TEST_BOT_TOKEN": BOT_TOKEN, "PG_TEST_BOT_CHAT": CHAT_ID})

    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] is True
    assert [(c["channel"], c["ok"]) for c in out["channels"]] == [("webhook", True),
                                                                 ("telegram", True)]
    (to_hook,) = hook.bodies()
    assert to_hook["alerts"][0]["kind"] == "test"
    assert "the webhook channel works" in to_hook["text"]
    (to_bot,) = bot_api.bodies()
    assert to_bot["chat_id"] == CHAT_ID and "the telegram channel works" in to_bot["text"]


def test_alerts_test_with_a_wrong_telegram_token_fails_with_telegrams_reason(hook, bot_api):
    r = _alerts_test(*BOTH, "--set", f"alerts.telegram.api_url={bot_api.url}",
                     env={"PG_TEST_HOOK": f"{hook.url}/hook", "PG_TEST_BOT_TOKEN": "1:wrong",
                          "PG_TEST_BOT_CHAT": CHAT_ID})

    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0].startswith("webhook   ok")
    assert lines[1].startswith("telegram  FAILED  Telegram refused sendMessage: 401 "
                               "Unauthorized (check the bot token in $PG_TEST_BOT_TOKEN)")
    assert "1:wrong" not in r.stdout + r.stderr
    assert len(hook.received) == 1 and len(bot_api.received) == 1


def _in_process(capsys, monkeypatch, *args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """The same command through system.cli.main in this process (no interpreter start)."""
    from system.cli import main
    for name in [k for k in os.environ if k.startswith("PG_TEST_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    rc = main(["alerts", "test", "--config", str(REPO / "config.yaml"), *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_alerts_test_with_no_channel_configured_says_which_keys_to_set(capsys, monkeypatch):
    rc, _, err = _in_process(capsys, monkeypatch, env={})

    assert rc == 1
    assert "no alert channel is configured: set alerts.webhook.url_env" in err


def test_alerts_test_names_the_key_and_the_variable_that_is_not_set(hook, capsys, monkeypatch):
    rc, out, _ = _in_process(capsys, monkeypatch, *BOTH, "--json",
                             env={"PG_TEST_HOOK": f"{hook.url}/hook",
                                  "PG_TEST_BOT_CHAT": CHAT_ID})

    assert rc == 1
    by = {c["channel"]: c for c in json.loads(out)["channels"]}
    assert by["webhook"]["ok"] is True and len(hook.received) == 1
    assert by["telegram"] == {"channel": "telegram", "ok": False, "detail": (
        "alerts.telegram.token_env: the environment variable PG_TEST_BOT_TOKEN is not set "
        "(alerts for telegram stay in the outbox)")}


def test_alerts_test_against_an_unreachable_webhook_fails_naming_the_host(capsys, monkeypatch):
    from tests.integration.ops.alerts.http_servers import unused_port
    port = unused_port()

    rc, out, err = _in_process(capsys, monkeypatch, "--set", "alerts.webhook.url_env=PG_TEST_HOOK",
                               env={"PG_TEST_HOOK": f"http://127.0.0.1:{port}/secret-path"})

    assert rc == 1
    assert f"FAILED  cannot connect to 127.0.0.1:{port} (Connection refused)" in out
    assert "secret-path" not in out + err
