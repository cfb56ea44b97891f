"""Binance error replies: one exception type carrying code, message and HTTP status."""

from __future__ import annotations


class SimError(Exception):
    """A request the exchange refuses; rendered as `{"code": .., "msg": ..}`."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict:
        """The JSON body Binance sends for this error."""
        return {"code": self.code, "msg": self.msg}


def mandatory(name: str) -> SimError:
    """-1102: a required parameter is missing or empty."""
    return SimError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def illegal(name: str) -> SimError:
    """-1100: a parameter has characters its type does not allow."""
    return SimError(-1100, f"Illegal characters found in parameter '{name}'; legal range is "
                           "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.")


def not_required(name: str) -> SimError:
    """-1106: a parameter was sent that this order shape does not take."""
    return SimError(-1106, f"Parameter '{name}' sent when not required.")


IMMEDIATE_TRIGGER = (-2021, "Order would immediately trigger.")
REDUCE_ONLY_REJECTED = (-2022, "ReduceOnly Order is rejected.")
MARGIN_INSUFFICIENT = (-2019, "Margin is insufficient.")
USE_ALGO_API = (-4120, "Order type not supported for this endpoint. "
                       "Please use the Algo Order API endpoints instead.")
CLOSE_POSITION_EXISTS = (-4130, "An open stop or take profit order with GTE and closePosition "
                                "in the direction is existing.")
DUPLICATE_CLIENT_ID = (-4116, "ClientOrderId is duplicated.")
UNKNOWN_ORDER = (-2011, "Unknown order sent.")
NO_SUCH_ORDER = (-2013, "Order does not exist.")
BAD_SYMBOL = (-1121, "Invalid symbol.")
BAD_PRECISION = (-1111, "Precision is over the maximum defined for this asset.")
BAD_TICK = (-4014, "Price not increased by tick size.")
QTY_TOO_SMALL = (-4003, "Quantity less than or equal to zero.")
BAD_CALLBACK = (-1102, "callbackRate must be between 0.1 and 10 (percent).")
NO_LISTEN_KEY = (-1125, "This listenKey does not exist.")


def err(pair: tuple[int, str], status: int = 400) -> SimError:
    """Build a SimError from one of the (code, msg) constants above."""
    return SimError(pair[0], pair[1], status)


class RateLimitError(SimError):
    """A request refused by a rate limit: HTTP 429 (back off) or 418 (IP banned).

    Carries the `Retry-After` seconds Binance sends with both.
    """

    def __init__(self, code: int, msg: str, status: int, retry_after_secs: int) -> None:
        super().__init__(code, msg, status)
        self.retry_after_secs = retry_after_secs
