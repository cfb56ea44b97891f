"""The alert channels: a JSON webhook (generic, Slack, Discord) and Telegram's Bot API.

Secrets come only from the environment variables the config names, and never appear in an
error or a log line: a webhook's URL path and a bot token are both credentials, so errors
name the host and the variable instead (requests' own messages quote the whole URL).

Errors are grouped by what the delivery thread does about them:
- ChannelUnavailable: the network, a timeout, HTTP 5xx or 429: retried with backoff (and
  not before the channel's Retry-After);
- ChannelRefused: the channel answered no (4xx, Telegram `ok: false`): a setting to fix (the
  URL, the token, the chat id); retried at the longest backoff, the alerts stay in the outbox.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from ops.alerts.formats import MAX_CHARS, Message, payload

BODY_SHOWN = 200
USER_AGENT = "posguard-alerts"


class ChannelError(Exception):
    """A channel did not take a message; the text says why (never the URL or token)."""

    def __init__(self, text: str, retry_after_secs: float | None = None) -> None:
        super().__init__(text)
        self.retry_after_secs = retry_after_secs


class ChannelUnavailable(ChannelError):
    """Unreachable, timed out, 5xx or 429: retry with backoff."""


class ChannelRefused(ChannelError):
    """The channel said no (4xx): fix the named setting; retried at the longest backoff."""


@dataclass(frozen=True, slots=True)
class Webhook:
    """POST the message as JSON to a URL (generic, Slack or Discord incoming hook)."""

    url: str = field(repr=False)
    fmt: str
    timeout_secs: float
    url_env: str
    name: str = "webhook"
    key: str = "alerts.webhook"

    @property
    def max_chars(self) -> int:
        """The longest text this format takes."""
        return MAX_CHARS[self.fmt]

    def describe(self) -> str:
        """For logs: the format, the variable and the host (the URL itself is a secret)."""
        return f"webhook ({self.fmt}, URL from ${self.url_env}, host {_host(self.url)})"

    def send(self, msg: Message) -> None:
        """POST it; ChannelUnavailable or ChannelRefused if the hook did not take it."""
        r = _post(self.url, payload(self.fmt, msg), self.timeout_secs)
        if 200 <= r.status_code < 300:
            return
        raise _http_error(r, f"the webhook at {_host(self.url)} answered HTTP {r.status_code}",
                          f" (check the URL in ${self.url_env})")


@dataclass(frozen=True, slots=True)
class Telegram:
    """sendMessage to one chat through the Bot API."""

    token: str = field(repr=False)
    chat_id: str
    api_url: str
    timeout_secs: float
    token_env: str
    chat_id_env: str
    name: str = "telegram"
    key: str = "alerts.telegram"
    max_chars: int = MAX_CHARS["telegram"]

    def describe(self) -> str:
        """For logs: the variables and the API host (never the token)."""
        return (f"telegram (token from ${self.token_env}, chat from ${self.chat_id_env}, "
                f"{_host(self.api_url)})")

    def send(self, msg: Message) -> None:
        """sendMessage; Telegram's own description on any failure."""
        url = f"{self.api_url.rstrip('/')}/bot{self.token}/sendMessage"
        r = _post(url, {"chat_id": self.chat_id, "text": msg.text}, self.timeout_secs)
        try:
            body = r.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("ok") is True and r.status_code == 200:
            return
        if not isinstance(body, dict):
            raise _http_error(r, f"Telegram at {_host(self.api_url)} answered HTTP "
                                 f"{r.status_code}", "")
        code = body.get("error_code", r.status_code)
        text = f"Telegram refused sendMessage: {code} {body.get('description', '')}".rstrip()
        retry = (body.get("parameters") or {}).get("retry_after")
        if code == 429 or r.status_code >= 500:
            raise ChannelUnavailable(text, float(retry) if retry is not None else None)
        hint = f"the chat id in ${self.chat_id_env}" if "chat" in text.lower() \
            else f"the bot token in ${self.token_env}"
        raise ChannelRefused(f"{text} (check {hint})")


Channel = Webhook | Telegram


@dataclass(frozen=True, slots=True)
class Channels:
    """The configured channels, the ones that can send, and what is wrong with the others."""

    names: tuple[str, ...]
    """Every configured channel: an alert waits in the outbox for each."""
    working: dict[str, Any]
    """name -> Webhook | Telegram, for the channels whose settings are complete."""
    problems: tuple[str, ...]
    """One line per channel that cannot send, naming the key and the variable."""


def resolve(cfg: Any, env: Mapping[str, str] | None = None) -> Channels:
    """The channels of an AlertsConfig, their secrets read from `env` (os.environ)."""
    env = os.environ if env is None else env
    names: list[str] = []
    working: dict[str, Any] = {}
    problems: list[str] = []
    w, t = cfg.webhook, cfg.telegram
    if w.url_env:
        names.append("webhook")
        url = env.get(w.url_env) or ""
        if not url:
            problems.append(_unset("alerts.webhook.url_env", w.url_env, "the webhook"))
        elif not re.match(r"^https?://[^/\s]+", url):
            problems.append(f"alerts.webhook.url_env: {w.url_env} does not hold an http(s) "
                            "URL (alerts for the webhook stay in the outbox)")
        else:
            working["webhook"] = Webhook(url, w.format, cfg.send_timeout_secs, w.url_env)
    if t.token_env:
        names.append("telegram")
        missing = [(key, name) for key, name in (("alerts.telegram.token_env", t.token_env),
                                                 ("alerts.telegram.chat_id_env", t.chat_id_env))
                   if not env.get(name)]
        problems += [_unset(key, name, "telegram") for key, name in missing]
        if not missing:
            working["telegram"] = Telegram(env[t.token_env], env[t.chat_id_env], t.api_url,
                                           cfg.send_timeout_secs, t.token_env, t.chat_id_env)
    return Channels(tuple(names), working, tuple(problems))


def _unset(key: str, var: str, what: str) -> str:
    return f"{key}: the environment variable {var} is not set (alerts for {what} stay in the " \
           "outbox)"


def _post(url: str, body: dict[str, Any], timeout_secs: float) -> requests.Response:
    """POST JSON, with every transport failure turned into ChannelUnavailable naming only the
    host."""
    host = _host(url)
    try:
        return requests.post(url, json=body, timeout=timeout_secs,
                             headers={"User-Agent": USER_AGENT}, allow_redirects=False)
    except requests.Timeout:
        raise ChannelUnavailable(f"no answer from {host} within {timeout_secs:g} s") from None
    except requests.ConnectionError as e:
        raise ChannelUnavailable(f"cannot connect to {host} ({_why(e)})") from None
    except requests.RequestException as e:
        raise ChannelUnavailable(f"request to {host} failed ({type(e).__name__})") from None


def _http_error(r: requests.Response, text: str, hint: str) -> ChannelError:
    body = " ".join(r.text.split())[:BODY_SHOWN]
    shown = f"{text}: {body}" if body else text
    if r.status_code == 429 or r.status_code >= 500:
        return ChannelUnavailable(shown, _retry_after(r))
    return ChannelRefused(shown + hint)


def _retry_after(r: requests.Response) -> float | None:
    """Retry-After in seconds from the header, or Discord's JSON `retry_after`."""
    header = r.headers.get("Retry-After")
    try:
        if header is not None:
            return float(header)
        body = r.json()
        return float(body["retry_after"]) if isinstance(body, dict) and \
            "retry_after" in body else None
    except (ValueError, TypeError):
        return None


def _host(url: str) -> str:
    """host[:port] of a URL: what may be shown of it."""
    try:
        return urlsplit(url).netloc.rsplit("@", 1)[-1] or "?"
    except ValueError:
        return "?"


def _why(e: Exception) -> str:
    """The OS reason inside a connection error ('Connection refused'), never its URL."""
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(e))
    if found:
        return found.group(1).strip()
    for hint in ("Name or service not known", "Temporary failure in name resolution",
                 "CERTIFICATE_VERIFY_FAILED", "SSL"):
        if hint in str(e):
            return hint
    return type(e).__name__
