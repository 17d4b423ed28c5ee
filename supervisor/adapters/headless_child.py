"""A headless Codex child (``codex exec``, ``review``): the user's own descriptors, no pty.

Its stdin, stdout and stderr are codex-fsm's own (a file, a pipe, a terminal), so what a script reads
is byte for byte what a direct run writes, and Codex's ``isatty`` checks see what they would see
without codex-fsm. Nothing of the child's output passes through codex-fsm; what the supervisor
needs (the session, quota, usage-limit errors) comes from the session's rollout file.

The child stays in codex-fsm's process group, as a direct run is in the shell's foreground job: the
terminal's Ctrl-C reaches both, and job control stops and continues both. The stop ladder's rungs
are signals to the child alone: ``interrupt`` = SIGINT (Codex's own orderly end of the turn),
``terminate`` = SIGTERM, ``kill`` = SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Mapping

from ..errors import ChildSpawnError
from .pty_child import ExitStatus, wait_for_exit

_LADDER_SIGNALS = {"interrupt": signal.SIGINT, "terminate": signal.SIGTERM, "kill": signal.SIGKILL}


class HeadlessChild:
    """The same surface as ``PtyChild`` where the run loop uses it; there are no bytes to copy."""

    fd: int | None = None
    output_closed = False
    has_unsent = False
    next_write_at: float | None = None
    last_write_at: float | None = None

    def __init__(self, argv: list[str], env: Mapping[str, str], cwd: str | None, stdin_fd: int | None) -> None:
        """``stdin_fd`` None: the user's stdin; else that descriptor (a continuation gets /dev/null, so
        Codex neither waits for nor re-reads input that was the first run's)."""
        try:
            self._process = subprocess.Popen(argv, env=dict(env), cwd=cwd, stdin=stdin_fd)
        except OSError as exc:
            raise ChildSpawnError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
        self.pid: int = self._process.pid
        self.exit_status: ExitStatus | None = None

    # -- what a pty child does and a headless one has no need for -----------------------------

    def read(self) -> bytes:
        return b""

    def write(self, data: bytes) -> None:
        """Nothing is typed into a headless run: its stdin is the user's."""

    def write_at(self, due: float, data: bytes) -> None:
        """Nothing is typed into a headless run."""

    def flush_unsent(self) -> None:
        pass

    def flush_due_writes(self, now: float) -> None:
        pass

    def cancel_writes(self) -> None:
        pass

    def resize(self, size: tuple[int, int]) -> None:
        pass

    # -- stopping and reaping -----------------------------------------------------------------

    def stop(self, step: str, now: float) -> None:
        if self.exit_status is not None:
            return
        try:
            os.kill(self.pid, _LADDER_SIGNALS[step])
        except ProcessLookupError:
            pass

    def poll_exit(self) -> ExitStatus | None:
        """Reap the child if it has ended (never blocks)."""
        if self.exit_status is not None:
            return self.exit_status
        returncode = self._process.poll()
        if returncode is None:
            return None
        self.exit_status = ExitStatus(None, -returncode) if returncode < 0 else ExitStatus(returncode, None)
        return self.exit_status

    def wait_exit(self, timeout_s: float) -> ExitStatus | None:
        """Reap the child, waiting at most ``timeout_s`` (only on the way out, after a signal)."""
        return wait_for_exit(self.poll_exit, timeout_s)

    def close(self) -> None:
        """No descriptor of the child's is codex-fsm's to close."""


class StderrNotices:
    """What a headless run shows the user: codex-fsm's one-line notices on stderr, never on stdout
    (which carries only Codex's output), and no terminal state to restore (none was changed).
    No terminal notification either: stderr is often a file or a pipe a script reads, where OSC or
    BEL bytes would be noise in its log."""

    def __init__(self, stderr_fd: int = 2) -> None:
        self._fd = stderr_fd

    def notice(self, line: bytes, notification: bytes = b"", now: float = 0.0) -> None:
        from .terminal import write_all

        try:
            write_all(self._fd, line + b"\n")
        except OSError:
            pass  # a closed stderr must not end the run; the transition log still has every step

    def restore(self) -> None:
        pass

    def child_output_ended(self) -> None:
        """Nothing of the child's passed through here."""

    def next_due(self) -> float | None:
        return None

    def expire(self, now: float) -> None:
        pass

    def show_output(self, data: bytes) -> None:
        raise AssertionError("a headless child's output never passes through codex-fsm")

    show_leftover = show_output

    def size(self) -> tuple[int, int]:
        from .terminal import DEFAULT_SIZE

        return DEFAULT_SIZE
