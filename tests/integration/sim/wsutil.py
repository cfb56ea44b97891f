"""websocket-client helpers with timeouts."""

from __future__ import annotations

import json
import time

import websocket


def ws_url(http_url: str, path: str) -> str:
    """ws:// form of a simulator URL."""
    return "ws://" + http_url.split("://", 1)[1] + path


def connect(http_url: str, path: str, timeout: float = 5.0) -> websocket.WebSocket:
    """An open websocket-client connection with a read timeout."""
    return websocket.create_connection(ws_url(http_url, path), timeout=timeout)


def read_until(ws, pred, timeout: float = 5.0) -> list[dict]:
    """Read JSON messages until `pred(msg)` is true; returns all read. Fails on timeout."""
    out = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ws.settimeout(max(0.01, end - time.monotonic()))
        msg = json.loads(ws.recv())
        out.append(msg)
        if pred(msg):
            return out
    raise AssertionError(f"condition not met within {timeout}s; got {out}")


def read_for(ws, secs: float) -> list[dict]:
    """Everything that arrives within `secs` (stops early if the socket closes)."""
    out = []
    end = time.monotonic() + secs
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return out
        ws.settimeout(left)
        try:
            out.append(json.loads(ws.recv()))
        except websocket.WebSocketTimeoutException:
            return out


def closes_within(ws, secs: float) -> bool:
    """True if the server closes the connection within `secs` (messages are skipped)."""
    end = time.monotonic() + secs
    while time.monotonic() < end:
        ws.settimeout(max(0.01, end - time.monotonic()))
        try:
            if ws.recv() == "":
                return True
        except websocket.WebSocketConnectionClosedException:
            return True
        except websocket.WebSocketTimeoutException:
            return False
    return False


def frames_for(ws, secs: float, until=None) -> list[tuple[int, bytes]]:
    """Every frame, control frames too (a pong), as (opcode, data), that arrives within
    `secs`; stops early after the first frame for which `until(opcode, data)` is true."""
    out: list[tuple[int, bytes]] = []
    end = time.monotonic() + secs
    while (left := end - time.monotonic()) > 0:
        ws.settimeout(left)
        try:
            opcode, frame = ws.recv_data_frame(control_frame=True)
        except websocket.WebSocketTimeoutException:
            break
        out.append((opcode, frame.data))
        if until is not None and until(opcode, frame.data):
            break
    return out
