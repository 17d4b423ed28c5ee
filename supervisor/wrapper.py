"""``codex-fsm [codex args]``: supervise an interactive Codex, or forward anything else to it.

Interactive forms (no subcommand, a prompt, ``resume``, ``fork``, with any options) run under the
supervisor loop. Everything else (``exec``, ``login``, ``mcp``, ``--help``, ``--version`` …) is
forwarded as-is; ``exec`` and ``review`` still run on a leased, healthy account.

The concrete pool, quota, config and log classes are built in one place, ``supervisor.composition``.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Mapping

from .adapters.codex_args import Invocation, classify, forward_args
from .errors import TerminalError

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


def supervise(invocation: Invocation, env: Mapping[str, str]) -> int:
    from .composition import Composition

    supervised = Composition.load(env, remember_validated=True).supervised_session(invocation)
    try:
        return supervised.loop.run()
    finally:
        supervised.log.close()


def forward(invocation: Invocation, env: Mapping[str, str]) -> int:
    """Run Codex with the user's arguments unchanged, carrying its exit status (128+N on signal N)."""
    from .adapters.codex_binary import child_env
    from .composition import Composition

    root = Composition.load(env)
    binary = root.codex_binary()
    argv = [str(binary.path), *forward_args(invocation)]
    if invocation.command not in ACCOUNT_COMMANDS:
        os.execve(argv[0], argv, child_env(env, binary, None))
    return _forward_on_account(argv, binary, root)


def _forward_on_account(argv: list[str], binary, root) -> int:
    """``exec``/``review`` on the pool's best-ranked account, leased for the run."""
    import signal
    import subprocess

    from .adapters.codex_binary import child_env
    from .core import events as ev
    from .errors import PoolError

    pool = root.session_pool(root.session_settings().thresholds_for)
    leased = pool.lease_candidate("session", (), time.time())
    if not isinstance(leased, ev.AccountLeased):
        pool.close(time.time())
        raise PoolError(f"no account can run `codex {argv[3] if len(argv) > 3 else ''}`: {leased.reason}")
    child = subprocess.Popen(argv, env=child_env(root.env, binary, pool.codex_home(leased.account)))
    forwarded = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, lambda number, _frame: child.send_signal(number)) for s in forwarded}
    try:
        code = _wait_holding_lease(child, pool, root.config.pool.heartbeat_s)
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
