"""The composition root: the one place that turns the configuration and the environment into the
concrete objects every command uses (the pool store, the account homes, the session pool, the
credentials, the quota sources, the Codex binary and launcher, the transition log, the status file),
and that connects the run loop's parts.

``supervise`` (the wrapper's main path), ``forward`` (exec/review on a leased account), ``accounts``,
``status`` and ``doctor`` all get their objects from a ``Composition``, so a setting cannot be honoured
by one path and ignored by another. Heavy modules are imported where they are built: start-up
(typing ``codex-fsm`` → Codex spawned) pays only for what it uses.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Iterator, Mapping

from . import paths
from .ports import ReadOnlySource

if TYPE_CHECKING:
    from .adapters.codex_args import Invocation
    from .adapters.codex_binary import CodexBinary
    from .adapters.codex_options import CodexOptions
    from .adapters.launcher import CodexLauncher, HeadlessLauncher
    from .adapters.log_file import TransitionLog
    from .adapters.status_file import StatusFile
    from .config import Config
    from .core.context import SessionContext
    from .core.quota import Thresholds
    from .core.session import Session
    from .loop import SupervisorLoop, TransitionSink
    from .notices import LabelLookup
    from .pool.credentials import CredentialStore
    from .pool.homes import AccountHomes
    from .pool.redis_store import RedisPoolStore
    from .pool.redis_vault import RedisVault
    from .pool.leases import OwnerCheck, ProcessIdentity
    from .pool.vault import CredentialVault
    from .pool.session_pool import SessionPool
    from .pool.store import PoolStore
    from .ports import PoolPort, QuotaPort


class Composition:
    """Everything built from one loaded configuration and one environment."""

    def __init__(self, config: "Config", env: Mapping[str, str]) -> None:
        self.config = config
        self.env = env

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, despite_config_errors: bool = False,
             remember_validated: bool = False) -> "Composition":
        """The configuration from ``env`` (the process environment when None). ``despite_config_errors``:
        a command that reports a broken config itself (doctor) still gets its objects, with defaults.
        ``remember_validated``: values that passed the schema once are read back without it (kept in
        ``$CODEX_FSM_HOME/cache/``, beside the validated chart): for the supervised start-up."""
        from .config import Config, load_config
        from .errors import ConfigError

        env = os.environ if env is None else env
        cache = paths.fsm_home(env) / "cache" if remember_validated else None
        try:
            return cls(load_config(env, validated_cache=cache), env)
        except ConfigError:
            if not despite_config_errors:
                raise
            return cls(Config(), env)

    # -- the pool ---------------------------------------------------------------------------------

    @property
    def shared_pool(self) -> bool:
        """Whether the pool is shared across machines (``[pool] url``), not the file in CODEX_FSM_HOME."""
        return bool(self.config.pool.url)

    @cached_property
    def pool_store(self) -> "PoolStore":
        """The pool file at its configured place, or the shared pool at ``[pool] url``, with the configured
        lock wait. A shared pool without a usable key file is refused here, before any command uses it."""
        if self.shared_pool:
            self._pool_key()
            return self.shared_store  # type: ignore[return-value]
        from .pool.locations import pool_store

        return pool_store(self.env, self.config.pool.lock_timeout_s)

    @cached_property
    def shared_store(self) -> "RedisPoolStore":
        """The shared pool at ``[pool] url`` before its key is checked: what doctor examines, which reports
        an unusable key as one of its findings. Every other command uses ``pool_store``."""
        from .pool.redis_client import connect
        from .pool.redis_store import RedisPoolStore

        return RedisPoolStore(connect(self.config.pool.url, self.env), self.config.pool.url,
                              self.config.pool.lock_timeout_s)

    @cached_property
    def account_homes(self) -> "AccountHomes":
        from .pool.locations import account_homes

        return account_homes(self.env)

    @cached_property
    def vault(self) -> "CredentialVault":
        """Where the accounts' logins live: the account homes, or the shared pool (encrypted).

        A shared pool whose logins were encrypted with another key than this host's is refused here
        (PoolKeyError), before the command that needs logins leases, decrypts or writes anything: a session
        would otherwise take a lease (a new generation, a write of the pool) and find the key wrong only when
        its child is about to start."""
        if self.shared_pool:
            from .pool.redis_vault import RedisVault

            vault = RedisVault(self.pool_store, self.account_homes, self._pool_key(), self.config.pool.key_file)  # type: ignore[arg-type]
            vault.check_key()
            return vault
        from .pool.vault import LocalVault

        return LocalVault(self.account_homes)

    def shared_pool_at(self, url: str) -> tuple["RedisPoolStore", "RedisVault"]:
        """The shared pool at ``url`` (not necessarily the configured one: ``pool migrate --to URL``) and its
        vault, with this machine's key file."""
        from .pool.redis_client import connect
        from .pool.redis_store import RedisPoolStore
        from .pool.redis_vault import RedisVault

        key = self._pool_key()
        store = RedisPoolStore(connect(url, self.env), url, self.config.pool.lock_timeout_s)
        return store, RedisVault(store, self.account_homes, key, self.config.pool.key_file)

    def file_pool(self) -> "PoolStore":
        """The pool file in CODEX_FSM_HOME, whatever ``[pool] url`` says (``pool migrate`` moves between them)."""
        from .pool.locations import pool_store

        return pool_store(self.env, self.config.pool.lock_timeout_s)

    def _pool_key(self):
        from pathlib import Path

        from .errors import PoolKeyError
        from .pool.pool_key import load_key

        if not self.config.pool.key_file:
            raise PoolKeyError("the shared pool at [pool] url needs its key: set [pool] key_file (or "
                               "CODEX_FSM_POOL_KEY_FILE) to the key file; make the first key of a new pool with "
                               "`codex-fsm pool new-key PATH` and copy it to every machine that uses the pool")
        return load_key(Path(self.config.pool.key_file))

    @cached_property
    def owner(self) -> "ProcessIdentity":
        """This process as the pool's leases name it: on the host ``[pool] host`` names (else the machine's)."""
        from .pool.leases import current_process

        return current_process(self.config.pool.host or None)

    @property
    def alive(self) -> "OwnerCheck":
        """Whether a lease's owner still runs: checked on this host, known only by its heartbeat elsewhere."""
        from .pool.leases import owner_alive

        host = self.owner.host
        return lambda lease: owner_alive(lease, host)

    def session_settings(self, accounts=None):
        """The core's settings, per-account floors named by label or id resolved against the pool's
        ``accounts`` (read from the pool when not given)."""
        accounts = self.pool_store.load().accounts if accounts is None else accounts
        return self.config.session_settings({record.label: record.id for record in accounts})

    def session_pool(self, thresholds_for: Callable[[str], "Thresholds"]) -> "SessionPool":
        from .pool.session_pool import SessionPool

        return SessionPool(self.pool_store, self.account_homes, thresholds_for, owner=self.owner,
                           lease_ttl_s=self.config.pool.lease_ttl_s, alive=self.alive, vault=self.vault)

    def credential_store(self) -> "CredentialStore":
        from .pool.credentials import CredentialStore

        return CredentialStore(self.pool_store, self.account_homes, owner=self.owner,
                               lease_ttl_s=self.config.pool.lease_ttl_s, alive=self.alive, vault=self.vault)

    # -- quota ------------------------------------------------------------------------------------

    def quota(self, clock: Callable[[], float] = time.time) -> "QuotaPort":
        """The stored snapshot while it is fresh, else a usage probe (built at its first use)."""
        from .adapters.stored_quota import StoredFirstQuota

        store = self.pool_store

        def stored_snapshot(account: str):
            from .errors import PoolError

            try:
                record = store.load().get(account)
            except PoolError:
                return None  # the pool cannot be read now (a shared pool's server away): the probe answers
            return record.quota if record is not None else None

        def make_probe():
            from .adapters.usage_probe import UsageProbe

            credentials = self.credential_store()
            return UsageProbe(credentials.read_credentials, credentials.refresh_credentials,
                              **self.config.probe.usage_probe_kwargs())

        return StoredFirstQuota(stored_snapshot, make_probe, self.config.probe.cache_ttl_s, clock)

    # -- Codex ------------------------------------------------------------------------------------

    def codex_binary(self) -> "CodexBinary":
        from .adapters.codex_binary import find_codex_binary

        return find_codex_binary(self.env, self.config.codex.bin)

    def codex_options(self) -> "CodexOptions":
        """The option tables of the Codex that will run, learned from its ``--help`` once per release and
        kept in ``$CODEX_FSM_HOME/cache/``; the fallback tables when there is no Codex to ask (the launch
        then reports that itself)."""
        from .adapters.codex_binary import child_env
        from .adapters.learned_options import learned_options
        from .errors import ChildSpawnError

        try:
            binary = self.codex_binary()
        except ChildSpawnError:
            from .adapters.codex_options import FALLBACK

            return FALLBACK
        return learned_options(binary.path, child_env(self.env, binary, None), paths.fsm_home(self.env) / "cache")

    def with_extra_args(self, invocation: "Invocation") -> "Invocation":
        """The user's command with the configured ``[codex] extra_args`` in front."""
        from .adapters.codex_args import classify

        extra = self.config.codex.extra_args
        return classify([*extra, *invocation.argv], invocation.options) if extra else invocation

    def launcher(self, invocation: "Invocation", codex_home_of: Callable) -> "CodexLauncher":
        from .adapters.launcher import CodexLauncher

        binary = self.codex_binary()
        return CodexLauncher(binary, self.with_extra_args(invocation), self.env, os.getcwd(), codex_home_of,
                             self.statusline_overrides(binary))

    def statusline_overrides(self, binary: "CodexBinary") -> list[str]:
        """The ``-c`` settings that give the child codex-fsm's status line (``[notify] statusline``),
        where the installed Codex has the feature; none otherwise."""
        if self.config.notify.statusline == "off":
            return []
        import sys
        from pathlib import Path

        from .adapters.statusline_provider import provider_overrides, statusline_supported

        if not statusline_supported(binary.path, self.env, paths.fsm_home(self.env) / "cache"):
            return []
        from .adapters.status_file import codex_limits_path, status_path

        run, pid = paths.run_dir(self.env), os.getpid()
        package_root = Path(__file__).resolve().parent.parent
        return provider_overrides(sys.executable, package_root, status_path(run, pid), codex_limits_path(run, pid))

    # -- records ----------------------------------------------------------------------------------

    def transition_log(self, chart, settings, now: float) -> "TransitionLog":
        """A new transition log in the logs folder, after pruning the old ones as configured."""
        from .adapters.log_file import TransitionLog
        from .adapters.log_retention import new_log_path, prune_logs
        from .errors import LogWriteError

        logs = paths.logs_dir(self.env)
        try:
            paths.ensure_private_dir(logs)
        except OSError as exc:
            raise LogWriteError(f"cannot create the logs folder {logs}: {exc.strerror or exc} "
                                "(set CODEX_FSM_HOME to a writable directory)") from exc
        prune_logs(logs, now, self.config.logs.keep_days, self.config.logs.max_files)
        return TransitionLog.create(new_log_path(logs, now, os.getpid()), chart, settings, started_at=now)

    def status_file(self, now: float, kind: str = "tui") -> "StatusFile":
        from .adapters.status_file import StatusFile

        return StatusFile(paths.run_dir(self.env), os.getpid(), now, kind)

    # -- the supervised session -------------------------------------------------------------------

    def supervised_session(self, invocation: "Invocation") -> "Supervised":
        """The core, its ports and the loop for one supervised Codex (``codex-fsm [codex args]``)."""
        return self._supervised(lambda pool: self.launcher(invocation, pool.codex_home), assemble_loop)

    def supervised_headless(self, invocation: "Invocation", max_wait_s: float | None = None) -> "Supervised":
        """The same core, chart and ports for ``codex exec``/``review``: the child on the user's own
        descriptors, codex-fsm's notices on stderr, no keyboard. ``max_wait_s`` overrides how long
        the run may wait for a reset when every account is spent."""
        from .adapters.exec_args import headless_launch_args, parse_headless, resolve_last
        from .adapters.launcher import CONTINUATION_PROMPT, HeadlessLauncher

        run = resolve_last(parse_headless(self.with_extra_args(invocation)), paths.user_codex_home(self.env),
                           os.getcwd())

        def launcher(pool: "SessionPool") -> "HeadlessLauncher":
            return HeadlessLauncher(self.codex_binary(), run.invocation,
                                    lambda session_id: headless_launch_args(run, session_id, CONTINUATION_PROMPT),
                                    self.env, os.getcwd(), pool.codex_home)

        return self._supervised(launcher, lambda session, ports: assemble_headless_loop(session, ports, run.resume_id),
                                max_wait_s=max_wait_s, kind="exec")

    def _supervised(self, make_launcher: Callable[["SessionPool"], "CodexLauncher | HeadlessLauncher"],
                    assemble: Callable[["Session", "LoopPorts"], "SupervisorLoop"], *,
                    max_wait_s: float | None = None, kind: str = "tui") -> "Supervised":
        from .chartfile import load_session_chart
        from .core.session import Session

        accounts = self.pool_store.load().accounts
        settings = self.session_settings(accounts)
        if max_wait_s is not None:
            from dataclasses import replace

            settings = replace(settings, max_pool_wait_s=max_wait_s)
        labels = {record.id: record.label for record in accounts}
        pool = self.session_pool(settings.thresholds_for)
        launcher = make_launcher(pool)
        now = time.time()
        chart = load_session_chart(self.env)
        log = self.transition_log(chart, settings, now)
        from .adapters.terminal_notification import TerminalNotifier

        ports = LoopPorts(pool=pool, quota=self.quota(), log=log, launcher=launcher, clock=time.time,
                          label_of=lambda account: labels.get(account, "account …" + account[-4:]),
                          status=self.status_file(now, kind), heartbeat_s=self.config.pool.heartbeat_s,
                          notification=TerminalNotifier(self.config.notify.method, self.env))
        session = Session(chart, settings)
        return Supervised(session, ports, log, assemble(session, ports))


@dataclass
class LoopPorts:
    """The adapters one supervised session runs on (fakes in tests)."""

    pool: "PoolPort"
    quota: "QuotaPort"
    log: "TransitionSink"
    launcher: "CodexLauncher | HeadlessLauncher"
    clock: Callable[[], float]
    label_of: "LabelLookup"
    status: "StatusFile | None" = None
    heartbeat_s: float = 10.0
    # The terminal notification for a notice's line (TUI sessions only; a headless run sends none).
    notification: "Callable[[str], bytes] | None" = None


@dataclass
class Supervised:
    session: "Session"
    ports: LoopPorts
    log: "TransitionLog"
    loop: "SupervisorLoop"


def assemble_loop(session: "Session", ports: LoopPorts, stdin_fd: int = 0, stdout_fd: int = 1) -> "SupervisorLoop":
    """Connect the loop's parts around ``ports`` for the TUI: the child in a pty, the keyboard, the
    signals, the quota answers and the heartbeat as event sources; the executor; their lifetimes."""
    from .adapters import terminal
    from .adapters.keyboard import KeyboardSource
    from .adapters.terminal_replies import AskedQueries

    interactive = os.isatty(stdin_fd)
    screen = terminal.Screen(stdout_fd, size_fd=stdin_fd if interactive else stdout_fd)
    asked = AskedQueries()
    parts = _LoopParts(ports, screen, asked)
    keyboard = KeyboardSource(stdin_fd, parts.child, parts.keys, asked)
    # The user's request (``resume <id>``) is where the core first learns the session id.
    return parts.loop(session, keyboard=keyboard, raw_mode=terminal.RawMode(stdin_fd) if interactive else None,
                      requested=ports.launcher.invocation.resume_id, headless=False)


def assemble_headless_loop(session: "Session", ports: LoopPorts, requested: str | None,
                           stderr_fd: int = 2) -> "SupervisorLoop":
    """The loop for ``codex exec``: no keyboard (stdin is the child's), no raw mode, notices on stderr."""
    from .adapters.headless_child import StderrNotices
    from .adapters.terminal_replies import AskedQueries

    parts = _LoopParts(ports, StderrNotices(stderr_fd), AskedQueries())
    return parts.loop(session, keyboard=None, raw_mode=None, requested=requested, headless=True)


class _LoopParts:
    """What both forms of the loop share: the child watch, the guarded pool and its heartbeat, the
    signals, the executor, and the lifetimes that close them on every way out."""

    def __init__(self, ports: LoopPorts, screen, asked) -> None:
        from .adapters.child_watch import ChildWatch
        from .adapters.input_tracker import InputTracker
        from .adapters.pool_guard import GuardedPool, PoolHeartbeat
        from .adapters.signal_source import SignalSource

        self.ports = ports
        self.screen = screen
        self.keys = InputTracker()
        self.pool = GuardedPool(ports.pool, tell=self._tell)
        self.child = ChildWatch(ports.launcher, screen, asked, self.keys, ports.clock)
        self.signals = SignalSource(self.child)
        self.heartbeat = PoolHeartbeat(self.pool, ports.heartbeat_s)

    def _tell(self, text: str) -> None:
        """One line for the user about the pool itself (its server went away, came back): the text names
        a server another machine may have configured, so it passes ``for_terminal`` whole."""
        from .notices import PREFIX
        from .terminal_text import for_terminal

        self.screen.notice(for_terminal(PREFIX + text).encode("utf-8", "replace"), b"", self.ports.clock())

    def loop(self, session: "Session", keyboard, raw_mode, requested: str | None, headless: bool) -> "SupervisorLoop":
        from .command_executor import CommandExecutor
        from .core import events as ev
        from .loop import LoopWiring, SupervisorLoop

        from .adapters.session_model import requested_model

        ports, child, heartbeat, keys = self.ports, self.child, self.heartbeat, self.keys
        invocation = getattr(ports.launcher, "invocation", None)
        model = requested_model(invocation.argv) if invocation is not None else None
        executor = CommandExecutor(self.pool, ports.quota, child, keys, self.screen, ports.label_of, ports.clock,
                                   headless=headless, notification=None if headless else ports.notification)

        @contextmanager
        def closing_ports() -> Iterator[None]:
            try:
                yield
            finally:
                ports.pool.close(ports.clock())
                ports.quota.close()
                if ports.status is not None:
                    ports.status.remove()

        # Codex's own figures, sent to codex-fsm's status-line provider with each read (TUI only; the
        # file stays absent where the installed Codex has no provider).
        limits = None
        if not headless and ports.status is not None:
            from .adapters.codex_limits import CodexLimitsSource
            from .adapters.status_file import codex_limits_path

            limits = CodexLimitsSource(codex_limits_path(ports.status.path.parent, os.getpid()),
                                       lambda: child.child_pid)

        @contextmanager
        def heartbeat_started() -> Iterator[None]:
            heartbeat.start(ports.clock())
            if limits is not None:
                limits.start(ports.clock())
            yield

        @contextmanager
        def child_abandoned_on_exit() -> Iterator[None]:
            try:
                yield
            finally:
                child.abandon()

        lifetimes = [closing_ports(), self.signals, *([raw_mode] if raw_mode is not None else []),
                     heartbeat_started(), child_abandoned_on_exit()]
        sources = (self.signals, child, *([keyboard] if keyboard is not None else []),
                   _QuotaEvents(ports.quota), heartbeat, *([limits] if limits is not None else []))
        status = ports.status
        wiring = LoopWiring(
            sources=sources, executor=executor, log=ports.log, clock=ports.clock,
            start=lambda now: ev.SessionStarted(at=now, session_id=requested, headless=headless, model=model),
            last_input_at=lambda: keys.last_input_at,
            status=None if status is None else _LabelledStatus(status, ports.label_of),
            lifetimes=lifetimes)
        return SupervisorLoop(session, wiring)


class _QuotaEvents(ReadOnlySource):
    """The quota port as an event source (its answers are stamped with their own time)."""

    def __init__(self, quota: "QuotaPort") -> None:
        self._quota = quota

    def fileno(self) -> int | None:
        return self._quota.fileno()

    def poll(self, now: float) -> list:
        return self._quota.poll()


class _LabelledStatus:
    """The status file shows accounts by their masked label, never by id; for the status line also the
    running account's windows (of the family the session's model uses) and the last move."""

    def __init__(self, status: "StatusFile", label_of: "LabelLookup") -> None:
        self._status = status
        self._label_of = label_of
        self._account: str | None = None
        self._moved_from: str | None = None
        self._moved_at: float | None = None

    def publish(self, state: str, context: "SessionContext", now: float) -> None:
        from .adapters.status_file import StatusExtras

        account = context.account
        if account is not None and self._account is not None and account != self._account:
            self._moved_from, self._moved_at = self._label_of(self._account), now
        if account is not None:
            self._account = account
        extras = StatusExtras(_windows(context, self._moved_at), self._moved_from, self._moved_at)
        self._status.publish(state, self._label_of(account) if account else None, context.session_id, now, extras)


def _windows(context: "SessionContext", moved_at: float | None) -> tuple[dict, ...]:
    """The running account's windows; none from a snapshot older than the last move (right after a
    rotation the context still holds the account the session left)."""
    snapshot = context.last_snapshot
    if snapshot is None or (moved_at is not None and snapshot.observed_at < moved_at):
        return ()
    view = snapshot.for_model(context.model)
    return tuple({"used_percent": w.used_percent, "window_minutes": w.window_minutes, "resets_at": w.resets_at}
                 for w in view.windows)
