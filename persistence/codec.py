"""msgpack encoding of journal payloads and snapshots, with a schema version.

Wire form: msgpack array `[version, obj]`. Only plain data is accepted (str, int, float,
bool, None, list/tuple, dict with str keys). Decimal and every other type are REJECTED
with a CodecError naming the type and where it was found: silently turning a Decimal into
a float would change prices, and silently turning it into a str would come back as a str.
Callers that hold Decimals store them as strings on purpose (str(d)) and parse them back.
Tuples come back as lists (msgpack has one array type).
"""

from __future__ import annotations

from typing import Any

import msgpack

from persistence.store import CodecError

VERSION = 1
"""Version written by encode()."""

SUPPORTED_VERSIONS = (1,)
"""Versions decode() understands; add a migration function when bumping VERSION."""


def encode(obj: dict) -> bytes:
    """Encode a plain dict as versioned msgpack; CodecError on anything not plain data."""
    if not isinstance(obj, dict):
        raise CodecError(f"can only encode a dict at the top level, got {type(obj).__name__}")
    _check_plain(obj, "$")
    try:
        return msgpack.packb([VERSION, obj], use_bin_type=True)
    except (OverflowError, ValueError, TypeError) as e:
        raise CodecError(f"cannot encode value: {e}") from e


def decode(data: bytes) -> dict:
    """Decode bytes written by encode(); CodecError names an unknown version."""
    try:
        outer = msgpack.unpackb(bytes(data), raw=False, strict_map_key=True)
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError,
            ValueError, TypeError) as e:
        raise CodecError(f"undecodable payload ({len(data)} bytes): {e}") from e
    if not (isinstance(outer, list) and len(outer) == 2 and isinstance(outer[0], int)):
        raise CodecError("payload is not a versioned [version, object] msgpack array")
    version, obj = outer
    if version not in SUPPORTED_VERSIONS:
        raise CodecError(
            f"unknown codec schema version {version}; this build supports "
            f"{', '.join(map(str, SUPPORTED_VERSIONS))} (written by a newer posguard?)"
        )
    if not isinstance(obj, dict):
        raise CodecError(f"version {version} payload is a {type(obj).__name__}, not a dict")
    return obj


_SCALARS = (str, int, float, bool, type(None))


def _check_plain(value: Any, path: str) -> None:
    """Walk `value` and reject the first non-plain item, naming its path."""
    if isinstance(value, _SCALARS):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CodecError(f"{path}: dict key {key!r} is a {type(key).__name__}, "
                                 "only str keys are allowed")
            _check_plain(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_plain(item, f"{path}[{i}]")
        return
    hint = " (store Decimals as str(value))" if type(value).__name__ == "Decimal" else ""
    raise CodecError(f"{path}: cannot encode a {type(value).__name__}{hint}; allowed: "
                     "str, int, float, bool, None, list, dict")
