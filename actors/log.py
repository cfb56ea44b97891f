"""Loggers that work inside Thespian actor processes.

A multiprocTCPBase actor process replaces `logging.root` and `logging.Logger.manager` when it
starts (thespian/system/multiprocCommon.py) so records are forwarded to the actor system's
logger. A logger fetched at import time, before that, belongs to the old manager: its records
never reach the configured log file (found when the QUARANTINED alert was missing from it).
Modules that run in actors take an ActorLogger, which looks the logger up at each call.
"""

from __future__ import annotations

import logging
from typing import Any


class ActorLogger:
    """A logging.Logger looked up by name on every use."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(logging.getLogger(self.name), attr)
