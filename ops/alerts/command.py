"""`posguard alerts test [--json]`: one test alert to every configured channel, now.

Sent directly (not through the outbox: nothing needs to survive here), whether or not
posguard runs. Exit 0 if every configured channel took it; 1 if any did not, if none is
configured, or if a variable the config names is unset (the key and the variable named).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import Any

EXIT_OK, EXIT_FAILED = 0, 1
NONE_CONFIGURED = ("no alert channel is configured: set alerts.webhook.url_env and/or "
                   "alerts.telegram.token_env and chat_id_env to the NAMES of the environment "
                   "variables that hold the webhook URL / the bot token and chat id")


def add_args(p: argparse.ArgumentParser) -> None:
    """`alerts test [--json]`."""
    p.add_argument("action", choices=["test"],
                   help="test: send one test alert to every configured channel")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace, config: Any) -> int:
    """Send the test alert; report each channel ok or failed with the reason."""
    from ops.alerts.channels import ChannelError, resolve
    from ops.alerts.delivery import wall_ms
    from ops.alerts.formats import compose
    from ops.alerts.model import INFO, TEST, Alert
    chans = resolve(config.alerts)
    if not chans.names:
        return _report(args, [], NONE_CONFIGURED)
    where = f"{socket.gethostname()}, {config.mode}"
    results = []
    for name in chans.names:
        channel = chans.working.get(name)
        if channel is None:
            why = "; ".join(p for p in chans.problems if p.startswith(f"alerts.{name}."))
            results.append({"channel": name, "ok": False, "detail": why})
            continue
        alert = Alert(TEST, INFO, f"posguard alerts test: if you read this, the {name} channel "
                                  "works", wall_ms())
        try:
            channel.send(compose([(None, alert)], source=where, max_chars=channel.max_chars))
        except ChannelError as e:
            results.append({"channel": name, "ok": False,
                            "detail": f"{e} [{channel.describe()}]"})
        else:
            results.append({"channel": name, "ok": True,
                            "detail": f"sent to {channel.describe()}"})
    return _report(args, results, None)


def _report(args: argparse.Namespace, results: list[dict[str, Any]], error: str | None) -> int:
    ok = error is None and all(r["ok"] for r in results)
    if args.json:
        print(json.dumps({"ok": ok, "error": error, "channels": results}, indent=1))
    elif error is not None:
        print(f"posguard alerts test: {error}", file=sys.stderr)
    else:
        for r in results:
            print(f"{r['channel']:<9} {'ok' if r['ok'] else 'FAILED':<7} {r['detail']}")
    return EXIT_OK if ok else EXIT_FAILED
