"""Injected faults: one-shot REST failures / timeouts and user-stream event mangling."""

from __future__ import annotations

from dataclasses import asdict, dataclass

STREAM_KINDS = ("drop", "duplicate", "delay", "reorder")


@dataclass(slots=True)
class StreamFault:
    """Applies to the next `count` user-stream events."""

    kind: str
    count: int
    delay_ms: int = 0


@dataclass(frozen=True, slots=True)
class HttpFault:
    """Applies once, to the next request with this method and path."""

    kind: str
    """fail (reply with code/status instead of serving) or timeout (serve, never reply)."""
    method: str
    path: str
    code: int = -1001
    status: int = 400
    msg: str = "Internal error; unable to process your request. Please try again."
    hold_ms: int = 0
    with_param: str = ""
    """Only a request carrying this parameter (query, form or JSON body key) is hit: on
    Bybit one path places both market orders and stops (`triggerPrice`); "" hits any."""


class FaultQueue:
    """Pending faults, consumed in the order they were queued."""

    def __init__(self) -> None:
        self.stream: list[StreamFault] = []
        self.http: list[HttpFault] = []

    def add_stream(self, kind: str, count: int, delay_ms: int = 0) -> None:
        """Queue a stream fault (validated by the caller)."""
        self.stream.append(StreamFault(kind, count, delay_ms))

    def add_http(self, fault: HttpFault) -> None:
        """Queue a one-shot REST fault."""
        self.http.append(fault)

    def take_http(self, method: str, path: str,
                  params: frozenset[str] = frozenset()) -> HttpFault | None:
        """Remove and return the first fault for this request (whose parameter names are
        `params`), if any."""
        for i, f in enumerate(self.http):
            if f.method == method and f.path == path and (not f.with_param
                                                          or f.with_param in params):
                return self.http.pop(i)
        return None

    def wants_params(self, method: str, path: str) -> bool:
        """A fault for this request depends on its parameters (they must be read first)."""
        return any(f.method == method and f.path == path and f.with_param for f in self.http)

    def take_stream(self) -> StreamFault | None:
        """The fault that applies to the next event (its count is consumed by one)."""
        if not self.stream:
            return None
        f = self.stream[0]
        f.count -= 1
        if f.count <= 0:
            self.stream.pop(0)
        return f

    def clear(self) -> None:
        """Forget every pending fault."""
        self.stream.clear()
        self.http.clear()

    def describe(self) -> dict:
        """JSON shape for /_sim/state."""
        return {"stream": [asdict(f) for f in self.stream],
                "http": [asdict(f) for f in self.http]}
