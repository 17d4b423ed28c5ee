"""The pool store and account homes at their places ($CODEX_FSM_HOME, $CODEX_HOME).

Commands get them from ``supervisor.composition``, which adds the configured lock wait
(``[pool] lock_timeout_s`` / ``CODEX_FSM_POOL_LOCK_TIMEOUT_S``)."""

from __future__ import annotations

from typing import Mapping

from .. import paths
from .homes import AccountHomes
from .lock import DEFAULT_LOCK_TIMEOUT_S
from .store import PoolStore


def pool_store(env: Mapping[str, str] | None = None, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> PoolStore:
    return PoolStore(paths.pool_file(env), lock_timeout_s)


def account_homes(env: Mapping[str, str] | None = None) -> AccountHomes:
    return AccountHomes(paths.homes_dir(env), paths.user_codex_home(env))
