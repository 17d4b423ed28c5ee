"""The pool store and account homes at their configured places ($CODEX_FSM_HOME, $CODEX_HOME), with
the configured lock wait (``[pool] lock_timeout_s`` / ``CODEX_FSM_POOL_LOCK_TIMEOUT_S``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from .. import paths
from .homes import AccountHomes
from .lock import DEFAULT_LOCK_TIMEOUT_S
from .store import PoolStore

if TYPE_CHECKING:
    from ..config import Config


def pool_store(env: Mapping[str, str] | None = None, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> PoolStore:
    return PoolStore(paths.pool_file(env), lock_timeout_s)


def configured_pool_store(config: "Config | None" = None, env: Mapping[str, str] | None = None,
                          despite_config_errors: bool = False) -> PoolStore:
    """The pool store every command uses: the configured file and lock wait (the config is loaded
    from ``env`` when not given). ``despite_config_errors``: a command that reports a broken config
    itself (doctor) still gets a store, with the default wait."""
    if config is None:
        from ..config import load_config
        from ..errors import ConfigError

        try:
            config = load_config(env)
        except ConfigError:
            if not despite_config_errors:
                raise
            return pool_store(env)
    return pool_store(env, config.pool.lock_timeout_s)


def account_homes(env: Mapping[str, str] | None = None) -> AccountHomes:
    return AccountHomes(paths.homes_dir(env), paths.user_codex_home(env))
