"""Keys for a child that is not reading wait in codex-fsm, never block its loop."""

from __future__ import annotations

import os
import select
import signal
import sys
import time

from supervisor.adapters.pty_child import PtyChild

NOT_READING = "import sys, time\nsys.stdout.write('ready\\n'); sys.stdout.flush()\ntime.sleep(120)\n"
READER = ("import os, sys, tty\ntty.setraw(0)\nsys.stdout.write('ready\\n'); sys.stdout.flush()\ntotal = 0\n"
          "while total < 1_000_000:\n    total += len(os.read(0, 65536))\n"
          "sys.stdout.write('got %d\\n' % total); sys.stdout.flush()\n")


def _wait_output(child: PtyChild, text: bytes, timeout: float = 20.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen:
        assert time.monotonic() < deadline, f"never saw {text!r}; got {seen[-200:]!r}"
        select.select([child.fd], [], [], 0.5)
        seen += child.read()
    return seen


def test_a_paste_larger_than_the_pty_buffer_does_not_block():
    child = PtyChild([sys.executable, "-c", NOT_READING], dict(os.environ), None, (24, 80))
    try:
        _wait_output(child, b"ready")
        started = time.monotonic()
        child.write(b"x" * 1_000_000)  # far more than a pty holds while nobody reads
        assert time.monotonic() - started < 5.0, "write blocked on a child that does not read"
        assert child.has_unsent
    finally:
        os.kill(child.pid, signal.SIGKILL)


def test_unsent_keys_reach_the_child_once_it_reads():
    child = PtyChild([sys.executable, "-c", READER], dict(os.environ), None, (24, 80))
    try:
        _wait_output(child, b"ready")  # raw mode: a canonical-mode pty would drop a long line
        child.write(b"y" * 1_000_000)
        seen = b""
        deadline = time.monotonic() + 30
        while b"got " not in seen:
            assert time.monotonic() < deadline, "the child never received all the keys"
            _, writable, _ = select.select([child.fd], [child.fd] if child.has_unsent else [], [], 0.5)
            if writable:
                child.flush_unsent()
            seen += child.read()
        assert b"got 1000000" in seen
        assert not child.has_unsent
    finally:
        os.kill(child.pid, signal.SIGKILL)


def test_a_child_reaped_elsewhere_is_not_reported_as_a_clean_exit():
    child = PtyChild([sys.executable, "-c", "import os; os._exit(3)"], dict(os.environ), None, (24, 80))
    os.waitpid(child.pid, 0)  # somebody else reaps it first; its status is gone for us
    status = child.poll_exit()
    assert status is not None and status.code != 0
