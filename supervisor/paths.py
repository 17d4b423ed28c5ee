"""Where codex-fsm keeps its state, and where the user's own Codex home is.

``$CODEX_FSM_HOME`` (default: the platform's user state directory) holds everything codex-fsm
stores: the pool file and its lock, one private Codex home per account, and the transition logs.
Every function reads the environment when called, so tests can point both homes at temp dirs.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Mapping

POOL_FILE_NAME = "pool.json"


def fsm_home(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    configured = env.get("CODEX_FSM_HOME", "").strip()
    if configured:
        return Path(configured).expanduser()
    import platformdirs  # imported lazily: start-up time matters

    return Path(platformdirs.user_state_dir("codex-fsm"))


def user_codex_home(env: Mapping[str, str] | None = None) -> Path:
    """The user's real CODEX_HOME: the one Codex uses when codex-fsm is not involved."""
    env = os.environ if env is None else env
    configured = env.get("CODEX_HOME", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".codex"


def pool_file(env: Mapping[str, str] | None = None) -> Path:
    return fsm_home(env) / POOL_FILE_NAME


def homes_dir(env: Mapping[str, str] | None = None) -> Path:
    return fsm_home(env) / "homes"


def logs_dir(env: Mapping[str, str] | None = None) -> Path:
    return fsm_home(env) / "logs"


def run_dir(env: Mapping[str, str] | None = None) -> Path:
    """One status file per live supervised session (``codex-fsm status`` reads them)."""
    return fsm_home(env) / "run"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700: they may hold credentials.

    Only the folders created here get that mode (``mkdir``'s mode is cut by the umask, hence the
    ``chmod``); a folder that already exists keeps its own: it may be a shared folder such as /tmp
    that the user pointed ``$CODEX_FSM_HOME`` at, and other people's files depend on its mode.
    ``doctor`` warns when an existing one is writable by others.
    """
    missing = [p for p in (path, *path.parents) if not os.path.lexists(p)]
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue  # created meanwhile by another process: not ours to change
        os.chmod(directory, 0o700)
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a folder", str(path))
    return path


def writable_by_others(path: Path) -> bool:
    """Whether the folder ``path`` lets its group or everyone create and replace files in it."""
    return bool(os.stat(path).st_mode & (stat.S_IWGRP | stat.S_IWOTH))
