"""Generic validation of plain YAML data into frozen config dataclasses.

Each config section is a frozen dataclass owned by the module that uses it (the simulator's
settings live in system/sim, the stop policy in actors/protection). A field carries its
meaning in `metadata`: "doc" (one line, with the unit), and optionally "min", "max",
"choices". This module turns YAML data into those objects and rejects anything else with the
key path, the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union


class ConfigError(ValueError):
    """A config file or override is invalid: fix the named key and start again."""


def build(cls: type, data: Any, path: str) -> Any:
    """Validate `data` (a mapping from YAML) into an instance of the dataclass `cls`."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path or '<top level>'}: expected a mapping of keys, got {_show(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = _join(path, str(unknown[0]))
        raise ConfigError(f"{where}: unknown key; allowed keys here: {', '.join(sorted(fields))}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, field in fields.items():
        if name in data:
            values[name] = convert(hints[name], data[name], _join(path, name), field.metadata)
    return cls(**values)


def convert(tp: Any, value: Any, path: str, meta: Mapping[str, Any] | None = None) -> Any:
    """Convert one value to the annotated type `tp`, then check its metadata range."""
    result = _convert_type(tp, value, path, meta or {})
    _check_range(result, path, meta or {})
    return result


def _convert_type(tp: Any, value: Any, path: str, meta: Mapping[str, Any]) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert_type(inner[0], value, path, meta)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{path}: {_show(value)} is not allowed; choose one of "
                              f"{', '.join(map(str, allowed))}{_doc(meta)}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{path}: expected a list, got {_show(value)}{_doc(meta)}")
        item = typing.get_args(tp)[0]
        return tuple(_convert_type(item, v, f"{path}[{i}]", meta) for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        return build(tp, value, path)
    return _convert_scalar(tp, value, path, meta)


def _convert_scalar(tp: Any, value: Any, path: str, meta: Mapping[str, Any]) -> Any:
    # bool is a subclass of int in Python; a YAML `true` must never pass as a number.
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    else:
        raise ConfigError(f"{path}: unsupported field type {tp!r} (a posguard bug)")
    raise ConfigError(f"{path}: expected {_type_name(tp)}, got {_show(value)}{_doc(meta)}")


def _check_range(value: Any, path: str, meta: Mapping[str, Any]) -> None:
    if value is None or isinstance(value, bool):
        return
    lo, hi = meta.get("min"), meta.get("max")
    if isinstance(value, int | float) and (
        (lo is not None and value < lo) or (hi is not None and value > hi)
    ):
        bounds = f"{'-inf' if lo is None else lo}..{'inf' if hi is None else hi}"
        raise ConfigError(f"{path}: {_show(value)} is out of range; allowed {bounds}{_doc(meta)}")
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(f"{path}: {_show(value)} is not allowed; choose one of "
                          f"{', '.join(map(str, choices))}{_doc(meta)}")


def defaults_as_dict(cls: type) -> dict[str, Any]:
    """The defaults of a config dataclass as plain data (for merging overrides)."""
    return _plain(cls())


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def describe(cls: type, prefix: str = "") -> list[tuple[str, str, Any]]:
    """Every key of a config dataclass as (dotted key, doc, default), for docs and tests."""
    rows: list[tuple[str, str, Any]] = []
    hints = typing.get_type_hints(cls)
    instance = cls()
    for f in dataclasses.fields(cls):
        key = _join(prefix, f.name)
        if dataclasses.is_dataclass(hints[f.name]):
            rows.append((key, f.metadata.get("doc", ""), None))
            rows.extend(describe(hints[f.name], key))
        else:
            rows.append((key, f.metadata.get("doc", ""), getattr(instance, f.name)))
    return rows


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type_name(tp: Any) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number",
            str: "a string"}.get(tp, getattr(tp, "__name__", str(tp)))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _doc(meta: Mapping[str, Any]) -> str:
    doc = meta.get("doc")
    return f" ({doc})" if doc else ""
