"""`codex-fsm doctor` with a pool shared across machines: the server, its persistence, the key, each login,
the leases and the account homes (which hold no login unless leased here), against fakeredis."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import fakeredis
import pytest

from supervisor.cli import main
from supervisor.cli_commands import doctor
from supervisor.cli_commands.doctor_shared_pool import SharedPool
from supervisor.pool import admin
from supervisor.pool.auth import account_id_for, parse_auth
from supervisor.pool.homes import AccountHomes
from supervisor.pool.model import Lease
from supervisor.pool.pool_key import load_key, new_key_file
from supervisor.pool.redis_store import RedisPoolStore, credentials_key
from supervisor.pool.redis_vault import RedisVault

from tests.pool.fakes import auth_bytes

PASSWORD = "pw-never-shown-0042"
URL = f"redis://:{PASSWORD}@127.0.0.1:6379/0"
NOW = 1_900_000_000.0
SHARED_CHECKS = [doctor.check_pool_file, doctor.check_shared_pool, doctor.check_pool_lock, doctor.check_leases,
                 doctor.check_account_homes, doctor.check_shared_logins, doctor.check_orphan_homes]


@dataclass
class World:
    tmp: Path
    client: fakeredis.FakeRedis
    store: RedisPoolStore
    homes: AccountHomes
    key_file: Path
    vault: RedisVault
    accounts: list[str]

    def context(self, vault=None) -> doctor.DoctorContext:
        shared = SharedPool(lambda: self.store, str(self.key_file), vault or (lambda: self.vault))
        return doctor.DoctorContext(store=None, homes=self.homes, now=NOW, alive=lambda lease: True,
                                    env={}, shared=shared)


def _login(n: int) -> bytes:
    return auth_bytes(account=f"acct-fake-{n:04d}", user=f"user-fake-{n:04d}", email=f"user{n}@example.invalid",
                      refresh=f"rt_fake_{n}")


@pytest.fixture
def world(tmp_path: Path) -> World:
    real = tmp_path / "codex"
    real.mkdir()
    homes = AccountHomes(tmp_path / "fsm" / "homes", real)
    client = fakeredis.FakeRedis()
    store = RedisPoolStore(client, URL, 2.0)
    key_file = new_key_file(tmp_path / "pool.key")
    vault = RedisVault(store, homes, load_key(key_file), str(key_file))
    accounts = []
    for n in (1, 2):
        source = tmp_path / f"login-{n}.json"
        source.write_bytes(_login(n))
        accounts.append(admin.import_account(store, homes, source, NOW, lambda lease: True, vault=vault).account)
    return World(tmp_path, client, store, homes, key_file, vault, accounts)


def _run(ctx: doctor.DoctorContext) -> list[doctor.Finding]:
    return doctor.run_checks(ctx, SHARED_CHECKS)


def _by(findings: list[doctor.Finding], severity: str) -> list[doctor.Finding]:
    return [f for f in findings if f.severity == severity]


def _text(findings: list[doctor.Finding]) -> str:
    return "\n".join(f"{f.severity} {f.subject}: {f.message} / {f.fix}" for f in findings)


def _assert_nothing_secret(findings: list[doctor.Finding]) -> None:
    text = _text(findings)
    assert PASSWORD not in text and "rt_fake" not in text and "example.invalid" not in text
    assert "eyJ" not in text  # no JWT either


def test_a_healthy_shared_pool_whose_homes_hold_no_logins(world) -> None:
    findings = _run(world.context())
    assert _by(findings, "error") == [] and _by(findings, "warning") == []
    text = _text(findings)
    assert "ok shared pool: redis://***@127.0.0.1:6379/0 answers" in text
    assert "2 account(s)" in text
    # fakeredis, like a managed Redis, refuses CONFIG: that is said, not counted as a fault.
    assert "ok shared pool persistence: could not be checked: the server refused CONFIG GET" in text
    assert f"ok pool key: {world.key_file} holds the key of" in text
    for account in world.accounts:
        assert f"ok account {account}: its login in the shared pool decrypts and is this account's" in text
        assert f"ok account {account}: home {world.homes.home(account)}; the login is in the shared pool" in text
    _assert_nothing_secret(findings)


def test_an_unreachable_server_is_one_error_naming_it_without_its_password(world) -> None:
    server = fakeredis.FakeServer()
    server.connected = False
    world.store.client = fakeredis.FakeRedis(server=server)
    findings = _run(world.context())
    assert [(f.severity, f.subject) for f in findings] == [("error", "shared pool")]
    assert "redis://***@127.0.0.1:6379/0 is unavailable: could not answer a PING" in findings[0].message
    assert "redis-cli" in findings[0].fix and "CODEX_FSM_POOL_PASSWORD" in findings[0].fix
    _assert_nothing_secret(findings)


def test_a_missing_key_file_and_a_key_of_another_pool_are_errors(world) -> None:
    missing = world.tmp / "absent.key"
    findings = _run(world.context(vault=lambda: RedisVault(world.store, world.homes, load_key(missing),
                                                           str(missing))))
    [error] = _by(findings, "error")
    assert error.subject == "pool key" and "absent.key does not exist" in error.message and "key_file" in error.fix
    other = new_key_file(world.tmp / "other.key")
    findings = _run(world.context(vault=lambda: RedisVault(world.store, world.homes, load_key(other), str(other))))
    [error] = _by(findings, "error")
    assert error.subject == "pool key" and "other.key is not the key of" in error.message
    assert not any("decrypts" in f.message for f in findings)  # no login is tried with a wrong key
    _assert_nothing_secret(findings)


def test_each_login_that_is_missing_garbled_or_another_accounts_is_an_error_of_its_account(world) -> None:
    fernet = load_key(world.key_file)
    third = account_id_for(parse_auth(_login(3), "fake").identity)
    fourth = account_id_for(parse_auth(_login(4), "fake").identity)

    def more(pool) -> None:
        from supervisor.pool.model import AccountRecord

        pool.accounts += [AccountRecord(id=third, label="acct3", added_at=1.0),
                          AccountRecord(id=fourth, label="acct4", added_at=1.0)]
    world.store.mutate(more)
    world.client.delete(credentials_key(world.accounts[0]))
    world.client.set(credentials_key(world.accounts[1]), b"not a fernet token")
    world.client.set(credentials_key(third), fernet.encrypt(_login(5)))  # the login of another account
    world.client.set(credentials_key(fourth), fernet.encrypt(_login(4)))
    findings = _run(world.context())
    errors = {f.subject: f for f in _by(findings, "error")}
    assert set(errors) == {f"account {a}" for a in (*world.accounts, third)}
    assert "has no login in the shared pool" in errors[f"account {world.accounts[0]}"].message
    assert "does not decrypt" in errors[f"account {world.accounts[1]}"].message
    assert "holds the login of another account" in errors[f"account {third}"].message
    assert all("codex login" in f.fix for f in errors.values())
    assert any(f.subject == f"account {fourth}" and "decrypts" in f.message for f in _by(findings, "ok"))
    _assert_nothing_secret(findings)


def _config(replies: dict[str, dict]):
    def config_get(name: str) -> dict:
        return replies.get(name, {})
    return config_get


@pytest.mark.parametrize("replies, severity, said", [
    ({"appendonly": {b"appendonly": b"no"}, "appendfsync": {b"appendfsync": b"everysec"}}, "warning",
     "keeps no append-only file (appendonly no): a Redis restart may lose rotated tokens"),
    ({"appendonly": {"appendonly": "yes"}, "appendfsync": {"appendfsync": "no"}}, "warning",
     "(appendfsync no): a Redis restart may lose rotated tokens"),
    ({"appendonly": {b"appendonly": b"yes"}, "appendfsync": {b"appendfsync": b"everysec"}}, "ok",
     "appendonly yes, appendfsync everysec"),
    ({"appendonly": {b"appendonly": b"yes"}, "appendfsync": {b"appendfsync": b"always"}}, "ok",
     "appendonly yes, appendfsync always"),
    ({}, "ok", "could not be checked: the server did not name its appendonly and appendfsync settings"),
])
def test_persistence_that_may_lose_rotated_tokens_is_a_warning(world, monkeypatch, replies, severity, said) -> None:
    monkeypatch.setattr(world.client, "config_get", _config(replies))
    [finding] = [f for f in _run(world.context()) if f.subject == "shared pool persistence"]
    assert (finding.severity, said in finding.message) == (severity, True), finding
    if severity == "warning":
        assert "CONFIG SET appendonly yes" in finding.fix and "appendfsync everysec" in finding.fix


def test_stale_leases_are_reported_as_in_a_pool_file(world) -> None:
    first, second = world.accounts

    def lease(pool) -> None:
        pool.get(first).lease = Lease(4242, "7", "box-b", NOW - 5, 3, "session")
        pool.get(second).lease = Lease(4343, "8", "\x1b]0;box-c\x07", NOW + 20, 4, "child")
    world.store.mutate(lease)
    findings = _run(world.context())
    assert any(f.severity == "warning" and f.subject == f"account {first}" and "stale lease: it expired 5 s ago"
               in f.message for f in findings)
    assert any(f.severity == "ok" and f.message == "leased to pid 4343 on \x1b]0;box-c\x07" for f in findings)


def test_a_working_copy_in_a_home_is_still_checked(world) -> None:
    first, second = world.accounts
    world.homes.write_auth(first, _login(1))  # leased here: its home holds the working copy
    world.homes.write_auth(second, b'{"tokens": {}}')
    findings = _run(world.context())
    assert any(f.subject == f"account {first}" and f.message.endswith("it holds this host's working copy of the "
                                                                       "login") for f in findings)
    [error] = _by(findings, "error")
    assert error.subject == f"account {second}" and "tokens.id_token is missing" in error.message


# -- through the command: the composition builds the shared pool without its key --------------------


@pytest.fixture
def shared_env(world, monkeypatch) -> World:
    monkeypatch.setenv("CODEX_FSM_HOME", str(world.tmp / "fsm"))
    monkeypatch.setenv("CODEX_HOME", str(world.homes.real_home))
    monkeypatch.setenv("CODEX_FSM_POOL_URL", URL)
    monkeypatch.setenv("CODEX_FSM_POOL_KEY_FILE", str(world.key_file))
    monkeypatch.setenv("CODEX_FSM_CODEX_BIN", str(world.tmp / "no-codex-here"))
    (world.tmp / "fsm.toml").write_text("")
    monkeypatch.setenv("CODEX_FSM_CONFIG", str(world.tmp / "fsm.toml"))  # never the user's own
    for name in ("CODEX_FSM_POOL_PASSWORD", "CODEX_FSM_POOL_HOST"):
        monkeypatch.delenv(name, raising=False)
    return world


def test_doctor_checks_the_configured_shared_pool(shared_env, monkeypatch, capsys) -> None:
    from supervisor.pool import redis_client

    monkeypatch.setattr(redis_client, "connect", lambda url, env: shared_env.client)
    main(["doctor"])
    out = capsys.readouterr().out
    assert "OK      shared pool: redis://***@127.0.0.1:6379/0 answers" in out
    for account in shared_env.accounts:
        assert f"OK      account {account}: its login in the shared pool decrypts" in out
        assert f"ERROR   account {account}" not in out
    assert "pool file" not in out and "pool lock" not in out  # the file backend's checks stay out of it
    assert PASSWORD not in out


def test_doctor_with_an_unreachable_server_and_no_key_file_says_so_without_a_traceback(shared_env, monkeypatch,
                                                                                       capsys) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CODEX_FSM_POOL_URL", f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    monkeypatch.setenv("CODEX_FSM_POOL_KEY_FILE", str(shared_env.tmp / "absent.key"))
    assert main(["doctor"]) == 1
    captured = capsys.readouterr()
    assert f"ERROR   shared pool: the shared pool at redis://***@127.0.0.1:{port}/0 is unavailable" in captured.out
    assert "ERROR   pool key: the pool key file" in captured.out and "absent.key does not exist" in captured.out
    assert "could not be checked" not in captured.out  # no check trips over the missing server or key
    assert PASSWORD not in captured.out + captured.err and "Traceback" not in captured.err


def test_doctor_with_an_unreachable_server_and_a_usable_key_file_names_only_the_server(shared_env, monkeypatch,
                                                                                      capsys) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CODEX_FSM_POOL_URL", f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    assert main(["doctor"]) == 1
    captured = capsys.readouterr()
    errors = [line for line in captured.out.splitlines() if line.startswith("ERROR") and "codex binary" not in line]
    [error] = errors  # the key is checked against the pool's only when the server answers
    assert error.startswith(f"ERROR   shared pool: the shared pool at redis://***@127.0.0.1:{port}/0 is unavailable")
    assert PASSWORD not in captured.out + captured.err and "Traceback" not in captured.err


def test_a_url_redis_py_cannot_open_is_one_error_and_the_other_checks_still_run(shared_env, monkeypatch,
                                                                             capsys) -> None:
    monkeypatch.setenv("CODEX_FSM_POOL_URL", f"redis://:{PASSWORD}@127.0.0.1:6379/0?sockettimeout=1")
    assert main(["doctor"]) == 1
    captured = capsys.readouterr()
    [error] = [line for line in captured.out.splitlines() if line.startswith("ERROR   shared pool")]
    assert "redis://***@127.0.0.1:6379/0" in error and "cannot be opened" in error
    assert "could not be checked" not in captured.out and "OK      logs" in captured.out
    assert PASSWORD not in captured.out + captured.err and "Traceback" not in captured.err


def test_without_a_key_file_setting_the_vault_refuses_with_how_to_set_it(shared_env, monkeypatch, capsys) -> None:
    from supervisor.pool import redis_client

    monkeypatch.setattr(redis_client, "connect", lambda url, env: shared_env.client)
    monkeypatch.setenv("CODEX_FSM_POOL_KEY_FILE", "")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "ERROR   pool key: the shared pool at [pool] url needs its key: set [pool] key_file" in out

