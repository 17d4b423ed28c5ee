"""Pool file: validation, atomic private writes, backups, and never overwriting what did not parse."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest

from supervisor.core.quota import QuotaSnapshot, QuotaWindow
from supervisor.errors import PoolError
from supervisor.pool.model import SCHEMA_VERSION, AccountRecord, Cooldown, Lease
from supervisor.pool.store import PoolFileError, PoolStore


def _add(pool, account: str = "a-0123456789") -> None:
    pool.accounts.append(AccountRecord(id=account, label="work", added_at=1.0))


def test_missing_file_is_an_empty_pool(store: PoolStore) -> None:
    assert store.load().accounts == []


def test_round_trip_keeps_every_field(store: PoolStore) -> None:
    snapshot = QuotaSnapshot(windows=(QuotaWindow(40.0, 300, 5000.0), QuotaWindow(10.0, 10080, None)),
                             observed_at=12.5, limit_reached=False)

    def change(pool) -> None:
        pool.accounts.append(AccountRecord(
            id="a-0123456789", label="work", added_at=1.0, enabled=False, order=2, last_used=3.0, plan="plus",
            email_masked="u***@example.invalid", cooldown=Cooldown(until=99.0, reason="usage_limit", set_at=9.0),
            quota=snapshot, lease=Lease(7, "123", "h", 50.0, 4, "session"), generation=4))
    store.mutate(change)
    record = PoolStore(store.path).load().get("a-0123456789")
    assert record.quota == snapshot
    assert record.cooldown == Cooldown(until=99.0, reason="usage_limit", set_at=9.0)
    assert record.lease == Lease(7, "123", "h", 50.0, 4, "session")
    assert (record.enabled, record.order, record.plan, record.generation) == (False, 2, "plus", 4)


def test_written_private_and_atomically(store: PoolStore) -> None:
    store.mutate(_add)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["pool.json", "pool.json.lock", "pool.json.validated"]
    assert stat.S_IMODE(store.validated_path.stat().st_mode) == 0o600


def test_each_write_keeps_the_previous_version_as_backup(store: PoolStore) -> None:
    store.mutate(_add)
    first = store.path.read_bytes()
    store.mutate(lambda pool: setattr(pool.accounts[0], "label", "renamed"))
    assert store.backup_path.read_bytes() == first
    assert store.load().accounts[0].label == "renamed"


def test_unchanged_transaction_writes_nothing(store: PoolStore) -> None:
    store.mutate(_add)
    inode = store.path.stat().st_ino
    store.mutate(lambda pool: None)
    assert store.path.stat().st_ino == inode


@pytest.mark.parametrize("content, what", [
    (b'{"version": 1, "accounts": [', "invalid JSON at line 1"),
    (b"", "it is empty"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[]", "top level is not a JSON object"),
    (b'{"version": 1, "accounts": [{"id": "a-0123456789", "label": 3, "added_at": 1}]}', "accounts.0.label"),
    (b'{"version": 1, "accounts": [{"id": "a-0123456789", "label": "x", "added_at": 1, "token": "x"}]}',
     "accounts.0.token"),
])
def test_unparsable_pool_is_reported_and_never_overwritten(store: PoolStore, content: bytes, what: str) -> None:
    store.mutate(_add)
    store.mutate(lambda pool: setattr(pool.accounts[0], "label", "renamed"))
    store.path.write_bytes(content)
    with pytest.raises(PoolFileError) as info:
        store.mutate(_add)
    message = str(info.value)
    assert str(store.path) in message and what in message
    assert f"cp {store.backup_path} {store.path}" in message
    assert store.path.read_bytes() == content
    assert json.loads(store.backup_path.read_bytes())["accounts"][0]["id"] == "a-0123456789"


def test_truncated_pool_without_backup_says_how_to_recover(store: PoolStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(b'{"version": 1, "acc')
    with pytest.raises(PoolFileError, match="No backup exists.*accounts import"):
        store.load()


def test_pool_from_newer_schema_is_refused_untouched(store: PoolStore) -> None:
    store.path.parent.mkdir(parents=True)
    content = json.dumps({"version": SCHEMA_VERSION + 1, "accounts": [], "shiny": True}).encode()
    store.path.write_bytes(content)
    with pytest.raises(PoolFileError, match=f"schema version {SCHEMA_VERSION + 1}.*newer codex-fsm"):
        store.mutate(_add)
    assert store.path.read_bytes() == content


def test_duplicate_account_ids_are_rejected(store: PoolStore) -> None:
    store.path.parent.mkdir(parents=True)
    row = {"id": "a-0123456789", "label": "x", "added_at": 1.0}
    store.path.write_text(json.dumps({"version": 1, "accounts": [row, row]}))
    with pytest.raises(PoolFileError, match="duplicate account id a-0123456789"):
        store.load()


def test_full_disk_during_write_loses_nothing(store: PoolStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.mutate(_add)
    before = store.path.read_bytes()

    def no_space(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "write", no_space)
    with pytest.raises(PoolError, match="pool.json: no space left on the device; the previous file is unchanged"):
        store.mutate(lambda pool: setattr(pool.accounts[0], "label", "renamed"))
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert not [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]
    store.mutate(lambda pool: setattr(pool.accounts[0], "label", "renamed"))  # the lock was released
    assert store.load().accounts[0].label == "renamed"


def test_failed_fsync_loses_nothing(store: PoolStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.mutate(_add)
    before = store.path.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(PoolError, match="could not write"):
        store.mutate(lambda pool: setattr(pool.accounts[0], "label", "renamed"))
    monkeypatch.undo()
    assert store.path.read_bytes() == before


def test_unreadable_pool_file_is_an_error_not_an_empty_pool(store: PoolStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.mutate(_add)
    real_read = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self == store.path:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_read(self)
    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(PoolFileError, match="cannot read the pool file .*pool.json: Permission denied"):
        store.load()


def test_unwritable_home_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = PoolStore(tmp_path / "locked" / "pool.json")
    real_mkdir = Path.mkdir

    def denied(self: Path, *args, **kwargs) -> None:
        if self == store.path.parent:
            raise PermissionError(errno.EACCES, "Permission denied")
        real_mkdir(self, *args, **kwargs)
    monkeypatch.setattr(Path, "mkdir", denied)
    with pytest.raises(PoolError, match="cannot create the codex-fsm home .*locked: Permission denied.*CODEX_FSM_HOME"):
        store.mutate(_add)


def test_error_inside_transaction_propagates_as_itself_and_writes_nothing(store: PoolStore) -> None:
    """Regression: an EEXIST raised by the caller is not lock contention."""
    store.mutate(_add)
    before = store.path.read_bytes()
    calls = []

    def change(pool) -> None:
        calls.append(1)
        pool.accounts[0].label = "half-done"
        raise FileExistsError(errno.EEXIST, "caller's own error")
    with pytest.raises(FileExistsError, match="caller's own error"):
        store.mutate(change)
    assert calls == [1]  # not re-run
    assert store.path.read_bytes() == before
    store.mutate(lambda pool: None)  # the lock was released


def test_backup_staging_left_by_a_crash_is_not_in_the_way(store: PoolStore) -> None:
    store.mutate(_add)
    store.path.with_name(".pool.json.bak.tmp").write_text("left by a process killed mid-backup")
    store.mutate(lambda pool: setattr(pool.accounts[0], "label", "renamed"))
    assert store.load().accounts[0].label == "renamed"
    assert json.loads(store.backup_path.read_text())["accounts"][0]["label"] == "work"


def test_failed_write_keeps_the_older_backup(store: PoolStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a failed write replaced pool.json.bak with a link to the current file."""
    store.mutate(_add)
    store.mutate(lambda pool: setattr(pool.accounts[0], "label", "second"))
    backup_before = store.backup_path.read_bytes()
    assert b'"work"' in backup_before

    def no_space(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "write", no_space)
    with pytest.raises(PoolError, match="no space left"):
        store.mutate(lambda pool: setattr(pool.accounts[0], "label", "third"))
    monkeypatch.undo()
    assert store.backup_path.read_bytes() == backup_before
    assert not store.path.with_name(".pool.json.bak.tmp").exists()


def test_stale_temp_files_of_killed_writers_are_cleaned_under_the_lock(env) -> None:
    """Regression: `.pool.json.*.tmp` left by a killed writer stayed forever."""
    now = 1_000_000.0
    store = PoolStore(env["fsm"] / "pool.json", lock_timeout_s=2.0, clock=lambda: now)
    store.mutate(_add)
    folder = store.path.parent
    old = folder / ".pool.json.abc_1234.tmp"
    fresh = folder / ".pool.json.xyz98765.tmp"
    foreign = folder / ".pool.json.not-ours.tmp"
    other = folder / "notes.tmp"
    for path in (old, fresh, foreign, other):
        path.write_text("x")
    os.utime(old, (now - 7200, now - 7200))
    os.utime(fresh, (now - 10, now - 10))
    for path in (foreign, other):
        os.utime(path, (now - 7200, now - 7200))
    store.mutate(lambda pool: setattr(pool.accounts[0], "label", "renamed"))
    assert not old.exists()
    assert fresh.exists() and foreign.exists() and other.exists()


@pytest.mark.parametrize(("field", "value", "what"), [
    ("enabled", "yes", "enabled: not true or false"),
    ("enabled", 1, "enabled: not true or false"),
    ("added_at", "Infinity", "added_at: not a number"),
    ("added_at", 1e300, "added_at: must be between"),
    ("added_at", 10**400, "added_at"),
    ("added_at", True, "added_at: not a number"),
    ("order", True, "order: not an integer"),
    ("order", -1, "order"),
    ("last_used", "12", "last_used: not a number"),
    ("label", "", "label"),
    ("generation", 1.5, "generation"),
    ("quota", {"windows": [["1", 300, None]], "observed_at": 1.0, "limit_reached": False}, "quota"),
    ("quota", {"windows": [], "observed_at": 1.0, "limit_reached": "yes"}, "quota: limit_reached"),
    ("quota", {"windows": [[10.0, True, None]], "observed_at": 1.0}, "quota"),
    ("cooldown", {"until": 1e300, "reason": "usage_limit", "set_at": 1.0}, "cooldown.until"),
    ("lease", {"owner_pid": True, "owner_start": "1", "host": "h", "expires_at": 5.0, "generation": 1,
               "purpose": "session"}, "lease.owner_pid"),
    ("lease", {"owner_pid": 7, "owner_start": "1", "host": "h", "expires_at": 5.0, "generation": 1,
               "purpose": "anything"}, "lease.purpose"),
    ("id", "a-0123456789\n", "id"),
])
def test_lax_values_are_refused_and_never_written_back(store: PoolStore, field: str, value: object, what: str) -> None:
    """Regression: `"enabled": "yes"`, Infinity and the like were accepted and written back normalised."""
    record = {"id": "a-0123456789", "label": "work", "added_at": 1.0, field: value}
    raw = json.dumps({"version": 1, "accounts": [record]}).encode()
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_bytes(raw)
    with pytest.raises(PoolFileError, match=what):
        store.mutate(lambda pool: None)
    assert store.path.read_bytes() == raw


@pytest.mark.parametrize("version", [0, -1, True, 1.0, "1"])
def test_schema_versions_outside_the_known_range_are_refused(store: PoolStore, version: object) -> None:
    raw = json.dumps({"version": version, "accounts": []}).encode()
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_bytes(raw)
    with pytest.raises(PoolFileError, match="version"):
        store.load()
    assert store.path.read_bytes() == raw


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"version": 1, "accounts": [' + b"{" * 50_000])
def test_deeply_nested_json_is_a_named_error(store: PoolStore, raw: bytes) -> None:
    """Regression: json's RecursionError escaped as a traceback."""
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_bytes(raw)
    with pytest.raises(PoolFileError, match="pool.json cannot be used"):
        store.load()


def test_a_pool_file_that_is_a_directory_is_a_named_error(store: PoolStore) -> None:
    store.path.mkdir(parents=True)
    with pytest.raises(PoolFileError, match="is a directory"):
        store.load()


def test_the_restore_command_is_quoted_for_the_shell(tmp_path):
    """A codex-fsm home under a folder with a space: the printed `cp` must work when pasted."""
    home = tmp_path / "my home"
    home.mkdir()
    path, backup = home / "pool.json", home / "pool.json.bak"
    backup.write_text('{"version": 1, "accounts": []}')
    path.write_text("{not json")
    with pytest.raises(PoolFileError) as info:
        PoolStore(path).load()
    assert f"`cp '{backup}' '{path}'`" in str(info.value)
