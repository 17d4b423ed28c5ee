"""``codex-fsm [codex args]``: supervise an interactive Codex, or forward anything else to it.

Interactive forms (no subcommand, a prompt, ``resume``, ``fork``, with any options) run under the
supervisor loop with the child in a pty; ``exec`` and ``review`` run under the same chart on the
user's own descriptors. Everything else (``login``, ``mcp``, ``--help``, ``--version`` …) is
forwarded as-is.

The concrete pool, quota, config and log classes are built in one place, ``supervisor.composition``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Mapping

from .adapters.codex_args import Invocation, classify, forward_args
from .errors import TerminalError

if TYPE_CHECKING:
    from .adapters.codex_options import CodexOptions

# Non-interactive commands that make model requests, so they need an account with quota.
ACCOUNT_COMMANDS = frozenset({"exec", "e", "review"})


def main(argv: list[str]) -> int:
    options = _codex_options(os.environ)
    invocation = classify(argv, options)
    if invocation.command in ("resume", "fork") and invocation.resume_id is None:
        # Codex's own picker and --last only see the account in use; ours see every account's sessions.
        chosen = _choose_resume(argv, os.environ, options)
        if chosen is None:
            return 0
        invocation = classify(chosen, options)
    if invocation.command in ACCOUNT_COMMANDS:
        return supervise_headless(invocation, os.environ)
    if not invocation.interactive:
        return forward(invocation, os.environ)
    if not os.isatty(0):
        raise TerminalError("stdin is not a terminal; interactive Codex needs one "
                            "(non-interactive commands such as `codex-fsm exec` work without)")
    return supervise(invocation, os.environ)


def _codex_options(env: Mapping[str, str]) -> "CodexOptions":
    """Which options of the installed Codex take a value (cached per release), to read ``argv`` with."""
    from .composition import Composition

    return Composition.load(env, remember_validated=True).codex_options()


def _choose_resume(argv: list[str], env: Mapping[str, str], options: "CodexOptions") -> list[str] | None:
    from . import paths
    from .adapters.picker import choose_session
    from .resume_request import rewrite_resume_args

    return rewrite_resume_args(argv, paths.user_codex_home(env), os.getcwd(),
                               lambda sessions: choose_session(sessions, sys.stdin, sys.stdout), options)


def supervise(invocation: Invocation, env: Mapping[str, str]) -> int:
    from .composition import Composition

    supervised = Composition.load(env, remember_validated=True).supervised_session(invocation)
    try:
        return supervised.loop.run()
    finally:
        supervised.log.close()


def supervise_headless(invocation: Invocation, env: Mapping[str, str]) -> int:
    """``exec``/``review`` under the chart: probed, leased, logged, and continued on the next account
    with ``codex exec resume`` when a usage limit ends a run. Their ``--help`` is Codex's, forwarded."""
    from .adapters.exec_args import parse_headless, take_max_wait
    from .composition import Composition

    invocation, max_wait_s = take_max_wait(invocation)
    if parse_headless(invocation).shows_help:
        return forward(invocation, env)
    supervised = Composition.load(env, remember_validated=True).supervised_headless(invocation, max_wait_s)
    try:
        return supervised.loop.run()
    finally:
        supervised.log.close()


def forward(invocation: Invocation, env: Mapping[str, str]) -> int:
    """Run Codex with the user's arguments unchanged (login, mcp, --help, ...): it replaces codex-fsm."""
    from .adapters.codex_binary import child_env
    from .composition import Composition

    binary = Composition.load(env).codex_binary()
    argv = [str(binary.path), *forward_args(invocation)]
    os.execve(argv[0], argv, child_env(env, binary, None))
    return 127  # not reached: execve replaces this process or raises


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
