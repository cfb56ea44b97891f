"""A bare Binance-style HTTP client for tests that need status codes and headers as sent."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP reply: status, headers (lower-case names) and the parsed JSON body."""

    status: int
    headers: dict
    body: object


class Raw:
    """Signed and unsigned requests against one simulator, each with a 5 s timeout."""

    def __init__(self, url: str, key: str = "paper-key", secret: str = "paper-secret",
                 clock=None) -> None:
        u = urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.key, self.secret = key, secret
        self.clock = clock
        """Where timestamps come from (a ManualClock in tests that drive time); None: now."""

    def _now_ms(self) -> int:
        return self.clock.now_ms() if self.clock is not None else int(time.time() * 1000)

    def call(self, method: str, path: str, params: dict | None = None, *,
             signed: bool = True, key: str | None = None) -> Reply:
        """Send `params` (query for GET/DELETE, form body for POST/PUT), signed if asked."""
        q = urlencode(params or {})
        if signed:
            q = "&".join(x for x in (q, f"timestamp={self._now_ms()}") if x)
            q += "&signature=" + hmac.new(self.secret.encode(), q.encode(),
                                          hashlib.sha256).hexdigest()
        headers = {"X-MBX-APIKEY": self.key if key is None else key}
        body = None
        target = path
        if method in ("POST", "PUT"):
            body = q.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif q:
            target = f"{path}?{q}"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()},
                         json.loads(data) if data else None)
        finally:
            conn.close()

    def ok(self, method: str, path: str, params: dict | None = None, **kw):
        """The body of a request that must succeed."""
        r = self.call(method, path, params, **kw)
        assert r.status == 200, (method, path, r.status, r.body)
        return r.body

    def code(self, method: str, path: str, params: dict | None = None, **kw) -> int:
        """The Binance error code of a request that must fail."""
        r = self.call(method, path, params, **kw)
        assert r.status >= 400 and isinstance(r.body, dict), (r.status, r.body)
        return r.body["code"]
