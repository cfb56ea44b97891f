"""Local HTTP servers for the alert channels, each stopped by its fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.ops.alerts import http_servers
from tests.integration.ops.alerts.http_servers import Server

BOT_TOKEN = "123456:TEST-token_abc"
CHAT_ID = "424242"


@pytest.fixture
def hook() -> Iterator[Server]:
    """A webhook receiver answering 200 "ok"."""
    server = http_servers.webhook().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bot_api() -> Iterator[Server]:
    """A Telegram Bot API fake accepting BOT_TOKEN and CHAT_ID."""
    server = http_servers.telegram(BOT_TOKEN, CHAT_ID).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Extra servers a test makes itself (append them); all stopped afterwards."""
    made: list[Server] = []
    try:
        yield made
    finally:
        for server in made:
            server.stop()
