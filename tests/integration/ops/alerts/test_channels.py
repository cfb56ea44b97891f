"""The webhook and Telegram channels against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from ops.alerts.channels import ChannelRefused, ChannelUnavailable, resolve
from ops.alerts.formats import compose
from ops.alerts.model import Alert
from ops.alerts.settings import AlertsConfig, TelegramConfig, WebhookConfig
from tests.integration.ops.alerts import http_servers
from tests.integration.ops.alerts.conftest import BOT_TOKEN, CHAT_ID

T0 = 1_700_000_000_000
MSG = compose([(5, Alert("quarantined", "critical", "BTCUSDT QUARANTINED by its actor: x", T0,
                         "BTCUSDT"))], source="test", max_chars=4000)


def _webhook(url: str, fmt: str = "generic", timeout: float = 2.0):
    cfg = AlertsConfig(webhook=WebhookConfig(url_env="HOOK_URL", format=fmt),
                       send_timeout_secs=timeout)
    chans = resolve(cfg, {"HOOK_URL": url})
    assert chans.problems == ()
    return chans.working["webhook"]


def _telegram(api_url: str, token: str = BOT_TOKEN, chat: str = CHAT_ID):
    cfg = AlertsConfig(telegram=TelegramConfig(token_env="BOT_TOKEN", chat_id_env="BOT_CHAT",
                                               api_url=api_url), send_timeout_secs=2.0)
    chans = resolve(cfg, {"BOT_TOKEN": token, "BOT_CHAT": chat})
    assert chans.problems == ()
    return chans.working["telegram"]


@pytest.mark.parametrize("fmt,key", [("generic", "text"), ("slack", "text"),
                                     ("discord", "content")])
def test_the_webhook_posts_json_in_its_format(hook, fmt, key):
    _webhook(f"{hook.url}/hooks/T000/B000/secret", fmt).send(MSG)

    (got,) = hook.received
    assert got.path == "/hooks/T000/B000/secret"
    assert got.content_type.startswith("application/json")
    assert got.body[key] == MSG.text
    if fmt == "generic":
        assert got.body["alerts"][0]["id"] == 5
        assert got.body["alerts"][0]["kind"] == "quarantined"


def test_a_discord_hook_answering_204_no_content_took_the_message(servers):
    discord = http_servers.webhook(204, "").start()
    servers.append(discord)
    _webhook(f"{discord.url}/api/webhooks/1/tok", "discord").send(MSG)
    assert discord.bodies() == [{"content": MSG.text}]


def test_a_webhook_answering_500_is_unavailable_and_a_404_is_refused(servers):
    broken, gone = http_servers.webhook(500, "oops").start(), http_servers.webhook(
        404, "no_service").start()
    servers += [broken, gone]

    with pytest.raises(ChannelUnavailable, match="HTTP 500"):
        _webhook(f"{broken.url}/x").send(MSG)
    with pytest.raises(ChannelRefused, match="HTTP 404.*no_service"):
        _webhook(f"{gone.url}/x").send(MSG)


def test_an_unreachable_webhook_is_unavailable_and_the_error_never_shows_the_url():
    port = http_servers.unused_port()

    with pytest.raises(ChannelUnavailable) as err:
        _webhook(f"http://127.0.0.1:{port}/hooks/very-secret-path").send(MSG)

    assert f"127.0.0.1:{port}" in str(err.value)
    assert "refused" in str(err.value).lower()
    assert "very-secret-path" not in str(err.value)


def test_a_webhook_that_does_not_answer_times_out_within_the_send_timeout(servers):
    slow = http_servers.webhook().start()
    servers.append(slow)
    slow.hold.set()
    started = time.monotonic()

    with pytest.raises(ChannelUnavailable, match="no answer"):
        _webhook(f"{slow.url}/x", timeout=0.5).send(MSG)

    assert time.monotonic() - started < 5


def test_telegram_posts_chat_id_and_text_to_send_message(bot_api):
    _telegram(bot_api.url).send(MSG)

    (got,) = bot_api.received
    assert got.path == f"/bot{BOT_TOKEN}/sendMessage"
    assert got.body == {"chat_id": CHAT_ID, "text": MSG.text}


def test_a_wrong_telegram_token_is_refused_with_telegrams_description_and_no_token(bot_api):
    with pytest.raises(ChannelRefused) as err:
        _telegram(bot_api.url, token="999:wrong-token").send(MSG)

    text = str(err.value)
    assert "401 Unauthorized" in text and "BOT_TOKEN" in text
    assert "wrong-token" not in text


def test_a_wrong_telegram_chat_is_refused_naming_the_chat_variable(bot_api):
    with pytest.raises(ChannelRefused, match="chat not found.*BOT_CHAT"):
        _telegram(bot_api.url, chat="1").send(MSG)


def test_telegram_rate_limited_is_unavailable_with_its_retry_after(servers):
    limited = http_servers.Server(lambda path, body: (429, {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7}})).start()
    servers.append(limited)

    with pytest.raises(ChannelUnavailable) as err:
        _telegram(limited.url).send(MSG)

    assert err.value.retry_after_secs == 7
    assert "Too Many Requests" in str(err.value)
