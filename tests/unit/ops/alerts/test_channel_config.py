"""Which channels a config has, and every way their settings can be wrong (named by key)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.alerts.channels import resolve
from ops.alerts.settings import AlertsConfig, TelegramConfig, WebhookConfig
from system.config import ConfigError, from_data


def _load(alerts: dict) -> AlertsConfig:
    return from_data({"alerts": alerts}, base_dir=Path("/tmp")).alerts


def test_the_default_config_has_no_channel():
    chans = resolve(AlertsConfig(), {})
    assert (chans.names, chans.working, chans.problems) == ((), {}, ())


def test_both_channels_are_built_from_the_environment():
    cfg = AlertsConfig(webhook=WebhookConfig(url_env="HOOK"),
                       telegram=TelegramConfig(token_env="TOK", chat_id_env="CHAT"))
    chans = resolve(cfg, {"HOOK": "https://hooks.example.com/x", "TOK": "1:a", "CHAT": "5"})
    assert chans.names == ("webhook", "telegram") and chans.problems == ()
    assert set(chans.working) == {"webhook", "telegram"}
    assert "https://hooks.example.com/x" not in chans.working["webhook"].describe()
    assert "hooks.example.com" in chans.working["webhook"].describe()


@pytest.mark.parametrize("env,problem", [
    ({}, "alerts.webhook.url_env: the environment variable HOOK is not set"),
    ({"HOOK": ""}, "alerts.webhook.url_env: the environment variable HOOK is not set"),
    ({"HOOK": "hooks.example.com/x"}, "alerts.webhook.url_env: HOOK does not hold an "
                                      "http(s) URL"),
])
def test_a_configured_webhook_without_a_usable_url_is_a_problem_naming_key_and_variable(
        env, problem):
    chans = resolve(AlertsConfig(webhook=WebhookConfig(url_env="HOOK")), env)

    assert chans.names == ("webhook",), "still configured: its alerts wait in the outbox"
    assert chans.working == {}
    (found,) = chans.problems
    assert found.startswith(problem)
    assert "hooks.example.com/x" not in found


def test_a_configured_telegram_names_each_missing_variable():
    cfg = AlertsConfig(telegram=TelegramConfig(token_env="TOK", chat_id_env="CHAT"))
    chans = resolve(cfg, {"CHAT": "5"})
    assert chans.names == ("telegram",) and chans.working == {}
    assert chans.problems == ("alerts.telegram.token_env: the environment variable TOK is not "
                              "set (alerts for telegram stay in the outbox)",)


@pytest.mark.parametrize("alerts,message", [
    ({"webhook": {"url_env": "https://hooks.slack.com/services/T/B/x"}},
     "alerts.webhook.url_env: 'https://hooks.slack.com/services/T/B/x' is not an environment "
     "variable name"),
    ({"webhook": {"format": "teams"}},
     "alerts.webhook.format: 'teams' is not allowed; choose one of generic, slack, discord"),
    ({"telegram": {"token_env": "TOK"}}, "alerts.telegram.chat_id_env: empty"),
    ({"telegram": {"token_env": "123:abc"}}, "alerts.telegram.token_env: '123:abc' is not an "
                                            "environment variable name"),
    ({"telegram": {"api_url": "api.telegram.org"}}, "alerts.telegram.api_url:"),
    ({"max_per_minute": 0}, "alerts.max_per_minute: 0 is out of range"),
    ({"retry_min_secs": 10, "retry_max_secs": 5}, "alerts.retry_min_secs: 10 is larger"),
    ({"stop_fired": "yes"}, "alerts.stop_fired: expected true or false"),
    ({"webhook": {"url": "x"}}, "alerts.webhook.url: unknown key"),
])
def test_bad_alert_config_is_refused_naming_the_key(alerts, message):
    with pytest.raises(ConfigError) as err:
        _load(alerts)
    assert message in str(err.value)
