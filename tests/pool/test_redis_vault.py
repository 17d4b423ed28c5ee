"""RedisVault: the shared pool's logins, Fernet-encrypted in Redis, and the working copy of a lease."""

from __future__ import annotations

import json
from pathlib import Path

import fakeredis
import pytest
from cryptography.fernet import Fernet

from supervisor.errors import CredentialError, PoolError, PoolKeyError
from supervisor.pool.auth import account_id_for, parse_auth, read_auth_file
from supervisor.pool.redis_store import POOL_KEY, PoolSuperseded, credentials_key
from supervisor.pool.redis_vault import KEY_CHECK_KEY

from .fakes import auth_bytes, auth_document, write_auth
from .redis_fakes import Host, codex_refreshes, import_login, raw_values, shared_host, stored_login

KEY = Fernet.generate_key()
OLDER = "2026-11-24T10:00:00.000000Z"  # what the imported logins carry
NEWER = "2026-11-25T10:00:00.000000Z"
NEWEST = "2026-11-26T10:00:00.000000Z"


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def host(server, tmp_path: Path) -> Host:
    return shared_host(server, tmp_path, "host-a", KEY)


@pytest.fixture
def account(host: Host, tmp_path: Path) -> str:
    return import_login(host, tmp_path, 1)


def _home_auth(host: Host, account: str) -> Path:
    return host.homes.auth_path(account)


def test_a_saved_login_reads_back_and_redis_holds_no_plaintext(host, account) -> None:
    login = parse_auth(auth_bytes(), "the imported login")
    assert host.vault.read(account).document == login.document
    raw = host.client.get(credentials_key(account))
    secrets = [login.access_token, login.refresh_token, login.tokens["id_token"], "user1@example.invalid",
               "acct-fake-0001", "user-fake-0001"]
    assert [secret for secret in secrets if secret.encode() in raw] == []
    # The key check marker was written with the first login; it holds no login either.
    assert host.fernet.decrypt(host.client.get(KEY_CHECK_KEY)) == b"codex-fsm pool key check v1"
    assert not _home_auth(host, account).exists()  # the import left no copy on this machine


def test_another_key_is_refused_on_read_and_on_save_and_nothing_is_written(server, tmp_path, host, account) -> None:
    stranger = shared_host(server, tmp_path, "host-b", Fernet.generate_key())
    before = raw_values(host.client)
    with pytest.raises(PoolKeyError, match="pool.key is not the key of the shared pool"):
        stranger.vault.read(account)
    with pytest.raises(PoolKeyError):
        stranger.vault.checkout(account)
    with pytest.raises(PoolKeyError):
        with stranger.store.transaction():
            stranger.vault.save(account, parse_auth(auth_bytes(refresh="rt_stranger"), "login"))
    assert raw_values(host.client) == before
    assert not _home_auth(stranger, account).exists()


def test_a_write_back_under_another_key_is_refused_and_writes_nothing(server, tmp_path) -> None:
    """Two machines with different keys starting one pool: the one whose key lost the key check must not
    store what its child refreshed."""
    mine = Fernet.generate_key()
    late = shared_host(server, tmp_path, "host-b", mine)
    login = parse_auth(auth_bytes(), "login")
    account = account_id_for(login.identity)
    # A login stored before the pool had a key check (no marker yet), under this host's key.
    late.client.set(credentials_key(account), Fernet(mine).encrypt(login.to_bytes()))
    late.vault.checkout(account)
    first = shared_host(server, tmp_path, "host-a", KEY)
    first.vault.check_key(writing=True)  # another host's first write records its key
    codex_refreshes(_home_auth(late, account), 1, "rt_fake_late", NEWER)
    before = raw_values(late.client)
    with pytest.raises(PoolKeyError):
        with late.store.transaction():
            late.vault.write_back(account)
    assert raw_values(late.client) == before


def test_a_changed_ciphertext_is_refused_as_undecryptable(host, account) -> None:
    key = credentials_key(account)
    token = bytearray(host.client.get(key))
    token[len(token) // 2] ^= 0x01
    host.client.set(key, bytes(token))
    with pytest.raises(PoolKeyError, match=f"the login of account {account} .* does not decrypt"):
        host.vault.read(account)
    assert host.client.get(key) == bytes(token)  # left as it was found


def test_a_credentials_key_holding_another_accounts_login_is_refused(host, account, tmp_path) -> None:
    other = import_login(host, tmp_path, 2)
    host.client.set(credentials_key(account), host.client.get(credentials_key(other)))
    before = raw_values(host.client)
    with pytest.raises(CredentialError, match="holds the login of another account"):
        host.vault.read(account)
    with pytest.raises(CredentialError):
        host.vault.checkout(account)
    assert raw_values(host.client) == before and not _home_auth(host, account).exists()


def test_having_credentials_names_the_accounts_with_a_stored_login(host, account, tmp_path) -> None:
    other = import_login(host, tmp_path, 2)
    with host.store.transaction():
        host.vault.remove(other)
    assert host.vault.having_credentials([account, other, "a-0000000000"]) == {account}
    assert host.vault.having_credentials([]) == set()


def test_checkout_writes_a_private_working_copy_that_read_then_prefers(host, account) -> None:
    host.vault.checkout(account)
    path = _home_auth(host, account)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert read_auth_file(path).document == stored_login(host, account).document
    codex_refreshes(path, 1, "rt_codex", NEWER)
    assert host.vault.read(account).refresh_token == "rt_codex"  # what the child's Codex refreshed
    path.write_bytes(b'{"tokens": ')  # Codex half-way through a rewrite: the stored login is the one to use
    assert host.vault.read(account).refresh_token == "rt_fake_1"


def test_read_without_a_checkout_ignores_a_file_in_the_home(host, account) -> None:
    codex_refreshes(_home_auth(host, account), 1, "rt_not_ours", NEWER)
    assert host.vault.read(account).refresh_token == "rt_fake_1"


def test_write_back_stages_only_a_changed_complete_login(host, account) -> None:
    host.vault.checkout(account)
    with host.store.transaction():
        assert host.vault.write_back(account) is False  # nothing refreshed since the checkout
    codex_refreshes(_home_auth(host, account), 1, "rt_codex", NEWER)
    with pytest.raises(PoolError, match="outside a transaction"):
        host.vault.write_back(account)
    assert stored_login(host, account).refresh_token == "rt_fake_1"
    with host.store.transaction():
        assert host.vault.write_back(account) is True
    assert stored_login(host, account).refresh_token == "rt_codex"
    with host.store.transaction():
        assert host.vault.write_back(account) is False  # already stored
    _home_auth(host, account).write_bytes(b'{"tokens": ')
    with host.store.transaction():
        assert host.vault.write_back(account) is False  # not a complete login: the stored one stays
    assert stored_login(host, account).refresh_token == "rt_codex"


def test_write_back_of_an_account_this_vault_did_not_check_out_stages_nothing(host, account) -> None:
    codex_refreshes(_home_auth(host, account), 1, "rt_not_ours", NEWER)
    with host.store.transaction():
        assert host.vault.write_back(account) is False
    assert stored_login(host, account).refresh_token == "rt_fake_1"


def test_a_write_back_whose_transaction_failed_is_staged_again(host, account, server) -> None:
    host.vault.checkout(account)
    codex_refreshes(_home_auth(host, account), 1, "rt_codex", NEWER)
    with pytest.raises(RuntimeError):
        with host.store.transaction():
            assert host.vault.write_back(account) is True
            raise RuntimeError("the block failed after the write-back was staged")
    assert stored_login(host, account).refresh_token == "rt_fake_1"
    other = fakeredis.FakeRedis(server=server)
    with pytest.raises(PoolSuperseded):
        with host.store.transaction():
            assert host.vault.write_back(account) is True
            other.set(POOL_KEY, other.get(POOL_KEY))  # another host wrote while this one's lock had expired
    assert stored_login(host, account).refresh_token == "rt_fake_1"
    with host.store.transaction():
        assert host.vault.write_back(account) is True
    assert stored_login(host, account).refresh_token == "rt_codex"


def test_save_of_a_checked_out_account_refreshes_the_working_copy_after_commit(host, account) -> None:
    host.vault.checkout(account)
    refreshed = parse_auth(auth_bytes(refresh="rt_by_codex_fsm", last_refresh=NEWER), "login")
    with host.store.transaction():
        host.vault.save(account, refreshed)
        assert read_auth_file(_home_auth(host, account)).refresh_token == "rt_fake_1"  # not before commit
    assert read_auth_file(_home_auth(host, account)).refresh_token == "rt_by_codex_fsm"
    assert stored_login(host, account).refresh_token == "rt_by_codex_fsm"
    with host.store.transaction():
        assert host.vault.write_back(account) is False  # the copy is what Redis holds


def test_discard_removes_the_copy_this_vault_made(host, account) -> None:
    host.vault.checkout(account)
    host.vault.discard(account)
    assert not _home_auth(host, account).exists()
    assert host.vault.read(account).refresh_token == "rt_fake_1"
    with host.store.transaction():
        assert host.vault.write_back(account) is False  # nothing checked out any more


def test_discard_keeps_a_file_this_vault_did_not_make(host, account) -> None:
    path = _home_auth(host, account)
    codex_refreshes(path, 1, "rt_someone_elses", NEWER)
    host.vault.discard(account)
    assert read_auth_file(path).refresh_token == "rt_someone_elses"


def test_discard_after_an_earlier_discard_keeps_a_file_made_since_by_someone_else(host, account) -> None:
    """Regression: the vault remembered a copy it made after that copy was gone, so a later discard (a lease
    lost before any child started) removed the copy another codex-fsm of this machine had checked out since."""
    host.vault.checkout(account)
    host.vault.discard(account)
    codex_refreshes(_home_auth(host, account), 1, "rt_another_process", NEWER)
    host.vault.discard(account)
    assert read_auth_file(_home_auth(host, account)).refresh_token == "rt_another_process"


def test_discard_keeping_the_copy_only_forgets_it(host, account) -> None:
    """Another session of this machine holds the account now: the copy in the home is its."""
    host.vault.checkout(account)
    codex_refreshes(_home_auth(host, account), 1, "rt_neighbours", NEWER)
    host.vault.discard(account, keep_copy=True)
    host.vault.discard(account)
    assert read_auth_file(_home_auth(host, account)).refresh_token == "rt_neighbours"
    with host.store.transaction():
        assert host.vault.write_back(account) is False
    assert host.vault.read(account).refresh_token == "rt_fake_1"


def test_recover_adopts_a_newer_local_copy_and_removes_it_after_commit(host, account) -> None:
    path = _home_auth(host, account)
    codex_refreshes(path, 1, "rt_left_behind", NEWER)
    with host.store.transaction():
        assert host.vault.recover(account) is True
        assert path.exists()  # the only copy of the newest token stays until Redis holds it
    assert not path.exists()
    assert stored_login(host, account).refresh_token == "rt_left_behind"


def test_recover_adopts_an_interrupted_write_left_in_a_temp_file(host, account) -> None:
    codex_refreshes(_home_auth(host, account), 1, "rt_older_copy", NEWER)
    write_auth(host.homes.home(account) / ".auth-k1ll3d", refresh="rt_in_temp", last_refresh=NEWEST)
    with host.store.transaction():
        assert host.vault.recover(account) is True
    assert stored_login(host, account).refresh_token == "rt_in_temp"
    assert [p.name for p in host.homes.home(account).iterdir() if p.name.startswith(".auth")] == []
    assert not _home_auth(host, account).exists()


def test_recover_keeps_redis_when_it_is_newer_and_removes_the_stale_copy(host, account) -> None:
    refreshed = parse_auth(auth_bytes(refresh="rt_stored", last_refresh=NEWEST), "login")
    with host.store.transaction():
        host.vault.save(account, refreshed)
    codex_refreshes(_home_auth(host, account), 1, "rt_stale", NEWER)
    with host.store.transaction():
        assert host.vault.recover(account) is False
    assert stored_login(host, account).refresh_token == "rt_stored"
    assert not _home_auth(host, account).exists()


def test_recover_whose_transaction_fails_keeps_the_local_copy(host, account) -> None:
    codex_refreshes(_home_auth(host, account), 1, "rt_left_behind", NEWER)
    with pytest.raises(RuntimeError):
        with host.store.transaction():
            host.vault.recover(account)
            raise RuntimeError("the reclaim failed")
    assert read_auth_file(_home_auth(host, account)).refresh_token == "rt_left_behind"
    assert stored_login(host, account).refresh_token == "rt_fake_1"


def test_recover_leaves_a_file_of_another_account_alone(host, account) -> None:
    path = _home_auth(host, account)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(json.dumps(auth_document(account="acct-fake-0002", user="user-fake-0002")).encode())
    with host.store.transaction():
        assert host.vault.recover(account) is False
    assert path.exists() and stored_login(host, account).refresh_token == "rt_fake_1"


def test_checkout_sets_even_a_newer_leftover_aside_and_uses_the_stored_login(host, account) -> None:
    # A superseded holder's Codex refreshed after its lease was lost: the fence says the stored login wins,
    # whatever the leftover's last_refresh (another machine's clock need not agree).
    path = _home_auth(host, account)
    codex_refreshes(path, 1, "rt_leftover", NEWER)
    host.vault.checkout(account)
    assert read_auth_file(path).refresh_token == "rt_fake_1"
    aside = path.with_name("auth.json.superseded")
    assert read_auth_file(aside).refresh_token == "rt_leftover"  # kept, never deleted
    with host.store.transaction():
        assert host.vault.write_back(account) is False
    assert stored_login(host, account).refresh_token == "rt_fake_1"


def test_checkout_replaces_an_older_leftover_with_the_stored_login(host, account) -> None:
    with host.store.transaction():
        host.vault.save(account, parse_auth(auth_bytes(refresh="rt_stored", last_refresh=NEWEST), "login"))
    codex_refreshes(_home_auth(host, account), 1, "rt_old_leftover", NEWER)
    host.vault.checkout(account)
    assert read_auth_file(_home_auth(host, account)).refresh_token == "rt_stored"
    with host.store.transaction():
        assert host.vault.write_back(account) is False


def test_a_respawn_keeps_what_codex_refreshed_in_the_working_copy(host, account) -> None:
    host.vault.checkout(account)
    codex_refreshes(_home_auth(host, account), 1, "rt_codex", NEWER)
    host.vault.checkout(account)  # the next child of the same lease
    assert read_auth_file(_home_auth(host, account)).refresh_token == "rt_codex"


def test_remove_deletes_the_stored_login_with_the_transaction(host, account) -> None:
    host.vault.checkout(account)
    with host.store.transaction():
        host.vault.remove(account)
        assert host.client.exists(credentials_key(account))
    assert not host.client.exists(credentials_key(account))
    assert not host.homes.home(account).exists()
    with pytest.raises(CredentialError, match="has no login"):
        host.vault.read(account)
