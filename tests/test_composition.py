"""The composition root is the only place commands get their adapters from: a pool setting from the
config file (the lease TTL, the lock wait) and the pool's home from the environment reach the objects
of every command (supervise, exec, accounts, status, doctor)."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor.adapters.codex_args import classify
from supervisor.cli import main
from supervisor.composition import Composition
from supervisor.pool.credentials import CredentialStore
from supervisor.pool.session_pool import SessionPool
from supervisor.pool.store import PoolStore

LEASE_TTL_S = 42.0
LOCK_TIMEOUT_S = 3.5


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    home = tmp_path / "fsm home"
    config = tmp_path / "config.toml"
    config.write_text(f"[pool]\nlease_ttl_s = {LEASE_TTL_S}\nlock_timeout_s = {LOCK_TIMEOUT_S}\nheartbeat_s = 5.0\n")
    codex = tmp_path / "bin" / "codex"
    codex.parent.mkdir()
    codex.write_bytes(b"\x7fELF not really: never run by these tests")
    codex.chmod(0o755)
    env = {"CODEX_FSM_HOME": str(home), "CODEX_HOME": str(tmp_path / "codex"), "CODEX_FSM_CONFIG": str(config),
           "CODEX_FSM_CODEX_BIN": str(codex), "PATH": str(codex.parent)}
    for name in ("CODEX_FSM_POOL_LEASE_TTL_S", "CODEX_FSM_POOL_LOCK_TIMEOUT_S", "CODEX_FSM_POOL_HEARTBEAT_S"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """Every pool store, session pool and credential store any code constructs, with what it was given."""
    seen: list[tuple[str, object]] = []

    def spy(cls, describe):
        original = cls.__init__

        def init(self, *args, **kwargs):
            original(self, *args, **kwargs)
            seen.append((cls.__name__, describe(self)))

        monkeypatch.setattr(cls, "__init__", init)

    spy(PoolStore, lambda store: (store.path, store.lock_timeout_s))
    spy(SessionPool, lambda pool: (pool._store.path, pool._store.lock_timeout_s, pool._ttl))
    spy(CredentialStore, lambda creds: (creds._store.path, creds._store.lock_timeout_s, creds._ttl))
    return seen


def _assert_configured(seen: list[tuple[str, object]], home: Path, *kinds: str) -> None:
    assert {kind for kind, _ in seen} >= set(kinds), seen
    pool_file = home / "pool.json"
    for kind, described in seen:
        if kind == "PoolStore":
            assert described == (pool_file, LOCK_TIMEOUT_S), described
        else:
            assert described == (pool_file, LOCK_TIMEOUT_S, LEASE_TTL_S), (kind, described)


def test_the_supervised_session_gets_the_configured_pool(world, built) -> None:
    root = Composition.load()
    supervised = root.supervised_session(classify(["-m", "gpt-test"]))
    try:
        assert supervised.ports.heartbeat_s == 5.0
        root.credential_store()  # what the quota probe is built with on its first use
    finally:
        supervised.ports.quota.close()
        supervised.log.close()
    _assert_configured(built, Path(world["CODEX_FSM_HOME"]), "PoolStore", "SessionPool", "CredentialStore")


def test_the_supervised_exec_gets_the_configured_pool(world, built) -> None:
    root = Composition.load()
    supervised = root.supervised_headless(classify(["exec", "--json", "do it"]), max_wait_s=30.0)
    try:
        assert supervised.ports.heartbeat_s == 5.0
        assert supervised.session.settings.max_pool_wait_s == 30.0  # --max-wait over the config
    finally:
        supervised.ports.quota.close()
        supervised.log.close()
    _assert_configured(built, Path(world["CODEX_FSM_HOME"]), "PoolStore", "SessionPool")


@pytest.mark.parametrize("argv", [["accounts", "list"], ["accounts", "order"], ["status", "--json"], ["doctor"]])
def test_management_commands_use_the_configured_pool(world, built, argv, capsys) -> None:
    main(argv)
    capsys.readouterr()
    _assert_configured(built, Path(world["CODEX_FSM_HOME"]), "PoolStore")


def test_a_broken_config_is_an_error_unless_the_command_reports_it_itself(world, monkeypatch) -> None:
    from supervisor.errors import ConfigError

    monkeypatch.setenv("CODEX_FSM_POOL_LOCK_TIMEOUT_S", "soon")
    with pytest.raises(ConfigError):
        Composition.load()
    assert Composition.load(despite_config_errors=True).pool_store.lock_timeout_s == 10.0


def test_the_lock_wait_from_the_environment_wins_over_the_file(world, monkeypatch) -> None:
    monkeypatch.setenv("CODEX_FSM_POOL_LOCK_TIMEOUT_S", "2.5")
    store = Composition.load().pool_store
    assert (store.path, store.lock_timeout_s) == (Path(world["CODEX_FSM_HOME"]) / "pool.json", 2.5)


def test_a_shared_pool_whose_logins_use_another_key_is_refused_before_anything_is_leased(
        world, monkeypatch, tmp_path, redis_client, redis_server_session) -> None:
    from supervisor.errors import PoolKeyError
    from supervisor.pool.pool_key import new_key_file

    monkeypatch.setenv("CODEX_FSM_POOL_URL", redis_server_session.url)
    monkeypatch.setenv("CODEX_FSM_POOL_KEY_FILE", str(new_key_file(tmp_path / "pool.key")))
    Composition.load().vault.check_key(writing=True)  # the first host to store a login records its key
    before = {key: redis_client.get(key) for key in redis_client.keys("*")}
    other = new_key_file(tmp_path / "other.key")
    monkeypatch.setenv("CODEX_FSM_POOL_KEY_FILE", str(other))
    root = Composition.load()
    assert root.pool_store.load().accounts == []  # the records are readable with any key ...
    with pytest.raises(PoolKeyError, match=f"the key in {other} is not the key of the shared pool"):
        root.supervised_headless(classify(["exec", "do it"]))  # ... a session is refused before it leases
    assert {key: redis_client.get(key) for key in redis_client.keys("*")} == before
