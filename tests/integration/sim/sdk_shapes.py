"""Hold stream frames to the models of Binance's own SDK, strictly.

The SDK's generated models (binance-sdk-derivatives-trading-usds-futures 18.1.0) make every
field Optional and keep unknown keys in `additional_properties`, so parsing alone accepts
`{}`. `problems()` therefore checks what the models only declare: the keys of each object
are exactly the model's aliases (minus the fields the model documents as conditional, when
their condition does not hold), no value is null, and every value has the model's strict
type (pydantic's StrictStr / StrictInt / StrictBool, via model_validate).
"""

from __future__ import annotations

import typing
from collections.abc import Callable

from binance_sdk_derivatives_trading_usds_futures.websocket_streams import models as M
from pydantic import BaseModel, ValidationError

TRAILING = "TRAILING_STOP_MARKET"

USER_EVENT_MODELS: dict[str, type[BaseModel]] = {
    "ORDER_TRADE_UPDATE": M.OrderTradeUpdate, "TRADE_LITE": M.TradeLite,
    "ALGO_UPDATE": M.AlgoUpdate, "ACCOUNT_UPDATE": M.AccountUpdate,
    "ACCOUNT_CONFIG_UPDATE": M.AccountConfigUpdate, "listenKeyExpired": M.ListenKeyExpired,
}
"""Event type -> model, as the SDK's UserDataStreamEventsResponse routes them by `e`."""

# Model -> field -> when it must be present: True required, False absent, None either. The
# conditions are the models' own field descriptions.
CONDITIONAL: dict[str, dict[str, Callable[[dict], bool | None]]] = {
    "OrderTradeUpdateO": {
        # "modifyId, only pushed for AMENDMENT (order modification) events when a modifyId
        # was provided in the request"
        "M": lambda o: None if o.get("x") == "AMENDMENT" else False,
        # "Activation Price / Callback Rate, only pushed with TRAILING_STOP_MARKET order"
        "AP": lambda o: o.get("ot") == TRAILING,
        "cr": lambda o: o.get("ot") == TRAILING,
    },
    # "Is activated or not, only meaningful for trailing order"
    "AlgoUpdateO": {"ia": lambda o: o.get("o") == TRAILING},
    # "Symbol associated with FUNDING_FEE event"
    "AccountUpdateA": {"S": lambda a: a.get("m") == "FUNDING_FEE"},
    # Two variants: `ac` (a symbol's leverage) or `ai` (multi-assets mode).
    "AccountConfigUpdate": {"ac": lambda e: "ai" not in e, "ai": lambda e: "ac" not in e},
}


def aliases(model: type[BaseModel]) -> dict[str, typing.Any]:
    """Wire key -> field annotation of every declared field."""
    return {(f.alias or name): f.annotation for name, f in model.model_fields.items()
            if name != "additional_properties"}


def _nested(annotation) -> tuple[type[BaseModel] | None, bool]:
    """(model, is_list) when a field holds a model or a list of models."""
    for arg in typing.get_args(annotation) or (annotation,):
        if typing.get_origin(arg) in (list, typing.List):  # noqa: UP006 (the SDK's spelling)
            inner = typing.get_args(arg)[0]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner, True
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg, False
    return None, False


def key_problems(obj: dict, model: type[BaseModel], where: str,
                 extra: frozenset[str] = frozenset()) -> list[str]:
    """Keys of `obj` (recursively) against the aliases of `model`; `extra` keys allowed."""
    declared = aliases(model)
    rules = CONDITIONAL.get(model.__name__, {})
    expected = set()
    for key in declared:
        need = rules[key](obj) if key in rules else True
        if need is True or (need is None and key in obj):
            expected.add(key)
    got = set(obj) - extra
    out = []
    if expected - got:
        out.append(f"{where}: missing {sorted(expected - got)}")
    if got - expected:
        out.append(f"{where}: not in {model.__name__} (or not allowed here) "
                   f"{sorted(got - expected)}")
    for key in sorted(got & expected):
        value = obj[key]
        if value is None:
            out.append(f"{where}.{key}: null")
            continue
        sub, is_list = _nested(declared[key])
        if sub is None:
            continue
        items = value if is_list else [value]
        if is_list and not isinstance(value, list):
            out.append(f"{where}.{key}: not a list")
            continue
        for i, item in enumerate(items):
            at = f"{where}.{key}[{i}]" if is_list else f"{where}.{key}"
            if not isinstance(item, dict):
                out.append(f"{at}: not an object")
            else:
                out.extend(key_problems(item, sub, at))
    return out


def type_problems(obj: dict, model: type[BaseModel], where: str) -> list[str]:
    """The model's strict types (StrictStr etc.), checked by pydantic itself."""
    try:
        model.model_validate(obj)
    except ValidationError as e:
        return [f"{where}: {err['loc']} {err['msg']}" for err in e.errors()]
    return []


def problems(frame: dict, model: type[BaseModel], *, discriminator: bool) -> list[str]:
    """Everything about `frame` the SDK model does not declare; [] when it conforms.

    discriminator: the user-data models leave out `e` (the SDK routes on it), so it is
    allowed as the one extra top-level key.
    """
    where = frame.get("e", model.__name__)
    extra = frozenset({"e"}) if discriminator else frozenset()
    return key_problems(frame, model, where, extra) + type_problems(frame, model, where)


def user_event_problems(frame: dict) -> list[str]:
    """problems() for a user-data event, its model chosen by `e`."""
    model = USER_EVENT_MODELS.get(frame.get("e"))
    if model is None:
        return [f"no SDK model for event {frame.get('e')!r}"]
    return problems(frame, model, discriminator=True)
