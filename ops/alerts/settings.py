"""The `alerts:` section of config.yaml.

Secrets (the webhook URL, the bot token, the chat id) are never in the file: only the names
of the environment variables that hold them. A channel whose variable name is empty is not
configured; with none configured, alerts still go to the outbox and the launcher's log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from system.config_schema import ConfigError

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _f(default, doc: str, **limits):
    return field(default=default, metadata={"doc": doc, **limits})


def _env_name(key: str, value: str, holds: str) -> None:
    """ConfigError unless `value` is empty or an environment variable's name."""
    if value and not ENV_NAME.match(value):
        raise ConfigError(f"{key}: {value!r} is not an environment variable name (the {holds} "
                          f"is a secret: put it in a variable and name the variable here)")


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """A JSON webhook: generic, or a Slack / Discord incoming hook."""

    url_env: str = _f("", "NAME of the environment variable holding the webhook URL (empty: "
                          "no webhook)")
    format: Literal["generic", "slack", "discord"] = _f(
        "generic", "generic ({text, alerts: [...]}) | slack ({text}) | discord ({content})")

    def __post_init__(self) -> None:
        _env_name("alerts.webhook.url_env", self.url_env, "URL")


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """A Telegram bot posting to one chat (Bot API sendMessage)."""

    token_env: str = _f("", "NAME of the environment variable holding the bot token (empty: "
                            "no Telegram)")
    chat_id_env: str = _f("", "NAME of the environment variable holding the chat id")
    api_url: str = _f("https://api.telegram.org", "Bot API base URL (scheme://host[:port])")

    def __post_init__(self) -> None:
        _env_name("alerts.telegram.token_env", self.token_env, "bot token")
        _env_name("alerts.telegram.chat_id_env", self.chat_id_env, "chat id")
        if self.token_env and not self.chat_id_env:
            raise ConfigError("alerts.telegram.chat_id_env: empty, but alerts.telegram."
                              "token_env is set; name the variable holding the chat id")
        if not re.match(r"^https?://[^/\s]+/?$", self.api_url):
            raise ConfigError(f"alerts.telegram.api_url: {self.api_url!r} is not "
                              "scheme://host[:port] (e.g. https://api.telegram.org)")


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """Where alerts go and when they fire (secrets only by environment-variable name)."""

    unprotected_secs: float = _f(
        10.0, "alert when a position has had no resting stop for longer than this (s)",
        min=0, max=86_400)
    stream_down_secs: float = _f(
        60.0, "alert when a stream has not been connected for longer than this (s)",
        min=0, max=86_400)
    stop_fired: bool = _f(False, "also alert when a stop (or trailing stop) of ours fills")
    max_per_minute: int = _f(
        10, "messages per minute per channel; alerts beyond it wait and go out grouped",
        min=1, max=600)
    group_window_secs: float = _f(
        2.0, "alerts raised within this many seconds of the first go out as one message",
        min=0, max=600)
    retry_min_secs: float = _f(1.0, "first retry delay of a failed send (s; doubles, jittered)",
                               min=0.01, max=3600)
    retry_max_secs: float = _f(300.0, "largest retry delay of a failed send (s)", min=0.01,
                               max=86_400)
    send_timeout_secs: float = _f(5.0, "timeout of one HTTP request to a channel (s)",
                                  min=0.1, max=120)
    webhook: WebhookConfig = field(default_factory=WebhookConfig, metadata={
        "doc": "a JSON webhook (generic, Slack or Discord incoming hook)"})
    telegram: TelegramConfig = field(default_factory=TelegramConfig, metadata={
        "doc": "a Telegram bot (Bot API sendMessage)"})

    def __post_init__(self) -> None:
        if self.retry_min_secs > self.retry_max_secs:
            raise ConfigError(f"alerts.retry_min_secs: {self.retry_min_secs:g} is larger than "
                              f"alerts.retry_max_secs ({self.retry_max_secs:g})")
