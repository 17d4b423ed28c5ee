"""Moving a pool between the pool file and the shared pool (fakeredis), both ways: one live copy of each login
afterwards, both sides as they were after any refusal or failure, nothing written by a dry run."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from supervisor.core.quota import LimitFamily, QuotaSnapshot, QuotaWindow
from supervisor.errors import CredentialError, PoolError, PoolKeyError, PoolUnavailable
from supervisor.pool.auth import account_id_for, parse_auth
from supervisor.pool.homes import AccountHomes
from supervisor.pool.migrate import migrate_to_file, migrate_to_redis
from supervisor.pool.migrate_local import MARKER
from supervisor.pool.migrate_report import MigrationIncomplete
from supervisor.pool.model import AccountRecord, Cooldown, Lease, Pool, dump_pool
from supervisor.pool.redis_store import (BACKUP_KEY, LOCK_KEY, POOL_KEY, PoolSuperseded, RedisPoolStore,
                                         credentials_key)
from supervisor.pool.redis_vault import KEY_CHECK_KEY, RedisVault
from supervisor.pool.store import PoolStore

from .conftest import Processes, add_account
from .fakes import auth_bytes, write_auth

fakeredis = pytest.importorskip("fakeredis", reason="fakeredis is a test dependency: pip install -e '.[test]'")
try:
    import lupa  # noqa: F401  - fakeredis runs the store's Lua scripts (the Lock release) with it
except ImportError:
    pytest.fail("these tests need lupa (fakeredis[lua]): fakeredis answers EVAL with 'unknown command' without it",
                pytrace=False)

NOW = 1_800_000_000.0
PASSWORD = "hunter2-pool-password"
URL = f"redis://:{PASSWORD}@127.0.0.1:6379/0"
SECRETS = (PASSWORD, "rt_fake_", "@example.invalid", "eyJ")  # a password, refresh tokens, emails, JWTs


@pytest.fixture
def server():
    return fakeredis.FakeServer()


@pytest.fixture
def client(server):
    return fakeredis.FakeRedis(server=server)


@pytest.fixture
def fernet():
    from cryptography.fernet import Fernet

    return Fernet(Fernet.generate_key())


@pytest.fixture
def redis_store(client) -> RedisPoolStore:
    return RedisPoolStore(client, URL, lock_timeout_s=1.0)


@pytest.fixture
def redis_vault(redis_store: RedisPoolStore, homes: AccountHomes, fernet) -> RedisVault:
    return RedisVault(redis_store, homes, fernet, "/keys/pool.key")


def _file_pool(store: PoolStore, homes: AccountHomes) -> list[str]:
    """Three accounts with everything a record can carry; one holds a lease whose owner is gone."""
    spark = LimitFamily("codex_bengalfox", "GPT-5.3-Codex-Spark", (QuotaWindow(70.0, 300, NOW + 600),))
    quota = QuotaSnapshot((QuotaWindow(20.0, 300, NOW + 600), QuotaWindow(35.0, 10080, NOW + 400000)), NOW - 30,
                          families=(spark,))
    first = add_account(store, homes, 1, order=1, last_used=NOW - 50, plan="plus", quota=quota)
    dead_lease = Lease(owner_pid=4242, owner_start="1", host="testhost", expires_at=NOW + 20, generation=7,
                       purpose="session")
    second = add_account(store, homes, 2, enabled=False, generation=7, workspace="w-0123456789", lease=dead_lease,
                         cooldown=Cooldown(until=NOW + 3600, reason="usage_limit", set_at=NOW - 10,
                                           family="codex_bengalfox"))
    third = add_account(store, homes, 3, order=0)
    for account in (first, second, third):
        homes.sync(account)  # the overlay links, which a migration leaves in place
    return [first, second, third]


def _without_leases(document: dict) -> dict:
    return {**document, "accounts": [{**entry, "lease": None} for entry in document["accounts"]]}


def _file_tree(root: Path) -> dict[str, tuple]:
    """Every file and link under ``root`` with its bytes and mode; the lock and validated-once sidecars
    (a lock file, a cache of a hash) are not state."""
    tree: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        if path.name.endswith((".lock", ".validated")):
            continue
        relative = str(path.relative_to(root))
        if path.is_symlink():
            tree[relative] = ("link", os.readlink(path))
        elif path.is_file():
            tree[relative] = ("file", path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return tree


def _redis_state(client) -> dict[bytes, bytes]:
    return {key: client.get(key) for key in sorted(client.keys("*")) if key != LOCK_KEY.encode()}


def _logins_in_redis(client, fernet, accounts: list[str]) -> dict[str, dict]:
    return {account: json.loads(fernet.decrypt(client.get(credentials_key(account)))) for account in accounts}


def _logins_in_homes(homes: AccountHomes, accounts: list[str]) -> dict[str, dict]:
    return {account: json.loads(homes.auth_path(account).read_bytes()) for account in accounts}


def _clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# -- the round trip -------------------------------------------------------------------------------

def test_a_round_trip_keeps_every_record_and_login_and_leaves_one_copy_of_each(
        store, homes, procs: Processes, client, fernet, redis_store, redis_vault, env) -> None:
    accounts = _file_pool(store, homes)
    records = _without_leases(dump_pool(store.load()))
    logins = _logins_in_homes(homes, accounts)
    pool_file_bytes = store.path.read_bytes()

    to_redis = migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check)

    assert to_redis.moved == tuple(accounts)
    assert [a.stale_lease_dropped for a in to_redis.accounts] == [False, True, False]
    assert dump_pool(redis_store.load()) == records  # labels, quota, cooldowns, order, generations; no lease
    assert _logins_in_redis(client, fernet, accounts) == logins
    assert client.get(KEY_CHECK_KEY) is not None
    # One live copy: no auth.json and no marker in any home, the overlay links still there.
    for account in accounts:
        home = homes.home(account)
        assert not os.path.lexists(home / "auth.json") and not os.path.lexists(home / MARKER)
        assert (home / "sessions").is_symlink()
    assert homes.accounts_on_disk() == []
    assert not store.path.exists()
    (backup,) = store.path.parent.glob("pool.json.migrated-*")
    assert backup.name == "pool.json.migrated-20270115T080000Z"
    assert backup.read_bytes() == pool_file_bytes
    # A lease handed out by the shared pool outgrows the generation the record brought along.
    assert redis_store.next_generation(redis_store.load().get(accounts[1])) > 7

    to_file = migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check)

    assert to_file.moved == tuple(accounts)
    assert dump_pool(store.load()) == records
    assert _logins_in_homes(homes, accounts) == logins
    for account in accounts:
        assert stat.S_IMODE(homes.auth_path(account).stat().st_mode) == 0o600
    assert client.keys(credentials_key("*")) == []
    assert redis_store.load().accounts == []
    assert json.loads(client.get(BACKUP_KEY)) == records  # the old document, kept
    for line in to_redis.lines() + to_file.lines():
        _clean(line)
    assert "***@127.0.0.1" in to_redis.lines()[0]


def test_the_report_lists_the_accounts_and_what_was_kept(store, homes, procs, redis_store, redis_vault) -> None:
    accounts = _file_pool(store, homes)
    lines = migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check).lines()
    assert lines[0].startswith(f"Moved 3 accounts from the pool file {store.path} to the shared pool codex-fsm:pool")
    assert lines[1:4] == [f"  {accounts[0]}  acct1", f"  {accounts[1]}  acct2 (its stale lease is not carried over)",
                          f"  {accounts[2]}  acct3"]
    assert lines[4].startswith("Kept: the old pool file (records only, no login), as ")


def test_a_label_with_escapes_is_printed_escaped(store, homes, procs, redis_store, redis_vault) -> None:
    add_account(store, homes, 1)
    store.mutate(lambda pool: setattr(pool.accounts[0], "label", "evil\x1b]52;c;x\x07"))
    lines = migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check).lines()
    assert "\x1b" not in "".join(lines) and "evil\\x1b]52;c;x\\x07" in lines[1]


# -- dry runs -------------------------------------------------------------------------------------

def test_a_dry_run_to_redis_checks_everything_and_writes_nothing(store, homes, procs, client, redis_store,
                                                                  redis_vault, env, tmp_path) -> None:
    accounts = _file_pool(store, homes)
    files, keys = _file_tree(tmp_path), _redis_state(client)
    report = migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check, dry_run=True)
    assert report.dry_run and report.moved == tuple(accounts)
    assert report.lines()[0].startswith("Would move 3 accounts")
    assert report.lines()[-1] == "Dry run: nothing was changed."
    assert _file_tree(tmp_path) == files
    assert _redis_state(client) == keys == {}


def test_a_dry_run_to_file_checks_everything_and_writes_nothing(store, homes, procs, client, redis_store,
                                                                 redis_vault, tmp_path) -> None:
    accounts = _file_pool(store, homes)
    migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check)
    files, keys = _file_tree(tmp_path), _redis_state(client)
    report = migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check, dry_run=True)
    assert report.dry_run and report.moved == tuple(accounts)
    assert _file_tree(tmp_path) == files
    assert _redis_state(client) == keys


def test_a_dry_run_still_refuses(store, homes, procs, redis_store, redis_vault) -> None:
    account = add_account(store, homes, 1)
    homes.auth_path(account).write_text("{not json")
    with pytest.raises(CredentialError, match=f"account {account} cannot be moved"):
        migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check, dry_run=True)


# -- refusals to the shared pool: nothing changed on either side -----------------------------------

def _unchanged_after(call, tmp_path: Path, client, raises, match: str) -> pytest.ExceptionInfo:
    files, keys = _file_tree(tmp_path), _redis_state(client)
    with pytest.raises(raises, match=match) as caught:
        call()
    assert _file_tree(tmp_path) == files
    assert _redis_state(client) == keys
    _clean(str(caught.value))
    return caught


def test_to_redis_refuses_a_shared_pool_that_has_accounts(store, homes, procs, client, fernet, redis_store,
                                                          redis_vault, tmp_path, env) -> None:
    _file_pool(store, homes)
    other = PoolStore(env["fsm"] / "other" / "pool.json")
    other_homes = AccountHomes(env["fsm"] / "other-homes", env["real"])
    add_account(other, other_homes, 9)
    migrate_to_redis(other, other_homes, redis_store, RedisVault(redis_store, other_homes, fernet, "k"),
                     NOW, procs.check)
    _unchanged_after(lambda: migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check),
                     tmp_path, client, PoolError, "is not empty: it holds 1 account and 1 login. A migration never")


def test_to_redis_refuses_a_shared_pool_that_holds_logins_without_accounts(store, homes, procs, client, redis_store,
                                                                           redis_vault, tmp_path) -> None:
    _file_pool(store, homes)
    client.set(credentials_key("a-0000000000"), b"a login from an earlier pool")
    _unchanged_after(lambda: migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check),
                     tmp_path, client, PoolError, "holds 0 accounts and 1 login")


def test_to_redis_refuses_while_a_session_holds_an_account(store, homes, procs, client, redis_store, redis_vault,
                                                           tmp_path) -> None:
    accounts = _file_pool(store, homes)
    owner = procs.spawn(777)

    def lease(pool: Pool) -> None:
        pool.get(accounts[2]).lease = Lease(owner_pid=owner.pid, owner_start=owner.start, host=owner.host,
                                            expires_at=NOW + 30, generation=1, purpose="child")
    store.mutate(lease)
    _unchanged_after(lambda: migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check),
                     tmp_path, client, PoolError, f"account {accounts[2]} by process 777 on testhost")


def test_an_expired_lease_of_a_live_process_is_not_a_session(store, homes, procs, redis_store, redis_vault) -> None:
    account = add_account(store, homes, 1)
    owner = procs.spawn(777)
    store.mutate(lambda pool: setattr(pool.get(account), "lease", Lease(
        owner_pid=owner.pid, owner_start=owner.start, host=owner.host, expires_at=NOW - 1, generation=1,
        purpose="session")))
    report = migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check)
    assert report.accounts[0].stale_lease_dropped and redis_store.load().get(account).lease is None


@pytest.mark.parametrize("damage, match", [
    (lambda path: path.write_text("{not json"), "is not valid JSON"),
    (lambda path: path.unlink(), "no auth.json at"),
    (lambda path: path.write_bytes(auth_bytes(account="acct-fake-0999", user="user-fake-0999")),
     "holds the login of another account"),
])
def test_to_redis_refuses_a_login_that_does_not_read_and_names_the_account(
        store, homes, procs, client, redis_store, redis_vault, tmp_path, damage, match) -> None:
    accounts = _file_pool(store, homes)
    damage(homes.auth_path(accounts[1]))
    _unchanged_after(lambda: migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check),
                     tmp_path, client, CredentialError, f"account {accounts[1]} cannot be moved: .*{match}")


def test_to_redis_refuses_a_login_that_would_keep_a_copy_behind(store, homes, procs, client, redis_store,
                                                                redis_vault, tmp_path) -> None:
    accounts = _file_pool(store, homes)
    os.link(homes.auth_path(accounts[0]), tmp_path / "second-name.json")
    _unchanged_after(lambda: migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check),
                     tmp_path, client, CredentialError, "has 2 hard links")
    (tmp_path / "second-name.json").unlink()
    path = homes.auth_path(accounts[2])
    target = write_auth(tmp_path / "elsewhere" / "auth.json", account="acct-fake-0003", user="user-fake-0003",
                        email="user3@example.invalid", refresh="rt_fake_3")
    path.unlink()
    path.symlink_to(target)
    _unchanged_after(lambda: migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check),
                     tmp_path, client, CredentialError, "is a symbolic link")


def test_to_redis_refuses_a_shared_pool_keyed_with_another_key(store, homes, procs, client, redis_store,
                                                               tmp_path) -> None:
    from cryptography.fernet import Fernet

    _file_pool(store, homes)
    client.set(KEY_CHECK_KEY, Fernet(Fernet.generate_key()).encrypt(b"codex-fsm pool key check v1"))
    vault = RedisVault(redis_store, homes, Fernet(Fernet.generate_key()), "/keys/pool.key")
    _unchanged_after(lambda: migrate_to_redis(store, homes, redis_store, vault, NOW, procs.check),
                     tmp_path, client, PoolKeyError, "is not the key of the shared pool")


def test_to_redis_refuses_an_empty_pool_file(store, homes, procs, client, redis_store, redis_vault,
                                             tmp_path) -> None:
    _unchanged_after(lambda: migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check),
                     tmp_path, client, PoolError, "has no accounts: there is nothing to move")


# -- failures at the EXEC to the shared pool: both sides as they were -------------------------------

def _fail_exec(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server goes away as the MULTI/EXEC is sent: nothing of it is applied."""
    import redis

    original = redis.client.Pipeline.execute

    def execute(self, *args, **kwargs):
        if self.explicit_transaction:
            raise redis.exceptions.ConnectionError("injected: connection lost at EXEC")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", execute)


def _lose_exec_reply(monkeypatch: pytest.MonkeyPatch, applied: bool, unreadable: RedisPoolStore | None = None) -> None:
    """The connection fails once the EXEC was sent: applied or not, and the server then readable or not."""
    import redis

    original = redis.client.Pipeline.execute

    def execute(self, *args, **kwargs):
        if not self.explicit_transaction:
            return original(self, *args, **kwargs)
        if applied:
            original(self, *args, **kwargs)
        if unreadable is not None:
            def load():
                raise PoolUnavailable("the shared pool at redis://***@127.0.0.1:6379/0 is unavailable (injected)")
            monkeypatch.setattr(unreadable, "load", load)
        raise redis.exceptions.ConnectionError("injected: the reply to EXEC was lost")

    monkeypatch.setattr(redis.client.Pipeline, "execute", execute)


def test_an_exec_applied_whose_reply_was_lost_completes_the_move(store, homes, procs, client, fernet, redis_store,
                                                                 redis_vault, monkeypatch) -> None:
    accounts = _file_pool(store, homes)
    logins = _logins_in_homes(homes, accounts)
    _lose_exec_reply(monkeypatch, applied=True)
    report = migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check)
    assert report.moved == tuple(accounts)
    assert _logins_in_redis(client, fernet, accounts) == logins
    assert homes.accounts_on_disk() == [] and not any((homes.home(a) / MARKER).exists() for a in accounts)
    assert not store.path.exists()


def test_an_exec_of_unknown_outcome_leaves_the_logins_set_aside_and_says_how_to_finish(
        store, homes, procs, client, redis_store, redis_vault, monkeypatch) -> None:
    accounts = _file_pool(store, homes)
    pool_file = store.path.read_bytes()
    _lose_exec_reply(monkeypatch, applied=False, unreadable=redis_store)
    with pytest.raises(PoolError) as caught:
        migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check)
    message = str(caught.value)
    assert "not known whether the shared pool codex-fsm:pool at redis://***@127.0.0.1:6379/0 was written" in message
    assert str(homes.home(accounts[0]) / MARKER) in message and "rename each back to auth.json" in message
    _clean(message)
    # Neither a second live copy nor a lost one: each login is in its marker, the pool file untouched.
    assert all((homes.home(a) / MARKER).is_file() and not homes.exists(a) for a in accounts)
    assert store.path.read_bytes() == pool_file


def test_an_exec_that_fails_leaves_both_sides_as_they_were(store, homes, procs, client, redis_store, redis_vault,
                                                            tmp_path, monkeypatch) -> None:
    _file_pool(store, homes)
    _fail_exec(monkeypatch)
    _unchanged_after(lambda: migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check),
                     tmp_path, client, PoolUnavailable, "injected: connection lost at EXEC")
    monkeypatch.undo()
    assert migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check).moved  # and it can be retried


def test_a_watch_conflict_at_exec_leaves_both_sides_as_they_were(store, homes, procs, client, server, redis_store,
                                                                  redis_vault, tmp_path, monkeypatch) -> None:
    accounts = _file_pool(store, homes)
    with redis_store.transaction() as shared:  # an empty document, which another host rewrites meanwhile
        shared.version = 1
    other = fakeredis.FakeRedis(server=server)
    save = redis_vault.save

    def save_then_conflict(account, auth) -> None:
        save(account, auth)
        if account == accounts[-1]:
            other.set(POOL_KEY, other.get(POOL_KEY))  # the same bytes: only the WATCH notices
    monkeypatch.setattr(redis_vault, "save", save_then_conflict)
    _unchanged_after(lambda: migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check),
                     tmp_path, client, PoolSuperseded, "nothing was written")


def test_a_failure_while_setting_logins_aside_puts_them_back(store, homes, procs, client, redis_store, redis_vault,
                                                             tmp_path, monkeypatch) -> None:
    accounts = _file_pool(store, homes)
    rename = os.rename

    def refuse_the_third(src, dst, *args, **kwargs):
        if Path(dst).name == MARKER and Path(src).parent.name == accounts[2]:
            raise PermissionError(13, "Permission denied")
        return rename(src, dst, *args, **kwargs)
    monkeypatch.setattr(os, "rename", refuse_the_third)
    _unchanged_after(lambda: migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check),
                     tmp_path, client, PoolError, f"could not set the login of account {accounts[2]} aside")


def test_a_login_that_cannot_be_put_back_is_named(store, homes, procs, client, redis_store, redis_vault,
                                                  monkeypatch) -> None:
    accounts = _file_pool(store, homes)
    _fail_exec(monkeypatch)
    rename = os.rename

    def refuse_putting_back_the_first(src, dst, *args, **kwargs):
        if Path(src).name == MARKER and Path(src).parent.name == accounts[0]:
            raise PermissionError(13, "Permission denied")
        return rename(src, dst, *args, **kwargs)
    monkeypatch.setattr(os, "rename", refuse_putting_back_the_first)
    with pytest.raises(PoolError) as caught:
        migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check)
    message = str(caught.value)
    assert message.startswith("the shared pool at redis://***@127.0.0.1:6379/0 is unavailable")
    assert f"could not be renamed back to auth.json: {homes.home(accounts[0]) / MARKER} (Permission denied)" in message
    assert client.keys("*") == []
    assert homes.exists(accounts[1]) and homes.exists(accounts[2])


# -- after the EXEC to the shared pool ------------------------------------------------------------

def test_a_local_copy_that_cannot_be_deleted_is_named_and_the_shared_pool_is_complete(
        store, homes, procs, client, fernet, redis_store, redis_vault, monkeypatch) -> None:
    accounts = _file_pool(store, homes)
    logins = _logins_in_homes(homes, accounts)
    unlink = Path.unlink
    stuck = homes.home(accounts[1]) / MARKER

    def refuse(self, *args, **kwargs):
        if self == stuck:
            raise PermissionError(13, "Permission denied")
        return unlink(self, *args, **kwargs)
    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(MigrationIncomplete) as caught:
        migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check)
    assert caught.value.remaining == (f"{stuck} (Permission denied)",)
    assert "now holds the whole pool and every login" in str(caught.value)
    assert "Delete (or move) them by hand" in str(caught.value)
    assert caught.value.report.moved == tuple(accounts)
    assert _logins_in_redis(client, fernet, accounts) == logins
    assert [p for p in (homes.home(a) / MARKER for a in accounts) if p.exists()] == [stuck]
    assert not store.path.exists()  # the rest was still retired


def test_a_leftover_copy_of_a_login_is_adopted_before_the_move(store, homes, procs, client, fernet, redis_store,
                                                              redis_vault) -> None:
    accounts = _file_pool(store, homes)
    newer = homes.home(accounts[1]) / ".auth-Ab12Cd"
    write_auth(newer, account="acct-fake-0002", user="user-fake-0002", email="user2@example.invalid",
               refresh="rt_fake_2_rotated", last_refresh="2026-11-25T10:00:00.000000Z")
    plan = migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check, dry_run=True)
    assert plan.notes == (f"account {accounts[1]}: 1 leftover copy of its login in {homes.home(accounts[1])} "
                          "(an interrupted write) will be adopted if newer, then removed, before the move",)
    migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check)
    stored = _logins_in_redis(client, fernet, [accounts[1]])[accounts[1]]
    assert stored["tokens"]["refresh_token"] == "rt_fake_2_rotated"
    assert not newer.exists()


def test_a_login_outside_the_pool_is_left_where_it_is(store, homes, procs, client, redis_store, redis_vault) -> None:
    _file_pool(store, homes)
    raw = auth_bytes(account="acct-fake-0050", user="user-fake-0050", refresh="rt_fake_50")
    stray = account_id_for(parse_auth(raw, "fixture").identity)
    homes.write_auth(stray, raw)
    report = migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check)
    assert report.left_alone == (f"the login in {homes.home(stray)} (no account of the pool has it)",)
    assert homes.auth_path(stray).read_bytes() == raw
    assert client.get(credentials_key(stray)) is None


# -- to the pool file -----------------------------------------------------------------------------

@pytest.fixture
def shared_pool(store, homes, procs, redis_store, redis_vault) -> list[str]:
    """The three accounts, moved into the shared pool; the pool file is gone."""
    accounts = _file_pool(store, homes)
    migrate_to_redis(store, homes, redis_store, redis_vault, NOW, procs.check)
    for backup in store.path.parent.glob("pool.json*"):
        backup.unlink()
    return accounts


def test_to_file_refuses_a_pool_file_with_accounts(shared_pool, store, homes, procs, client, redis_store,
                                                   redis_vault, tmp_path, env) -> None:
    other_homes = AccountHomes(env["fsm"] / "other-homes", env["real"])
    add_account(store, other_homes, 9)
    _unchanged_after(lambda: migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check),
                     tmp_path, client, PoolError, "already holds 1 account. A migration never merges")


def test_to_file_refuses_an_account_home_that_holds_a_login(shared_pool, store, homes, procs, client, redis_store,
                                                           redis_vault, tmp_path) -> None:
    write_auth(homes.auth_path(shared_pool[1]), account="acct-fake-0002", user="user-fake-0002",
               email="user2@example.invalid", refresh="rt_fake_2")
    _unchanged_after(lambda: migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check),
                     tmp_path, client, PoolError, "1 account home holds an auth.json already")


def test_to_file_refuses_while_a_session_holds_an_account(shared_pool, store, homes, procs, client, redis_store,
                                                          redis_vault, tmp_path) -> None:
    redis_store.mutate(lambda pool: setattr(pool.get(shared_pool[0]), "lease", Lease(
        owner_pid=31337, owner_start="9", host="another-host", expires_at=NOW + 30, generation=8, purpose="child")))

    def alive(lease: Lease) -> bool:  # as leases.owner_alive: an owner on another host cannot be checked
        return lease.host != "testhost" or procs.check(lease)
    _unchanged_after(lambda: migrate_to_file(redis_store, redis_vault, store, homes, NOW, alive),
                     tmp_path, client, PoolError, f"account {shared_pool[0]} by process 31337 on another-host")


def test_to_file_with_another_key_decrypts_nothing_and_changes_nothing(shared_pool, store, homes, procs, client,
                                                                       redis_store, tmp_path) -> None:
    from cryptography.fernet import Fernet

    vault = RedisVault(redis_store, homes, Fernet(Fernet.generate_key()), "/keys/other.key")
    _unchanged_after(lambda: migrate_to_file(redis_store, vault, store, homes, NOW, procs.check),
                     tmp_path, client, PoolKeyError, "the key in /keys/other.key is not the key")


def test_to_file_refuses_an_account_without_a_login(shared_pool, store, homes, procs, client, redis_store,
                                                    redis_vault, tmp_path) -> None:
    client.delete(credentials_key(shared_pool[2]))
    _unchanged_after(lambda: migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check),
                     tmp_path, client, CredentialError, f"account {shared_pool[2]} cannot be moved: .*has no login")


def test_to_file_refuses_an_empty_shared_pool(store, homes, procs, client, redis_store, redis_vault,
                                              tmp_path) -> None:
    _unchanged_after(lambda: migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check),
                     tmp_path, client, PoolError, "has no accounts: there is nothing to move")


def test_to_file_an_exec_that_fails_removes_what_it_wrote(shared_pool, store, homes, procs, client, redis_store,
                                                         redis_vault, tmp_path, monkeypatch) -> None:
    _fail_exec(monkeypatch)
    _unchanged_after(lambda: migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check),
                     tmp_path, client, PoolUnavailable, "injected: connection lost at EXEC")
    assert homes.accounts_on_disk() == []


def test_to_file_an_exec_applied_whose_reply_was_lost_keeps_the_logins(shared_pool, store, homes, procs, client,
                                                                       redis_store, redis_vault, monkeypatch) -> None:
    _lose_exec_reply(monkeypatch, applied=True)
    report = migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check)
    assert report.moved == tuple(shared_pool)
    assert homes.accounts_on_disk() == sorted(shared_pool)
    assert [r.id for r in store.load().accounts] == shared_pool
    assert client.keys(credentials_key("*")) == []


def test_to_file_an_exec_of_unknown_outcome_keeps_what_it_wrote_and_says_how_to_finish(
        shared_pool, store, homes, procs, client, redis_store, redis_vault, monkeypatch) -> None:
    _lose_exec_reply(monkeypatch, applied=False, unreadable=redis_store)
    with pytest.raises(PoolError) as caught:
        migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check)
    message = str(caught.value)
    assert "not known whether the shared pool codex-fsm:pool at redis://***@127.0.0.1:6379/0 was emptied" in message
    assert f"if it still holds {credentials_key(shared_pool[0])}" in message and str(store.path) in message
    _clean(message)
    assert homes.accounts_on_disk() == sorted(shared_pool)  # kept: they may be the only copies
    assert len(client.keys(credentials_key("*"))) == 3


def test_to_file_on_a_machine_without_homes_a_failure_leaves_no_folders(shared_pool, store, homes, procs,
                                                                         redis_store, redis_vault,
                                                                         monkeypatch) -> None:
    import shutil

    shutil.rmtree(homes.root)  # a host that never ran a session of this pool
    _fail_exec(monkeypatch)
    with pytest.raises(PoolUnavailable):
        migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check)
    assert not homes.root.exists()


def test_to_file_a_watch_conflict_removes_what_it_wrote(shared_pool, store, homes, procs, client, server,
                                                       redis_store, redis_vault, tmp_path, monkeypatch) -> None:
    other = fakeredis.FakeRedis(server=server)
    write_auth_ = homes.write_auth

    def write_then_conflict(account, data):
        path = write_auth_(account, data)
        if account == shared_pool[-1]:
            other.set(POOL_KEY, other.get(POOL_KEY))
        return path
    monkeypatch.setattr(homes, "write_auth", write_then_conflict)
    _unchanged_after(lambda: migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check),
                     tmp_path, client, PoolSuperseded, "nothing was written")


def test_to_file_restores_an_empty_pool_file_it_replaced(shared_pool, store, homes, procs, client, redis_store,
                                                        redis_vault, tmp_path, monkeypatch) -> None:
    store.mutate(lambda pool: pool.accounts.append(AccountRecord(id="a-0000000001", label="gone", added_at=1.0)))
    store.mutate(lambda pool: pool.accounts.clear())  # pool.json (empty) and pool.json.bak (one account)
    _fail_exec(monkeypatch)
    _unchanged_after(lambda: migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check),
                     tmp_path, client, PoolUnavailable, "injected")


def test_to_file_a_pool_file_that_cannot_be_written_removes_the_logins(shared_pool, store, homes, procs, client,
                                                                      redis_store, redis_vault, tmp_path,
                                                                      monkeypatch) -> None:
    from supervisor.pool import store as store_module

    write = store_module.write_private_file

    def full_disk(path, data):
        if path == store.path:
            raise PoolError(f"could not write {path}: no space left on the device; the previous file is unchanged")
        return write(path, data)
    monkeypatch.setattr(store_module, "write_private_file", full_disk)
    _unchanged_after(lambda: migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check),
                     tmp_path, client, PoolError, "no space left on the device")


def test_to_file_a_login_it_cannot_remove_after_a_failure_is_named(shared_pool, store, homes, procs, client,
                                                                  redis_store, redis_vault, monkeypatch) -> None:
    _fail_exec(monkeypatch)
    unlink = Path.unlink
    stuck = homes.auth_path(shared_pool[0])

    def refuse(self, *args, **kwargs):
        if self == stuck:
            raise PermissionError(13, "Permission denied")
        return unlink(self, *args, **kwargs)
    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(PoolError) as caught:
        migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check)
    message = str(caught.value)
    assert "the shared pool codex-fsm:pool at redis://***@127.0.0.1:6379/0 was not changed" in message
    assert f"could not be removed or restored: {stuck} (Permission denied)" in message
    _clean(message)
    assert homes.accounts_on_disk() == [shared_pool[0]]
    assert not store.path.exists()


def test_to_file_leaves_a_login_without_an_account_in_the_shared_pool(shared_pool, store, homes, procs, client,
                                                                     redis_store, redis_vault) -> None:
    client.set(credentials_key("a-00000000ff"), b"a login of no account")
    report = migrate_to_file(redis_store, redis_vault, store, homes, NOW, procs.check)
    assert report.left_alone == ("the login codex-fsm:credentials:a-00000000ff (no account of the pool has it), "
                                 "in the shared pool",)
    assert client.keys(credentials_key("*")) == [credentials_key("a-00000000ff").encode()]


def test_the_migration_names_only_the_store_it_writes_through(store, homes, procs, client, redis_store,
                                                              redis_vault) -> None:
    add_account(store, homes, 1)
    with pytest.raises(ValueError, match="same RedisPoolStore"):
        migrate_to_redis(store, homes, RedisPoolStore(client, URL, 1.0), redis_vault, NOW, procs.check)
