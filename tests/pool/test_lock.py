"""The kernel-held pool lock: bounded real waits, clear timeouts, nothing stranded."""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from supervisor.errors import PoolError, PoolLockTimeout
from supervisor.pool.lock import PoolLock, describe_holder

REPO = Path(__file__).resolve().parents[2]


def _other_holder(path: Path) -> int:
    """Take the lock through a separate open file description (flock treats it as another holder)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def _release(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def test_timeout_names_the_lock_file_and_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "pool.json.lock"
    with PoolLock(path):
        pass  # leaves this process's hint in the file
    holder = _other_holder(path)
    try:
        with pytest.raises(PoolLockTimeout) as info:
            PoolLock(path, timeout_s=0.05).acquire()
    finally:
        _release(holder)
    assert str(path) in str(info.value)
    assert f"last taken by pid {os.getpid()}" in str(info.value)


def test_waiter_keeps_waiting_until_the_holder_lets_go(tmp_path: Path) -> None:
    """Regression: a lock wait must block, never give up or exit early."""
    path = tmp_path / "pool.json.lock"
    holder = _other_holder(path)
    sleeps: list[float] = []
    clock = iter(range(10_000)).__next__  # each poll costs one fake second; the wait allows 5

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            _release(holder)
    lock = PoolLock(path, timeout_s=5, clock=clock, sleep=sleep)
    with lock:
        assert len(sleeps) == 3
    PoolLock(path, timeout_s=0).acquire()


def test_waiting_process_stays_alive_and_gets_the_lock(tmp_path: Path) -> None:
    """Regression, with a real second process waiting on the kernel lock."""
    path = tmp_path / "pool.json.lock"
    holder = _other_holder(path)
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from supervisor.pool.lock import PoolLock
        told = []
        def sleep(s):
            if not told:
                told.append(1); print("waiting", flush=True)
            time.sleep(s)
        with PoolLock(Path({str(path)!r}), timeout_s=60, sleep=sleep):
            print("acquired", flush=True)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "waiting\n"
        assert child.poll() is None
        _release(holder)
        assert child.stdout.readline() == "acquired\n"
        assert child.wait(timeout=30) == 0
    finally:
        child.kill()
        child.wait()


def test_crashed_holder_frees_the_lock_at_once(tmp_path: Path) -> None:
    """Regression: a SIGKILLed holder must not block others for a TTL."""
    path = tmp_path / "pool.json.lock"
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from supervisor.pool.lock import PoolLock
        lock = PoolLock(Path({str(path)!r}))
        lock.acquire()
        print("locked", flush=True)
        time.sleep(600)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "locked\n"
        with pytest.raises(PoolLockTimeout):
            PoolLock(path, timeout_s=0).acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with PoolLock(path, timeout_s=5):
        pass


def test_failed_hint_write_leaves_no_stranded_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a failed payload write must not leave the lock held."""
    path = tmp_path / "pool.json.lock"

    def no_space(fd: int, data: bytes, offset: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "pwrite", no_space)
    with pytest.raises(PoolError, match="could not write the pool lock file .*No space left"):
        PoolLock(path).acquire()
    monkeypatch.undo()
    with PoolLock(path, timeout_s=0):
        pass


def test_garbage_in_the_lock_file_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "pool.json.lock"
    path.write_bytes(b"\x00\xffnot a pid at all\n" * 50)
    assert describe_holder(path) == "holder unknown"
    holder = _other_holder(path)
    try:
        with pytest.raises(PoolLockTimeout, match="holder unknown"):
            PoolLock(path, timeout_s=0).acquire()
    finally:
        _release(holder)
    with PoolLock(path, timeout_s=0):
        pass
    assert describe_holder(path).startswith(f"last taken by pid {os.getpid()}")


def test_unopenable_lock_file_is_an_error_not_contention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "pool.json.lock"
    real_open = os.open

    def denied(name, *args, **kwargs):
        if Path(name) == path:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(name, *args, **kwargs)
    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(PoolError, match="cannot open the pool lock file .*Permission denied") as info:
        PoolLock(path, timeout_s=60).acquire()
    assert not isinstance(info.value, PoolLockTimeout)


def test_error_raised_while_holding_propagates_and_releases(tmp_path: Path) -> None:
    """Regression: the critical section's own errors are not contention."""
    path = tmp_path / "pool.json.lock"
    with pytest.raises(FileExistsError):
        with PoolLock(path, timeout_s=0):
            raise FileExistsError(errno.EEXIST, "inside")
    with PoolLock(path, timeout_s=0):
        pass


def test_nested_acquire_in_one_thread_fails_fast(tmp_path: Path) -> None:
    path = tmp_path / "pool.json.lock"
    with PoolLock(path):
        with pytest.raises(PoolError, match="already held by this thread"):
            PoolLock(path, timeout_s=60).acquire()


def test_a_lock_failure_other_than_contention_is_not_waited_out(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "pool.json.lock"
    calls = []

    def no_locks(fd, flags):
        calls.append(flags)
        raise OSError(errno.ENOLCK, "No locks available")
    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(PoolError, match="cannot lock the pool lock file") as info:
        PoolLock(path, timeout_s=60, sleep=lambda s: pytest.fail("waited on a non-contention error")).acquire()
    assert not isinstance(info.value, PoolLockTimeout) and len(calls) == 1
