"""An admin port that another socket holds without listening (a connection's local port) is
refused by name before Thespian tries it: Thespian itself says only 'not a valid or useable
ActorSystem Admin' (CI's bench met exactly this on a port chosen seconds before its launch)."""

from __future__ import annotations

import socket

import pytest

from system import actor_system
from system.launched import free_port
from system.processes import kill, system_pids


def test_a_port_held_by_a_connection_is_refused_by_name_and_nothing_starts():
    port = free_port()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as conn:
            conn.bind(("127.0.0.1", port))  # no SO_REUSEADDR, as a client's socket has
            conn.connect(server.getsockname())
            peer, _ = server.accept()
            try:
                with pytest.raises(actor_system.ActorSystemError) as e:
                    actor_system.start("127.0.0.1", port, timeout_secs=15)
                left = system_pids("127.0.0.1", port)
            finally:
                peer.close()
                for pid in system_pids("127.0.0.1", port):  # today's Thespian: end its admin
                    kill(pid)
    assert f"127.0.0.1:{port}" in str(e.value) and "actor_system.admin_port" in str(e.value)
    assert "not a valid or useable" not in str(e.value)
    assert left == []
