"""`codex-fsm pool migrate`: a file pool into a real redis-server and back through the dispatcher, a dry
run that changes nothing, and one-line errors for what cannot be moved."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from supervisor.cli import main
from supervisor.pool.locations import account_homes, pool_store
from supervisor.pool.pool_key import new_key_file
from supervisor.pool.redis_store import POOL_KEY, credentials_key
from tests.pool.fakes import write_auth


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"CODEX_FSM_HOME": str(tmp_path / "fsm"), "CODEX_HOME": str(tmp_path / "codex"),
           "CODEX_FSM_CONFIG": str(tmp_path / "config.toml"),
           "CODEX_FSM_POOL_KEY_FILE": str(new_key_file(tmp_path / "pool.key"))}
    (tmp_path / "config.toml").write_text("")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CODEX_FSM_POOL_URL", raising=False)
    for n in (1, 2):
        login = write_auth(tmp_path / f"login{n}" / "auth.json", account=f"acct-fake-000{n}",
                           user=f"user-fake-000{n}", email=f"user{n}@example.invalid")
        assert main(["accounts", "import", "--move", str(login)]) == 0
    return env


def _raw(client) -> dict[bytes, bytes]:
    return {key: client.dump(key) for key in sorted(client.keys("*"))}


def test_a_file_pool_moves_into_redis_and_back(machine, redis_server, monkeypatch, capsys) -> None:
    env = {**os.environ, **machine}
    accounts = [record.id for record in pool_store(env).load().accounts]
    homes = account_homes(env)
    logins = {account: homes.auth_path(account).read_bytes() for account in accounts}
    client = redis_server.client()
    capsys.readouterr()

    assert main(["pool", "migrate", "--to", redis_server.url, "--dry-run"]) == 0
    assert "Dry run: nothing was changed." in capsys.readouterr().out
    assert _raw(client) == {} and all(homes.exists(account) for account in accounts)

    assert main(["pool", "migrate", "--to", redis_server.url]) == 0
    out = capsys.readouterr().out
    assert "Moved 2 accounts" in out and "Next: Set `url = " in out
    assert not any(homes.exists(account) for account in accounts)  # one live copy: Redis's
    assert client.get(POOL_KEY) is not None
    for account in accounts:
        stored = client.get(credentials_key(account))
        assert stored is not None and logins[account].strip()[:40] not in stored

    monkeypatch.setenv("CODEX_FSM_POOL_URL", redis_server.url)
    assert main(["accounts", "list"]) == 0
    listed = capsys.readouterr().out
    assert all(account in listed for account in accounts)

    assert main(["pool", "migrate", "--to", "file"]) == 0
    assert "Moved 2 accounts" in capsys.readouterr().out
    assert all(client.get(credentials_key(account)) is None for account in accounts)
    monkeypatch.delenv("CODEX_FSM_POOL_URL")
    assert sorted(record.id for record in pool_store(env).load().accounts) == sorted(accounts)
    for account in accounts:
        assert homes.auth_path(account).stat().st_mode & 0o777 == 0o600
        assert homes.exists(account)


def test_a_url_that_is_not_redis_is_refused_in_one_line(machine, capsys) -> None:
    capsys.readouterr()
    assert main(["pool", "migrate", "--to", "http://user:hunter2@example.invalid/"]) != 0
    out, err = capsys.readouterr()
    assert err.startswith("codex-fsm: --to: Not a Redis URL") and err.count("\n") == 1
    assert "hunter2" not in err and out == ""


def test_migrating_into_a_pool_that_is_not_empty_changes_nothing(machine, redis_server, capsys) -> None:
    client = redis_server.client()
    client.set(POOL_KEY, b'{"version": 2, "accounts": [{"id": "a-0123456789", "label": "x", "added_at": 1}]}')
    before = _raw(client)
    capsys.readouterr()
    assert main(["pool", "migrate", "--to", redis_server.url]) != 0
    assert "is not empty" in capsys.readouterr().err
    assert _raw(client) == before


def test_back_to_file_needs_a_configured_shared_pool(machine, capsys) -> None:
    capsys.readouterr()
    assert main(["pool", "migrate", "--to", "file"]) != 0
    assert "names none" in capsys.readouterr().err
