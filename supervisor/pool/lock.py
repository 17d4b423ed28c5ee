"""The pool lock: a kernel-held exclusive lock (``flock``) on a sidecar file.

The kernel drops the lock the moment its holder dies, so a crashed holder never blocks anyone: the
lock file that stays behind is harmless and its contents are only a hint for error messages. The
lock is held around short read-modify-write sections of the pool file only, never while a child
runs. A waiter really blocks (polling with sleeps) until the lock is free or its bounded wait ends
in ``PoolLockTimeout``; errors raised while the lock is held are never treated as contention.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Callable

from ..errors import PoolError, PoolLockTimeout

DEFAULT_LOCK_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.005
_MAX_POLL_INTERVAL_S = 0.05

_held = threading.local()


class PoolLock:
    """``with PoolLock(path): ...`` holds the lock for the block; not re-entrant within a thread."""

    def __init__(self, path: Path, timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self._clock = clock
        self._sleep = sleep
        self._fd: int | None = None

    def __enter__(self) -> "PoolLock":
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def acquire(self) -> None:
        key = str(self.path.absolute())
        held: set[str] = getattr(_held, "paths", set())
        if key in held:
            raise PoolError(f"pool lock {self.path} is already held by this thread (nested pool transaction)")
        fd = self._open()
        try:
            self._wait_for_lock(fd)
        except BaseException:
            os.close(fd)
            raise
        try:
            self._write_holder_hint(fd)
        except OSError as exc:
            # The lock must not outlive a failed write: unlock and close before reporting.
            _unlock_and_close(fd)
            raise PoolError(f"could not write the pool lock file {self.path}: {exc.strerror or exc}") from exc
        self._fd = fd
        held.add(key)
        _held.paths = held

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        getattr(_held, "paths", set()).discard(str(self.path.absolute()))
        _unlock_and_close(fd)

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise PoolError(f"cannot open the pool lock file {self.path}: {exc.strerror or exc}") from exc

    def _wait_for_lock(self, fd: int) -> None:
        deadline = self._clock() + self.timeout_s
        interval = POLL_INTERVAL_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass  # another holder: wait
            except OSError as exc:
                raise PoolError(f"cannot lock the pool lock file {self.path}: {exc.strerror or exc}") from exc
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise PoolLockTimeout(
                    f"timed out after {self.timeout_s:g} s waiting for the pool lock {self.path} "
                    f"({describe_holder(self.path)}); another codex-fsm is in a pool update")
            self._sleep(min(interval, remaining))
            interval = min(interval * 2, _MAX_POLL_INTERVAL_S)

    def _write_holder_hint(self, fd: int) -> None:
        hint = f"{os.getpid()} {os.uname().nodename}\n".encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, hint, 0)


def describe_holder(path: Path) -> str:
    """Who last took the lock, from the hint in the file; garbage or absence is reported as unknown."""
    try:
        text = path.read_bytes()[:200].decode("ascii")
        pid_text, host = text.split()
        return f"last taken by pid {int(pid_text)} on {host}"
    except (OSError, ValueError, UnicodeDecodeError):
        return "holder unknown"


def _unlock_and_close(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
