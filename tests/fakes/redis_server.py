"""A real ``redis-server`` for the shared pool's tests: loopback only, a free port, a private folder.

Persistence is an append-only file fsynced on every write (``--appendonly yes --appendfsync always``) and no
RDB snapshots (``--save ""``), so a restart, even after ``kill -9``, finds every acknowledged write again: the
pool's tests rely on that to play a Redis host going away and coming back. The password, when there is one,
reaches the server on its standard input (``redis-server -``) rather than the command line, so ``ps`` and
``/proc/<pid>/cmdline`` never show it. A missing ``redis-server`` is an error naming ``make redis``: the tests
that need it fail, they do not skip.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from supervisor.terminal_text import for_terminal

HOST = "127.0.0.1"
BINARY = "redis-server"
LOG_TAIL_LINES = 20
POLL_INTERVAL_S = 0.005
STOP_TIMEOUT_S = 10.0
# A port picked by free_loopback_port can be taken by someone else before redis binds it; a server whose port
# was not chosen by the caller gets this many fresh ports before giving up.
PORT_ATTEMPTS = 3
_PR_SET_PDEATHSIG = 1


class RedisServerError(RuntimeError):
    """The redis-server could not be started, did not answer, or did not stop."""


class RedisServerMissing(RedisServerError):
    """No redis-server binary to run."""


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the moment of asking."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _config_string(value: str) -> str:
    """``value`` as a double-quoted redis config argument: every byte hex-escaped, so no quote, space or
    newline in it can end the argument or start another directive."""
    return '"' + "".join(f"\\x{byte:02x}" for byte in value.encode()) + '"'


def _load_libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


# Loaded here, in the parent: the child between fork and exec should do as little as it can (no dlopen).
_LIBC = _load_libc()


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends it SIGKILL when the test process dies, so a crashed
    pytest leaves no redis-server behind."""
    prctl = getattr(_LIBC, "prctl", None)
    if prctl is not None:  # Linux; elsewhere the servers are still stopped by close() and the fixtures
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1 and the folder that holds its log and append-only file.

    The same port and folder are kept across stop/start, restart and kill, so clients and URLs taken before a
    restart point at the restarted server and it reloads the data of the one before.
    """

    def __init__(self, password: str | None = None, *, directory: Path | str | None = None,
                 ready_timeout_s: float = 10, port: int | None = None, binary: str = BINARY) -> None:
        self.password = password
        self.ready_timeout_s = ready_timeout_s
        self.binary = binary
        self._port = port
        self._made_directory = directory is None
        self._directory = Path(directory) if directory is not None else None
        self._process: subprocess.Popen[bytes] | None = None

    # -- where it is ------------------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        if self._port is None:
            raise RedisServerError("the redis-server has no port before its first start()")
        return self._port

    @property
    def url(self) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password is not None else ""
        return f"redis://{auth}{HOST}:{self.port}/0"

    @property
    def directory(self) -> Path:
        if self._directory is None:
            raise RedisServerError("the redis-server has no directory before its first start()")
        return self._directory

    @property
    def log_path(self) -> Path:
        return self.directory / "redis.log"

    @property
    def console_path(self) -> Path:
        """What redis-server printed before its log file was open (bad options end up here)."""
        return self.directory / "redis.console"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __repr__(self) -> str:  # never the password
        state = "running" if self.running else "stopped"
        where = f"{HOST}:{self._port}" if self._port is not None else "no port yet"
        return f"RedisServer({where}, {state})"

    # -- clients ----------------------------------------------------------------------------------------------

    def client(self, **options: Any) -> Any:
        """A ``redis.Redis`` to this server that never retries, so a test against a dead server fails at once
        with the error instead of after redis-py's backoff."""
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        settings: dict[str, Any] = {"host": HOST, "port": self.port, "db": 0, "password": self.password,
                                    "socket_timeout": 5, "socket_connect_timeout": 2,
                                    "retry": Retry(NoBackoff(), 0)}
        settings.update(options)
        return redis.Redis(**settings)

    # -- life cycle -------------------------------------------------------------------------------------------

    def start(self) -> RedisServer:
        if self.running:
            raise RedisServerError(f"{self!r} is already running")
        executable = shutil.which(self.binary)
        if executable is None:
            raise RedisServerMissing(
                f"{self.binary!r} is not installed (not found on PATH): run `make redis` to install Debian's "
                f"redis-server; the shared pool's tests need a real Redis")
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(prefix="codex-fsm-redis-"))
        self._directory.mkdir(parents=True, exist_ok=True)
        # a restart keeps its port (clients and URLs point there); only a first start on a port picked here
        # may move to another one
        attempts = 1 if self._port is not None else PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            if self._port is None:
                self._port = free_loopback_port()
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            try:
                self._spawn(executable)
                self._wait_until_ready()
                return self
            except RedisServerError:
                if attempt == attempts or not self._lost_the_port_race(log_offset):
                    raise
                self._port = None  # someone took the free port between asking and binding: another one
        raise AssertionError("unreachable: the last attempt returns or raises")

    def stop(self) -> None:
        """A graceful shutdown: the SHUTDOWN command (SIGTERM when it cannot be sent: redis only acts on the
        signal at its next 100 ms tick), SIGKILL if it has not exited within STOP_TIMEOUT_S. Nothing is lost
        either way: every write is already fsynced to the append-only file."""
        if not self.running or self._process is None:
            return
        import redis

        try:
            with self.client(socket_timeout=STOP_TIMEOUT_S) as admin:
                admin.shutdown()
        except redis.RedisError:
            self._process.terminate()
        try:
            self._process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RedisServerError(f"redis-server {HOST}:{self._port} did not stop within {STOP_TIMEOUT_S} s "
                                   f"and was killed{self._log_excerpt()}") from None

    def kill(self) -> None:
        """SIGKILL, as a host that loses power: no shutdown, only what the append-only file holds survives."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()

    def restart(self, *, crash: bool = False) -> RedisServer:
        """The server again on the same port and folder; ``crash`` kills it with SIGKILL first instead of
        stopping it gracefully."""
        if crash:
            self.kill()
        else:
            self.stop()
        return self.start()

    def close(self) -> None:
        """Stop it and remove its folder when this object made the folder."""
        try:
            self.stop()
        finally:
            self.kill()
            if self._made_directory and self._directory is not None:
                shutil.rmtree(self._directory, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        try:
            return self.start()
        except BaseException:
            self.close()  # __exit__ never runs for a failed __enter__: the folder would be left behind
            raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------------------------

    def _arguments(self, executable: str) -> list[str]:
        return [executable, "-",  # "-": the rest of the configuration (the password) is read from stdin
                "--port", str(self.port), "--bind", HOST, "--protected-mode", "yes",
                "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                "--dir", str(self.directory), "--logfile", str(self.log_path), "--daemonize", "no"]

    def _spawn(self, executable: str) -> None:
        stdin_config = f"requirepass {_config_string(self.password)}\n" if self.password is not None else ""
        with open(self.console_path, "ab") as console:
            self._process = subprocess.Popen(
                self._arguments(executable), stdin=subprocess.PIPE, stdout=console, stderr=subprocess.STDOUT,
                cwd=self.directory, preexec_fn=_die_with_parent)
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(stdin_config.encode())
            self._process.stdin.close()  # redis reads its stdin configuration up to end of file
        except BrokenPipeError:
            pass  # it exited at once: _wait_until_ready reports why, from its log

    def _wait_until_ready(self) -> None:
        """Poll until this process answers on the port, exits, or ready_timeout_s passes."""
        import redis

        deadline = time.monotonic() + self.ready_timeout_s
        probe = self.client(socket_timeout=1, socket_connect_timeout=1)
        last_error = "no answer yet"
        try:
            while True:
                if self._process is None or self._process.poll() is not None:
                    code = self._process.returncode if self._process is not None else None
                    raise RedisServerError(f"redis-server on {HOST}:{self.port} exited with status {code} "
                                           f"before answering{self._log_excerpt()}")
                try:
                    # a PONG alone could come from another server that holds the port, the one this process
                    # is about to fail to bind: only this process's own id means ready
                    answering = probe.info("server").get("process_id")
                    if answering == self._process.pid:
                        return
                    last_error = f"the port is answered by another redis-server (process {answering})"
                except redis.RedisError as error:  # refused, still loading the append-only file, ...
                    last_error = f"{type(error).__name__}: {error}"
                if time.monotonic() >= deadline:
                    self.kill()
                    raise RedisServerError(
                        f"redis-server on {HOST}:{self.port} did not answer within {self.ready_timeout_s} s "
                        f"(last: {for_terminal(last_error, 200)}) and was killed{self._log_excerpt()}")
                time.sleep(POLL_INTERVAL_S)
        finally:
            probe.close()

    def _lost_the_port_race(self, log_offset: int) -> bool:
        """Whether this start's part of the log says the port was taken."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(log_offset)
                return b"Address already in use" in log.read()
        except OSError:
            return False

    def _log_excerpt(self) -> str:
        parts = []
        for path in (self.console_path, self.log_path):
            lines = _tail(path)
            if lines:
                shown = "\n".join(f"  {for_terminal(line, 300)}" for line in lines)
                parts.append(f"\nlast lines of {path}:\n{shown}")
        return "".join(parts) or f"\n(nothing in {self.log_path} or {self.console_path})"
