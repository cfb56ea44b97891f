"""An actor process dies with its parent (actors/lifecycle.py `die_with_parent`), with no
timer: the kernel ends it (PR_SET_PDEATHSIG). Real processes: this test forks a parent that
forks a child, the child asks to die with its parent, and the parent exits."""

from __future__ import annotations

import os
import signal
import time

from actors.lifecycle import die_with_parent


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead (reaped by init later)
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_child_that_asked_dies_when_its_parent_does():
    rfd, wfd = os.pipe()
    parent = os.fork()
    if parent == 0:
        code = 0
        try:
            os.close(rfd)
            child = os.fork()
            if child == 0:
                ok = die_with_parent()
                os.write(wfd, f"{os.getpid()} {int(ok)}\n".encode())
                time.sleep(30)  # killed long before this ends
                os._exit(0)
            time.sleep(0.2)  # the child has asked by now
        except BaseException:
            code = 3
        finally:
            os._exit(code)  # the parent dies: the kernel kills the child
    os.close(wfd)
    with os.fdopen(rfd) as r:
        pid_text, ok = r.readline().split()
    _, status = os.waitpid(parent, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "the middle process failed"
    child = int(pid_text)
    try:
        assert ok == "1", "PR_SET_PDEATHSIG was refused"
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not _alive(child), "the orphan outlived its parent"
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
