"""The one configured pool store every command uses."""

from __future__ import annotations

import pytest

from supervisor.errors import ConfigError
from supervisor.pool.locations import configured_pool_store


def test_the_lock_wait_comes_from_the_environment(env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_FSM_POOL_LOCK_TIMEOUT_S", "2.5")
    store = configured_pool_store()
    assert store.lock_timeout_s == 2.5
    assert store.path == env["fsm"] / "pool.json"


def test_the_lock_wait_comes_from_the_config_file(env, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[pool]\nlock_timeout_s = 3.5\n")
    monkeypatch.setenv("CODEX_FSM_CONFIG", str(config))
    assert configured_pool_store().lock_timeout_s == 3.5


def test_a_broken_config_is_an_error_unless_the_caller_reports_it_itself(env, monkeypatch) -> None:
    monkeypatch.setenv("CODEX_FSM_POOL_LOCK_TIMEOUT_S", "soon")
    with pytest.raises(ConfigError):
        configured_pool_store()
    assert configured_pool_store(despite_config_errors=True).lock_timeout_s == 10.0
