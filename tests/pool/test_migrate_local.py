"""The local side of a migration: logins set aside and back, retired, the pool file moved aside, what a
migration to the file wrote undone; every failure names the file it concerns."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from supervisor.errors import PoolError
from supervisor.pool.auth import parse_auth
from supervisor.pool.homes import AccountHomes
from supervisor.pool.migrate_local import (MARKER, PoolFileState, WrittenLogins, backup_name, put_back, retire,
                                           set_aside)
from supervisor.pool.store import PoolStore

from .conftest import add_account
from .fakes import auth_bytes

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def test_a_marker_left_as_the_only_copy_is_adopted_by_the_home(store: PoolStore, homes: AccountHomes) -> None:
    account = add_account(store, homes, 1)
    raw = homes.auth_path(account).read_bytes()
    homes.auth_path(account).rename(homes.home(account) / MARKER)  # a crash between the rename and the EXEC
    assert homes.recover_auth(account)
    assert json.loads(homes.auth_path(account).read_bytes()) == json.loads(raw)
    assert not (homes.home(account) / MARKER).exists()


def test_a_marker_is_deleted_with_its_account(store: PoolStore, homes: AccountHomes) -> None:
    account = add_account(store, homes, 1)
    homes.auth_path(account).rename(homes.home(account) / MARKER)
    homes.remove(account)
    assert not homes.home(account).exists()


def test_set_aside_and_put_back_restore_every_login(store: PoolStore, homes: AccountHomes) -> None:
    accounts = [add_account(store, homes, n) for n in (1, 2)]
    before = {a: homes.auth_path(a).read_bytes() for a in accounts}
    markers = set_aside(homes, accounts)
    assert homes.accounts_on_disk() == []
    assert [marker.name for _auth, marker in markers] == [MARKER, MARKER]
    put_back(markers, RuntimeError("the EXEC failed"))
    assert {a: homes.auth_path(a).read_bytes() for a in accounts} == before


def test_set_aside_refuses_to_replace_a_marker_and_puts_back_what_it_moved(store: PoolStore,
                                                                           homes: AccountHomes) -> None:
    first, second = add_account(store, homes, 1), add_account(store, homes, 2)
    (homes.home(second) / MARKER).write_bytes(b"an older marker")
    with pytest.raises(PoolError, match=f"could not set the login of account {second} aside .*Nothing was changed"):
        set_aside(homes, [first, second])
    assert homes.exists(first) and homes.exists(second)
    assert (homes.home(second) / MARKER).read_bytes() == b"an older marker"


def test_retire_deletes_the_markers_and_moves_the_pool_file_aside(store: PoolStore, homes: AccountHomes) -> None:
    account = add_account(store, homes, 1)
    pool = store.path.read_bytes()
    markers = set_aside(homes, [account])
    backup = backup_name(store.path, NOW)
    assert retire(markers, store.path, backup) == []
    assert not (homes.home(account) / MARKER).exists() and not store.path.exists()
    assert backup.read_bytes() == pool


def test_a_backup_name_never_takes_an_existing_one(tmp_path: Path) -> None:
    pool_file = tmp_path / "pool.json"
    first = backup_name(pool_file, NOW)
    assert first.name == "pool.json.migrated-20270115T080000Z"
    first.write_text("an earlier migration's")
    assert backup_name(pool_file, NOW).name == "pool.json.migrated-20270115T080000Z-2"


def test_retire_names_a_pool_file_it_could_not_move(store: PoolStore, homes: AccountHomes) -> None:
    add_account(store, homes, 1)
    backup = backup_name(store.path, NOW)
    backup.write_text("taken meanwhile")
    (remaining,) = retire([], store.path, backup)
    assert remaining.startswith(f"the old pool file {store.path} (") and f"move it to {backup}" in remaining
    assert store.path.exists() and backup.read_text() == "taken meanwhile"


def test_undo_removes_the_logins_and_folders_it_made_and_restores_the_pool_file(
        env: dict[str, Path], store: PoolStore) -> None:
    homes = AccountHomes(env["fsm"] / "homes", env["real"])
    before = PoolFileState.read(store)
    written = WrittenLogins()
    raw = auth_bytes()
    written.write(homes, "a-0000000001", parse_auth(raw, "fixture"))
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text('{"version": 2, "accounts": []}')
    written.undo(before, store, "the shared pool", RuntimeError("the EXEC failed"))
    assert not homes.root.exists() and not store.path.exists()


def test_undo_names_a_login_it_could_not_remove(env: dict[str, Path], store: PoolStore,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    homes = AccountHomes(env["fsm"] / "homes", env["real"])
    before = PoolFileState.read(store)
    written = WrittenLogins()
    written.write(homes, "a-0000000001", parse_auth(auth_bytes(), "fixture"))
    stuck = homes.auth_path("a-0000000001")
    unlink = Path.unlink

    def refuse(self, *args, **kwargs):
        if self == stuck:
            raise PermissionError(13, "Permission denied")
        return unlink(self, *args, **kwargs)
    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(PoolError) as caught:
        written.undo(before, store, "the shared pool X", RuntimeError("the EXEC failed"))
    assert str(caught.value).startswith("the EXEC failed; the shared pool X was not changed and still holds every")
    assert f"{stuck} (Permission denied)" in str(caught.value)
    assert os.path.exists(stuck)
