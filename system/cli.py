"""The `posguard` command: parse arguments, load the config once, dispatch.

Exit codes: 0 ok; 1 the operation failed (not running, refused, timed out); 2 bad usage or
bad config; 3 the store is unavailable, unsafe or locked by another instance.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from system.config import Config, ConfigError, load_config
from system.usage import UsageError

__all__ = ["UsageError", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STORE = 0, 1, 2, 3

Handler = Callable[[argparse.Namespace, Config], int]


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: argparse would otherwise let the subcommand's default erase a value given
    # before the subcommand (`posguard --config X status`).
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                        help="config file (default: $POSGUARD_CONFIG or ./config.yaml)")
    common.add_argument("--set", dest="overrides", action="append", default=argparse.SUPPRESS,
                        metavar="KEY=VALUE",
                        help="override a config key, e.g. --set store.backend=postgres")
    p = argparse.ArgumentParser(prog="posguard", parents=[common],
                                description="Position protection for crypto futures.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from system import commands
    for name, (help_text, add_args, _handler) in commands.COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, parents=[common])
        add_args(sp)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `posguard` console script."""
    from system import commands
    args = _parser().parse_args(argv)
    try:
        config = load_config(getattr(args, "config", None), getattr(args, "overrides", []))
    except ConfigError as e:
        print(f"posguard: config error: {e}", file=sys.stderr)
        return EXIT_USAGE
    handler = commands.COMMANDS[args.command][2]
    try:
        return handler(args, config)
    except ConfigError as e:
        print(f"posguard: config error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as e:
        print(f"posguard {args.command}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("posguard: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
