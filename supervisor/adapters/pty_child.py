"""The Codex child in a pty: spawn it sized like the user's terminal, copy bytes, stop it, reap it.

pexpect creates the pty and the session (the child leads its own process group, so SIGTERM/SIGKILL
reach Codex's tool subprocesses too). The copy loop is the run loop's, over ``fd``: pexpect's
``interact()`` cannot be woken for supervisor work and its Ctrl-] escape would detach the user.

The stop ladder's rungs: ``interrupt`` = Ctrl-C into the pty, pressed again a moment later while
Codex has not started exiting (Codex's own clean exit, which restores the terminal and prints the
resume hint), ``terminate`` = SIGTERM to the process group, ``kill`` = SIGKILL to the process group.
Writes the child must see with a pause between them (the later Ctrl-C presses, the Enter after a
re-submitted prompt) are queued with a due time; the loop's select timeout includes
``next_write_at`` so nothing sleeps.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from dataclasses import dataclass
from typing import Callable, Mapping

from ..errors import ChildSpawnError

_READ_SIZE = 65536
# Codex's own exit: Ctrl-C clears a non-empty composer and quits from an empty one (0.169; older
# versions arm on the first and quit on the second). Up to three presses, a moment apart, cover both;
# the rest are cancelled as soon as Codex starts exiting (OSC 7501 clear), because a Ctrl-C that
# races its shutdown makes it exit 130.
INTERRUPT_PRESSES = 3
INTERRUPT_GAP_S = 0.25
# Typed text followed at once by Enter reads as a paste to Codex; submit after a pause.
SUBMIT_GAP_S = 0.3
_LADDER_SIGNALS = {"terminate": signal.SIGTERM, "kill": signal.SIGKILL}


@dataclass(frozen=True, slots=True)
class ExitStatus:
    code: int | None
    signal: int | None


def wait_for_exit(poll_exit: "Callable[[], ExitStatus | None]", timeout_s: float) -> ExitStatus | None:
    """Poll ``poll_exit`` until it reports an end or ``timeout_s`` passed: only on the way out of
    codex-fsm (an error, a child that would not die), where no loop is left to wake on SIGCHLD."""
    deadline = time.monotonic() + timeout_s
    status = poll_exit()
    while status is None and time.monotonic() < deadline:
        time.sleep(0.01)
        status = poll_exit()
    return status


class PtyChild:
    def __init__(self, argv: list[str], env: Mapping[str, str], cwd: str | None,
                 size: tuple[int, int]) -> None:
        import pexpect  # imported here: start-up pays for it only when a child is spawned

        try:
            self._spawn = pexpect.spawn(argv[0], argv[1:], env=dict(env), cwd=cwd, dimensions=size,
                                        echo=True, encoding=None, use_poll=True)
        except (pexpect.ExceptionPexpect, OSError) as exc:
            raise ChildSpawnError(f"cannot start {argv[0]}: {exc}") from None
        self.pid: int = self._spawn.pid
        self.fd: int = self._spawn.child_fd
        os.set_blocking(self.fd, False)
        self.exit_status: ExitStatus | None = None
        self.output_closed = False
        self._writes: list[tuple[float, bytes]] = []
        self._unsent = bytearray()

    # -- output -----------------------------------------------------------------------------

    def read(self) -> bytes:
        """What the child wrote (b"" when nothing is ready, or once the pty has closed)."""
        if self.output_closed:
            return b""
        try:
            data = os.read(self.fd, _READ_SIZE)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: every slave end closed (Linux EOF)
                raise
            data = b""
        if not data:
            self.output_closed = True
        return data

    # -- input ------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Send keys to the child without ever blocking the loop.

        A large paste into a Codex that is busy can fill the pty's input buffer; blocking here would
        stop the loop from draining the child's output, and both sides would wait for each other. What
        does not fit now waits in ``_unsent`` until select says the pty takes more (``flush_unsent``).
        """
        if not data or self.exit_status is not None:
            return
        self._unsent += data
        self.flush_unsent()

    @property
    def has_unsent(self) -> bool:
        return bool(self._unsent) and self.exit_status is None

    def flush_unsent(self) -> None:
        while self._unsent:
            try:
                written = os.write(self.fd, self._unsent)
            except InterruptedError:
                continue
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno not in (errno.EIO, errno.EBADF):
                    raise
                self._unsent.clear()  # the child is gone; its keys go nowhere
                return
            del self._unsent[:written]

    def write_at(self, due: float, data: bytes) -> None:
        self._writes.append((due, data))
        self._writes.sort(key=lambda item: item[0])

    @property
    def next_write_at(self) -> float | None:
        return self._writes[0][0] if self._writes else None

    @property
    def last_write_at(self) -> float | None:
        """When the last queued write is due (None when nothing is queued)."""
        return self._writes[-1][0] if self._writes else None

    def cancel_writes(self) -> None:
        self._writes.clear()

    def flush_due_writes(self, now: float) -> None:
        while self._writes and self._writes[0][0] <= now:
            self.write(self._writes.pop(0)[1])

    def resize(self, size: tuple[int, int]) -> None:
        if self.exit_status is None:
            try:
                self._spawn.setwinsize(*size)
            except OSError:
                pass  # the child is going away; its next incarnation gets the size at spawn

    # -- stopping ---------------------------------------------------------------------------

    def stop(self, step: str, now: float) -> None:
        if self.exit_status is not None:
            return
        if step == "interrupt":
            self.write(b"\x03")
            for press in range(1, INTERRUPT_PRESSES):
                self.write_at(now + press * INTERRUPT_GAP_S, b"\x03")
            return
        self._writes.clear()
        try:
            os.killpg(self.pid, _LADDER_SIGNALS[step])
        except ProcessLookupError:
            pass

    def poll_exit(self) -> ExitStatus | None:
        """Reap the child if it has ended (never blocks)."""
        if self.exit_status is not None:
            return self.exit_status
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            # Reaped elsewhere (pexpect's own bookkeeping): take its record. An unknown ending is a
            # failure, never a clean exit that would hide a crash.
            pid, status = self.pid, None
        if pid == 0:
            return None
        if status is None:
            code, number = self._spawn.exitstatus, self._spawn.signalstatus
            self.exit_status = ExitStatus(code if code is not None or number is not None else 1, number)
        elif os.WIFSIGNALED(status):
            self.exit_status = ExitStatus(None, os.WTERMSIG(status))
        else:
            self.exit_status = ExitStatus(os.WEXITSTATUS(status), None)
        # ptyprocess must not wait for a child we already reaped.
        self._spawn.ptyproc.terminated = True
        self._spawn.terminated = True
        self._writes.clear()
        return self.exit_status

    def wait_exit(self, timeout_s: float) -> ExitStatus | None:
        """Reap the child, waiting at most ``timeout_s`` (only on the way out, after a signal)."""
        return wait_for_exit(self.poll_exit, timeout_s)

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass
        self._spawn.ptyproc.fd = -1
        self._spawn.child_fd = -1
        self._spawn.closed = True
