"""The CLI's bad-usage error, in a module of its own: `python -m system.cli` runs cli.py as
`__main__`, so a class defined there would be a different class from the one the commands
import (and main() would not catch what they raise)."""

from __future__ import annotations


class UsageError(Exception):
    """A command-line argument is invalid (exit 2)."""
