"""One supervised launch of Codex: the user's command (or ``resume <id>``) on an account's home.

Holds what stays the same across launches of one session (binary, the user's arguments, the
environment, the working directory) so the loop only says "spawn on this account".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from .codex_args import Invocation, launch_args
from .codex_binary import CodexBinary, child_env
from .pty_child import PtyChild


@dataclass(frozen=True, slots=True)
class Launch:
    child: PtyChild
    codex_home: Path


class CodexLauncher:
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

    def spawn(self, account: str, resume_session_id: str | None, size: tuple[int, int]) -> Launch:
        """Start Codex in a pty on ``account``; raises ChildSpawnError."""
        home = self._codex_home_of(account)
        argv = [str(self.binary.path), *launch_args(self.invocation, resume_session_id)]
        child = PtyChild(argv, child_env(self._base_env, self.binary, home), self._cwd, size)
        return Launch(child, home)
