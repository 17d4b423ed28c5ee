"""Where codex-fsm keeps its state, and where the user's own Codex home is.

``$CODEX_FSM_HOME`` (default: the platform's user state directory) holds everything codex-fsm
stores: the pool file and its lock, one private Codex home per account, and the transition logs.
Every function reads the environment when called, so tests can point both homes at temp dirs.
"""

from __future__ import annotations

import os
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


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700 (mkdir's ``parents`` would use the umask), and make
    ``path`` itself 0700: it may hold credentials."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    os.chmod(path, 0o700)
    return path
