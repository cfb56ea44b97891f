"""The per-pass checks Thespian makes of every idle connection are cheap and unchanged in
meaning (system/thespian_idle.py): an idle socket's expiry, an address's hash."""

from __future__ import annotations

import pickle
import socket
import subprocess
import sys

import pytest

from system.thespian_idle import cheap_idle_checks


@pytest.fixture
def restored(monkeypatch):
    """Thespian's classes as they were, after the test (this process uses them too)."""
    from thespian.system.transport import IPBase, TCPTransport
    for cls, names in ((TCPTransport.IdleSocket, ("expired",)),
                       (IPBase.IPActorAddress, ("__hash__", "__getstate__"))):
        for name in names:
            monkeypatch.setattr(cls, name, cls.__dict__[name])
    monkeypatch.setattr(IPBase.IPActorAddress, "_posguard_cheap", False, raising=False)


def address(port: int):
    from thespian.system.transport.IPBase import TCPv4ActorAddress
    return TCPv4ActorAddress("127.0.0.1", port)


def test_an_idle_socket_expires_exactly_when_its_validity_says(restored):
    from thespian.system.timing import currentTime
    from thespian.system.transport.TCPTransport import IdleSocket
    original = IdleSocket.expired
    cheap_idle_checks()
    assert IdleSocket.expired is not original
    with socket.socket() as s:
        idle = IdleSocket(s, None)
        assert idle.expired() is False
        assert idle.expired() == idle.validity.view().expired()
        idle.validity._time_to_quit = currentTime() - 0.001
        assert idle.expired() is True
        assert idle.expired() == idle.validity.view().expired()


def test_an_address_hashes_as_before_and_equal_addresses_hash_equal(restored):
    from thespian.system.transport.IPBase import IPActorAddress
    original = IPActorAddress.__hash__
    before = original(address(61001))
    cheap_idle_checks()
    a, b = address(61001), address(61001)
    assert hash(a) == hash(a) == before == hash(b)
    assert hash(address(61002)) != hash(a)
    assert {a: 1}.get(b) == 1  # Thespian's own use: a dict keyed by address details


def test_the_cached_hash_never_travels_in_a_pickle(restored):
    """Another process hashes strings with its own seed: a hash carried in the pickle
    would find nothing in that process's dicts."""
    cheap_idle_checks()
    a = address(61003)
    hash(a)
    assert "_posguard_hash" in a.__dict__  # kept on the address ...
    assert "_posguard_hash" not in a.__getstate__()  # ... and left out of its pickle
    assert "_posguard_hash" in a.__dict__  # (not by taking it off the address)
    code = ("import pickle, sys\n"
            "from system.thespian_idle import cheap_idle_checks\n"
            "from thespian.system.transport.IPBase import TCPv4ActorAddress\n"
            "cheap_idle_checks()\n"
            "a = pickle.loads(sys.stdin.buffer.read())\n"
            "print(hash(a) == hash(TCPv4ActorAddress('127.0.0.1', 61003)))\n")
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(a),
                         capture_output=True, timeout=60, env={"PYTHONHASHSEED": "12345",
                                                               "PATH": "/usr/bin:/bin",
                                                               "PYTHONPATH": ":".join(sys.path)})
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.decode().strip() == "True"


def test_installing_twice_is_harmless(restored):
    from thespian.system.transport.IPBase import IPActorAddress
    original = IPActorAddress.__hash__
    cheap_idle_checks()
    patched = IPActorAddress.__hash__
    cheap_idle_checks()
    assert IPActorAddress.__hash__ is patched is not original
    assert hash(address(61004)) == hash(address(61004))
