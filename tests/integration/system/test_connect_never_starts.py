"""A CLI that reaches for the admin just as it goes away never starts an actor system itself.

The chaos run (issue 13, seed 12) found a supervisor, pool and streams forked from a
`python -m system.cli actors` process: the port answered, the leftover admin went away, and
Thespian's ActorSystem() started a new admin inside the CLI. The race is made certain here by
making the port check answer yes for a port where nothing listens.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from system import actor_system
from tests.fixtures.engine import free_port

PROBE = textwrap.dedent("""
    import sys
    from system import actor_system
    actor_system.port_answers = lambda *a, **k: True   # the admin answered, then went away
    try:
        actor_system.connect("127.0.0.1", int(sys.argv[1]))
    except actor_system.ActorSystemError as e:
        print("refused:", e)
        sys.exit(1)
    print("connected")
""")


def test_connect_to_an_admin_that_went_away_is_refused_and_starts_nothing():
    port = free_port()
    try:
        done = subprocess.run([sys.executable, "-c", PROBE, str(port)], capture_output=True,
                              text=True, timeout=20)
        started = actor_system.port_answers("127.0.0.1", port)
    finally:
        if actor_system.port_answers("127.0.0.1", port):  # today's bug: end what it started
            actor_system.shutdown("127.0.0.1", port)

    assert not started, "the CLI started an actor system of its own on the admin port"
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"posguard is not running (admin port {port})" in done.stdout
    assert "Traceback" not in done.stderr
