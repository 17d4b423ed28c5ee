"""One supervised launch of Codex: the user's command (or its continuation) on an account's home.

Holds what stays the same across launches of one session (binary, the user's arguments, the
environment, the working directory) so the loop only says "spawn on this account". The TUI runs in
a pty (``CodexLauncher``); ``codex exec`` runs on the user's own descriptors (``HeadlessLauncher``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from .codex_args import Invocation, launch_args
from .codex_binary import CodexBinary, child_env
from .pty_child import PtyChild

if TYPE_CHECKING:
    from .headless_child import HeadlessChild

# Sent after a usage-limit rotation instead of the interrupted request (typed into the resumed TUI,
# or the prompt of ``codex exec resume``): the resumed thread's history already holds the user's
# message, so sending it again would show the model the user's words twice.
CONTINUATION_PROMPT = "Please continue where you left off."


@dataclass(frozen=True, slots=True)
class Launch:
    child: "PtyChild | HeadlessChild"
    codex_home: Path
    # A headless run has no composer to wait for: it is ready as soon as it runs.
    ready_at_spawn: bool = False


class _Launcher:
    """What both launchers hold: the binary, the user's command, the environment and the folder."""

    def __init__(self, binary: CodexBinary, invocation: Invocation, base_env: Mapping[str, str],
                 cwd: str, codex_home_of: Callable[[str], Path]) -> None:
        self.binary = binary
        self.invocation = invocation
        self._base_env = dict(base_env)
        self._cwd = cwd
        self._codex_home_of = codex_home_of

    @property
    def session_cwd(self) -> str:
        """The directory Codex records as the session's cwd (``-C/--cd`` wins over ours)."""
        cd = self.invocation.cd
        return os.path.realpath(os.path.join(self._cwd, cd)) if cd else os.path.realpath(self._cwd)


class CodexLauncher(_Launcher):
    def __init__(self, binary: CodexBinary, invocation: Invocation, base_env: Mapping[str, str],
                 cwd: str, codex_home_of: Callable[[str], Path], overrides: Sequence[str] = ()) -> None:
        """``overrides``: codex-fsm's own ``-c`` settings for every launch (the status-line provider)."""
        super().__init__(binary, invocation, base_env, cwd, codex_home_of)
        self.overrides = tuple(overrides)

    def spawn(self, account: str, resume_session_id: str | None, size: tuple[int, int]) -> Launch:
        """Start Codex in a pty on ``account``; raises ChildSpawnError."""
        home = self._codex_home_of(account)
        argv = [str(self.binary.path), *self.overrides, *launch_args(self.invocation, resume_session_id)]
        child = PtyChild(argv, child_env(self._base_env, self.binary, home), self._cwd, size)
        return Launch(child, home)


class HeadlessLauncher(_Launcher):
    """``codex exec``/``review`` on the user's own descriptors. ``args_for(None)`` is the user's
    command; ``args_for(session_id)`` continues that session (``exec resume <id> <continuation>``)."""

    def __init__(self, binary: CodexBinary, invocation: Invocation, args_for: Callable[[str | None], list[str]],
                 base_env: Mapping[str, str], cwd: str, codex_home_of: Callable[[str], Path]) -> None:
        super().__init__(binary, invocation, base_env, cwd, codex_home_of)
        self._args_for = args_for

    def spawn(self, account: str, resume_session_id: str | None, size: tuple[int, int]) -> Launch:
        """Start the run on ``account``; raises ChildSpawnError. A continuation reads no stdin: the
        first run had the user's, and Codex would append what is left of it to the continuation."""
        from .headless_child import HeadlessChild

        home = self._codex_home_of(account)
        argv = [str(self.binary.path), *self._args_for(resume_session_id)]
        env = child_env(self._base_env, self.binary, home)
        if resume_session_id is None:
            return Launch(HeadlessChild(argv, env, self._cwd, None), home, ready_at_spawn=True)
        stdin = os.open(os.devnull, os.O_RDONLY)
        try:
            return Launch(HeadlessChild(argv, env, self._cwd, stdin), home, ready_at_spawn=True)
        finally:
            os.close(stdin)
