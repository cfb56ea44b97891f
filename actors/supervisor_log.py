"""The supervisor's logger: every line names the account this supervisor protects.

Each account's supervisor is its own process (one actor per process in multiprocTCPBase), so
the account is set once per process, when the supervisor takes its SupervisorInit. Before
that (or in a process hosting no supervisor) lines go out as they are.
"""

from __future__ import annotations

import logging
from typing import Any

_account: str | None = None


def set_account(account: str) -> None:
    """Name `account` in every supervisor log line of this process from now on."""
    global _account
    _account = account


class AccountLogger:
    """A logging.Logger looked up by name on every use (as actors/log.py's ActorLogger: the
    actor process replaces the logging manager), each message prefixed `account NAME: `."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _log(self, level: int, msg: Any, args: tuple, kw: dict[str, Any]) -> None:
        logger = logging.getLogger(self.name)
        if not logger.isEnabledFor(level):
            return
        # The account name is [a-z0-9] only: it can carry no %-placeholder into msg.
        shown = msg if _account is None else f"account {_account}: {msg}"
        kw.setdefault("stacklevel", 3)
        logger.log(level, shown, *args, **kw)

    def debug(self, msg: Any, *args: Any, **kw: Any) -> None:
        self._log(logging.DEBUG, msg, args, kw)

    def info(self, msg: Any, *args: Any, **kw: Any) -> None:
        self._log(logging.INFO, msg, args, kw)

    def warning(self, msg: Any, *args: Any, **kw: Any) -> None:
        self._log(logging.WARNING, msg, args, kw)

    def error(self, msg: Any, *args: Any, **kw: Any) -> None:
        self._log(logging.ERROR, msg, args, kw)

    def critical(self, msg: Any, *args: Any, **kw: Any) -> None:
        self._log(logging.CRITICAL, msg, args, kw)

    def exception(self, msg: Any, *args: Any, **kw: Any) -> None:
        kw.setdefault("exc_info", True)
        self._log(logging.ERROR, msg, args, kw)

    def __getattr__(self, attr: str) -> Any:
        return getattr(logging.getLogger(self.name), attr)
