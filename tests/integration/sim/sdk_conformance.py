"""Strict conformance of a raw REST reply to a response model of Binance's SDK.

The SDK's generated models (binance-sdk-derivatives-trading-usds-futures 18.1.0) are
lenient: every field is Optional, unknown keys go to `additional_properties`, and the SDK's
own `send_request` relaxes a model's strict types in place and finally returns the raw dict
when parsing still fails (binance_common.utils.relax_model_strictness). Parsing a reply
into the model therefore proves little. `assert_conforms` adds what the models declare but
do not enforce:

- the reply's keys equal the model's field aliases: nothing missing, nothing extra. A field
  whose SDK description says it is sent only sometimes ("only return with ...", "only
  present when ...", "TRAILING_STOP_MARKET order") may be absent, never unknown;
- every value has the model's declared type (StrictStr -> str, StrictInt -> int and not
  bool, StrictBool -> bool, float|int -> a number, lists item by item, nested models
  recursively); null only where Binance documents it (`icebergQuantity`).

The field tables are snapshotted at import, before any SDK call could relax the models.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass

import binance_sdk_derivatives_trading_usds_futures.rest_api.models as M
from pydantic import BaseModel

CONDITIONAL = re.compile(r"only return with|only present when|^TRAILING_STOP_MARKET order$",
                         re.I)
NULLABLE = frozenset({"icebergQuantity"})
"""Fields Binance documents as null (`"icebergQuantity": null` in its algo-order examples)."""
SUBSET_MODELS = frozenset({M.ExchangeInformationResponseSymbolsInnerFiltersInner})
"""Union models: each exchangeInfo filter carries only its own type's subset of the fields;
`filterType` is required."""


@dataclass(frozen=True, slots=True)
class Field:
    """One declared field: its JSON key, scalar kinds and nested model."""

    alias: str
    kinds: tuple[type, ...]
    """Allowed Python types of the value (or of each item, for lists)."""
    is_list: bool
    model: type | None
    """The nested model of an object / list-of-objects field."""
    conditional: bool


def _strip(tp):
    """Optional[X] -> X; Annotated[X, Strict] -> X."""
    while True:
        origin = typing.get_origin(tp)
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if origin is typing.Union and len(args) == 1 or origin is typing.Annotated:
            tp = args[0]
        else:
            return tp


def _kinds(tp) -> tuple[tuple[type, ...], type | None]:
    tp = _strip(tp)
    if typing.get_origin(tp) is typing.Union:  # Union[StrictFloat, StrictInt]
        return tuple(_strip(a) for a in typing.get_args(tp) if a is not type(None)), None
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return (dict,), tp
    return (tp,), None


def _fields(model: type) -> dict[str, Field]:
    out = {}
    for name, f in model.model_fields.items():
        if name == "additional_properties":
            continue
        tp = _strip(f.annotation)
        is_list = typing.get_origin(tp) in (list, typing.List)  # noqa: UP006
        kinds, nested = _kinds(typing.get_args(tp)[0] if is_list else tp)
        alias = f.alias or name
        out[alias] = Field(alias, kinds, is_list, nested,
                           bool(f.description and CONDITIONAL.search(f.description)))
    return out


def _all_models() -> dict[type, dict[str, Field]]:
    table = {}
    for obj in vars(M).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel \
                and "actual_instance" not in obj.model_fields:
            table[obj] = _fields(obj)
    return table


SCHEMAS = _all_models()


class NonConformingReply(AssertionError):
    """A reply that does not match its SDK model (the message names the path)."""


def _type_ok(value, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    if float in kinds and isinstance(value, int):
        return True
    return isinstance(value, kinds)


def _check_object(raw, model: type, path: str) -> None:
    if not isinstance(raw, dict):
        raise NonConformingReply(f"{path}: expected an object for {model.__name__}, "
                                 f"got {type(raw).__name__}")
    fields = SCHEMAS[model]
    extra = sorted(set(raw) - set(fields))
    if model in SUBSET_MODELS:
        missing = [] if "filterType" in raw else ["filterType"]
    else:
        missing = sorted(a for a, f in fields.items() if not f.conditional and a not in raw)
    if extra or missing:
        raise NonConformingReply(f"{path}: {model.__name__} keys differ: missing {missing}, "
                                 f"not in the model {extra}")
    for key, value in raw.items():
        _check_value(value, fields[key], f"{path}.{key}")


def _check_value(value, f: Field, path: str) -> None:
    if value is None:
        if f.alias not in NULLABLE:
            raise NonConformingReply(f"{path}: null")
        return
    items = value if f.is_list else [value]
    if f.is_list and not isinstance(value, list):
        raise NonConformingReply(f"{path}: expected a list, got {type(value).__name__}")
    for i, item in enumerate(items):
        where = f"{path}[{i}]" if f.is_list else path
        if f.model is not None:
            _check_object(item, f.model, where)
        elif not _type_ok(item, f.kinds):
            raise NonConformingReply(f"{where}: {item!r} is {type(item).__name__}, the model "
                                     f"says {'|'.join(k.__name__ for k in f.kinds)}")


def _one_of(model: type, raw) -> type:
    names = sorted(model.model_fields["one_of_schemas"].default)
    want_list = isinstance(raw, list)
    picks = [getattr(M, n) for n in names if getattr(M, n).is_array() == want_list]
    if len(picks) != 1:
        raise NonConformingReply(f"{model.__name__}: no single oneOf schema for a "
                                 f"{type(raw).__name__} among {names}")
    return picks[0]


def assert_conforms(raw, model: type | None, path: str = "$") -> None:
    """Raise NonConformingReply unless `raw` (parsed JSON) matches `model` strictly.

    `model` None means the SDK declares no body (ping, DELETE listenKey): `{}` is required.
    """
    if model is None:
        if raw != {}:
            raise NonConformingReply(f"{path}: expected {{}}, got {raw!r}")
        return
    if "actual_instance" in model.model_fields:
        model = _one_of(model, raw)
    if model.is_array():
        if not isinstance(raw, list):
            raise NonConformingReply(f"{path}: {model.__name__} is a list, got "
                                     f"{type(raw).__name__}")
        for i, row in enumerate(raw):
            _check_object(row, model, f"{path}[{i}]")
        return
    _check_object(raw, model, path)
