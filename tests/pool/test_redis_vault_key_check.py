"""The shared pool's key check is written with the first login, in the same EXEC: a failed write leaves none."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor.errors import PoolKeyError, PoolUnavailable
from supervisor.pool.auth import account_id_for, parse_auth
from supervisor.pool.homes import AccountHomes
from supervisor.pool.redis_store import RedisPoolStore, credentials_key
from supervisor.pool.redis_vault import KEY_CHECK_KEY, RedisVault

from .fakes import auth_bytes

fakeredis = pytest.importorskip("fakeredis", reason="fakeredis is a test dependency: pip install -e '.[test]'")
try:
    import lupa  # noqa: F401  - fakeredis runs the store's Lua scripts (the Lock release) with it
except ImportError:
    pytest.fail("these tests need lupa (fakeredis[lua]): fakeredis answers EVAL with 'unknown command' without it",
                pytrace=False)

URL = "redis://127.0.0.1:6379/0"


def _vault(client, tmp_path: Path, key: bytes | None = None) -> RedisVault:
    from cryptography.fernet import Fernet

    store = RedisPoolStore(client, URL, lock_timeout_s=1.0)
    homes = AccountHomes(tmp_path / "homes", tmp_path / "codex")
    return RedisVault(store, homes, Fernet(key or Fernet.generate_key()), "/keys/pool.key")


def _login():
    return parse_auth(auth_bytes(), "fixture")


def test_the_first_login_and_the_key_check_are_written_in_one_exec(tmp_path: Path) -> None:
    client = fakeredis.FakeRedis()
    vault = _vault(client, tmp_path)
    auth = _login()
    account = account_id_for(auth.identity)
    with vault.store.transaction():
        vault.save(account, auth)
        assert client.get(KEY_CHECK_KEY) is None  # staged, not written ahead of the login
    assert client.get(KEY_CHECK_KEY) is not None
    assert client.get(credentials_key(account)) is not None
    vault.check_key()  # this key's own check


def test_a_failed_first_write_leaves_no_key_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    client = fakeredis.FakeRedis()
    vault = _vault(client, tmp_path)
    auth = _login()

    def refuse(self, *args, **kwargs):
        raise redis.exceptions.ConnectionError("injected: the server went away at EXEC")

    monkeypatch.setattr(redis.client.Pipeline, "execute", refuse)
    with pytest.raises(PoolUnavailable, match="injected"):
        with vault.store.transaction():
            vault.save(account_id_for(auth.identity), auth)
    monkeypatch.undo()
    assert client.keys("*") == []


def test_another_key_is_still_refused_before_anything_is_staged(tmp_path: Path) -> None:
    client = fakeredis.FakeRedis()
    first = _vault(client, tmp_path)
    auth = _login()
    with first.store.transaction():
        first.save(account_id_for(auth.identity), auth)
    other = _vault(client, tmp_path)
    with pytest.raises(PoolKeyError, match="not the key of"):
        with other.store.transaction():
            other.save(account_id_for(auth.identity), auth)
