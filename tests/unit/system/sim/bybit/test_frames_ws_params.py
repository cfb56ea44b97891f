"""The small pure parts of the Bybit sockets: max_active_time and the auth signature."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from system.sim.bybit.ws_private import IDLE_SECS, max_active_secs, signature


@pytest.mark.parametrize(("text", "secs"), [
    ("30s", 30.0), ("600s", 600.0), ("1m", 60.0), ("10m", 600.0),
    ("29s", IDLE_SECS), ("11m", IDLE_SECS), ("", IDLE_SECS), ("5x", IDLE_SECS),
    ("-30s", IDLE_SECS)])
def test_max_active_time_is_taken_within_30s_to_600s_else_the_default(text, secs):
    assert max_active_secs({"max_active_time": text} if text else {}) == secs


def test_signature_is_hex_hmac_sha256_of_get_realtime_and_expires_as_sent():
    want = hmac.new(b"s3cret", b"GET/realtime1662350400000", hashlib.sha256).hexdigest()
    assert signature("s3cret", "1662350400000") == want
    assert signature("s3cret", "1662350400001") != want
