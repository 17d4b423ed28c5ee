"""``codex-fsm [codex args]``: supervise an interactive Codex, or forward anything else to it.

Interactive forms (no subcommand, a prompt, ``resume``, ``fork``, with any options) run under the
supervisor loop. Everything else (``exec``, ``login``, ``mcp``, ``--help``, ``--version`` …) is
forwarded as-is; ``exec`` and ``review`` still run on a leased, healthy account.

``build_runtime`` is the only place that knows the concrete pool, quota, config and log classes.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

from .adapters.codex_args import Invocation, classify, forward_args
from .errors import LogWriteError, TerminalError

if TYPE_CHECKING:  # the real classes are imported only when a session is supervised
    from .adapters.log_file import TransitionLog
    from .core.session import Session
    from .loop import LoopPorts

# Non-interactive commands that make model requests, so they need an account with quota.
ACCOUNT_COMMANDS = frozenset({"exec", "e", "review"})


def main(argv: list[str]) -> int:
    invocation = classify(argv)
    if invocation.command in ("resume", "fork") and invocation.resume_id is None:
        # Codex's own picker and --last only see the account in use; ours see every account's sessions.
        chosen = _choose_resume(argv, os.environ)
        if chosen is None:
            return 0
        invocation = classify(chosen)
    if not invocation.interactive:
        return forward(invocation, os.environ)
    if not os.isatty(0):
        raise TerminalError("stdin is not a terminal; interactive Codex needs one "
                            "(non-interactive commands such as `codex-fsm exec` work without)")
    return supervise(invocation, os.environ)


def _choose_resume(argv: list[str], env: Mapping[str, str]) -> list[str] | None:
    from . import paths
    from .adapters.picker import choose_session
    from .resume_request import rewrite_resume_args

    return rewrite_resume_args(argv, paths.user_codex_home(env), os.getcwd(),
                               lambda sessions: choose_session(sessions, sys.stdin, sys.stdout))


@dataclass
class Runtime:
    session: Session
    ports: LoopPorts
    log: TransitionLog


def supervise(invocation: Invocation, env: Mapping[str, str]) -> int:
    from .loop import SupervisorLoop

    runtime = build_runtime(invocation, env)
    try:
        return SupervisorLoop(runtime.session, runtime.ports, invocation.resume_id).run()
    finally:
        runtime.log.close()


def build_runtime(invocation: Invocation, env: Mapping[str, str]) -> Runtime:
    """Wire the real adapters: config, pool, quota (stored snapshot first), Codex, log, status."""
    from . import paths
    from .adapters.codex_binary import find_codex_binary
    from .adapters.launcher import CodexLauncher
    from .adapters.log_file import TransitionLog
    from .adapters.log_retention import new_log_path, prune_logs
    from .adapters.status_file import StatusFile
    from .adapters.stored_quota import StoredFirstQuota
    from .chartfile import load_session_chart
    from .config import load_config
    from .core.session import Session
    from .loop import LoopPorts
    from .pool.locations import account_homes, configured_pool_store
    from .pool.session_pool import open_session_pool

    config = load_config(env)
    store = configured_pool_store(config, env)
    records = {r.id: r for r in store.load().accounts}
    settings = config.session_settings({r.label: r.id for r in records.values()})
    pool = open_session_pool(store, settings.thresholds_for, env, lease_ttl_s=config.pool.lease_ttl_s)
    binary = find_codex_binary(env, config.codex.bin)
    if config.codex.extra_args:
        invocation = classify([*config.codex.extra_args, *invocation.argv])
    launcher = CodexLauncher(binary, invocation, env, os.getcwd(), pool.codex_home)

    def stored_snapshot(account: str):
        record = store.load().get(account)
        return record.quota if record is not None else None

    def make_probe():
        from .adapters.usage_probe import UsageProbe
        from .pool.credentials import CredentialStore

        credentials = CredentialStore(store, account_homes(env))
        probe = config.probe
        return UsageProbe(credentials.read_credentials, credentials.refresh_credentials,
                          base_url=probe.chatgpt_base_url, ca_bundle=probe.ca_bundle or None,
                          connect_timeout_s=probe.connect_timeout_s, read_timeout_s=probe.read_timeout_s,
                          cache_ttl_s=probe.cache_ttl_s, cache_size=probe.cache_size, workers=probe.workers)

    now = time.time()
    quota = StoredFirstQuota(stored_snapshot, make_probe, config.probe.cache_ttl_s, time.time)
    chart = load_session_chart(env)
    logs = paths.logs_dir(env)
    try:
        paths.ensure_private_dir(logs)
    except OSError as exc:
        raise LogWriteError(f"cannot create the logs folder {logs}: {exc.strerror or exc} "
                            "(set CODEX_FSM_HOME to a writable directory)") from exc
    prune_logs(logs, now, config.logs.keep_days, config.logs.max_files)
    log = TransitionLog.create(new_log_path(logs, now, os.getpid()), chart, settings, started_at=now)
    labels = {account: record.label for account, record in records.items()}
    ports = LoopPorts(pool=pool, quota=quota, log=log, launcher=launcher, clock=time.time,
                      label_of=lambda account: labels.get(account, "account …" + account[-4:]),
                      status=StatusFile(paths.fsm_home(env) / "run", os.getpid(), now),
                      heartbeat_s=config.pool.heartbeat_s)
    return Runtime(Session(chart, settings), ports, log)


def forward(invocation: Invocation, env: Mapping[str, str]) -> int:
    """Run Codex with the user's arguments unchanged, carrying its exit status (128+N on signal N)."""
    from .adapters.codex_binary import child_env, find_codex_binary
    from .config import load_config

    config = load_config(env)
    binary = find_codex_binary(env, config.codex.bin)
    argv = [str(binary.path), *forward_args(invocation)]
    if invocation.command not in ACCOUNT_COMMANDS:
        os.execve(argv[0], argv, child_env(env, binary, None))
    return _forward_on_account(argv, binary, env, config)


def _forward_on_account(argv: list[str], binary, env: Mapping[str, str], config) -> int:
    """``exec``/``review`` on the pool's best-ranked account, leased for the run."""
    import signal
    import subprocess

    from .adapters.codex_binary import child_env
    from .core import events as ev
    from .errors import PoolError
    from .pool.locations import configured_pool_store
    from .pool.session_pool import open_session_pool

    settings = config.session_settings()
    pool = open_session_pool(configured_pool_store(config, env), settings.thresholds_for, env,
                             lease_ttl_s=config.pool.lease_ttl_s)
    leased = pool.lease_candidate("session", (), time.time())
    if not isinstance(leased, ev.AccountLeased):
        pool.close(time.time())
        raise PoolError(f"no account can run `codex {argv[3] if len(argv) > 3 else ''}`: {leased.reason}")
    child = subprocess.Popen(argv, env=child_env(env, binary, pool.codex_home(leased.account)))
    forwarded = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, lambda number, _frame: child.send_signal(number)) for s in forwarded}
    try:
        code = _wait_holding_lease(child, pool, config.pool.heartbeat_s)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        pool.close(time.time())
    return 128 - code if code < 0 else code


def _wait_holding_lease(child, pool, heartbeat_s: float) -> int:
    """Wait for ``child``, renewing the pool's leases every ``heartbeat_s``: an unrenewed lease goes stale
    after the lease TTL and another session would take the account while this Codex still runs on it.

    A lease lost anyway (the pool file was edited, the machine slept past the TTL) is reported once;
    the child keeps running, since killing the user's work would be worse than sharing the account.
    """
    import subprocess

    from .core import events as ev
    from .errors import CodexFsmError
    from .terminal_text import for_terminal

    warned = False
    while True:
        try:
            return child.wait(timeout=heartbeat_s)
        except subprocess.TimeoutExpired:
            pass
        try:
            lost = [event for event in pool.heartbeat(time.time()) if isinstance(event, ev.LeaseLost)]
        except CodexFsmError:
            continue  # the pool file is busy or unreadable now; the next beat retries well within the TTL
        if lost and not warned:
            warned = True
            print(f"codex-fsm: warning: the lease on account …{for_terminal(lost[0].account[-4:])} was lost; "
                  "another session may use that account while this command runs", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
