"""Per-account CODEX_HOME overlay."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from supervisor.errors import PoolError
from supervisor.pool.homes import LATER_SHARED_FILES, SHARED_LOCK_FILES, AccountHomes

from .fakes import auth_bytes


def _real_home(real: Path) -> None:
    for name in ("config.toml", "history.jsonl", "state_5.sqlite", "state_5.sqlite-wal", "state_5.sqlite-shm",
                 "auth.json", "auth.lock", "models_cache.json", "AGENTS.md"):
        (real / name).write_text("x")
    for name in ("sessions", "packages", "app-server-daemon", "agents"):
        (real / name).mkdir()


def test_overlay_links_shared_entries_and_keeps_account_entries_private(homes: AccountHomes) -> None:
    _real_home(homes.real_home)
    homes.write_auth("a-0000000001", auth_bytes())
    home = homes.sync("a-0000000001")
    links = {p.name: Path(os.readlink(p)) for p in home.iterdir() if p.is_symlink()}
    expected = {"config.toml", "history.jsonl", "state_5.sqlite", "AGENTS.md", "sessions", "agents",
                ".sqlite-maintenance.lock", "shell_snapshots", "thread-writer-locks",
                "tui-thread-reference-capabilities", "skills", *SHARED_LOCK_FILES, *LATER_SHARED_FILES}
    assert set(links) == expected
    assert all(target == homes.real_home / name for name, target in links.items())
    assert [p.name for p in home.iterdir() if not p.is_symlink()] == ["auth.json"]
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE(homes.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(homes.root.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "auth.json").stat().st_mode) == 0o600
    assert (home / "auth.json").read_bytes() == auth_bytes()  # not the real home's auth.json
    assert homes.check("a-0000000001") == []


def test_new_entries_of_the_real_home_are_linked_on_the_next_sync(homes: AccountHomes) -> None:
    homes.write_auth("a-0000000001", auth_bytes())
    home = homes.sync("a-0000000001")
    (homes.real_home / "rules").mkdir()
    (homes.real_home / "logs_2.sqlite").write_text("x")
    (homes.real_home / "logs_2.sqlite-wal").write_text("x")
    homes.sync("a-0000000001")
    assert (home / "rules").is_symlink() and (home / "logs_2.sqlite").is_symlink()
    assert not (home / "logs_2.sqlite-wal").exists()


def test_links_that_must_not_exist_are_dropped(homes: AccountHomes) -> None:
    homes.write_auth("a-0000000001", auth_bytes())
    home = homes.sync("a-0000000001")
    (homes.real_home / "packages").mkdir()
    (home / "packages").symlink_to(homes.real_home / "packages")
    (home / "state_5.sqlite-wal").symlink_to(homes.real_home / "state_5.sqlite-wal")
    assert {p.entry for p in homes.check("a-0000000001")} == {"packages", "state_5.sqlite-wal"}
    homes.sync("a-0000000001")
    assert not (home / "packages").exists() and not (home / "state_5.sqlite-wal").is_symlink()


def test_a_private_copy_of_a_shared_entry_is_kept_and_reported(homes: AccountHomes) -> None:
    homes.write_auth("a-0000000001", auth_bytes())
    home = homes.home("a-0000000001")
    (home / "history.jsonl").write_text("private lines")
    (homes.real_home / "history.jsonl").write_text("shared")
    homes.sync("a-0000000001")
    assert (home / "history.jsonl").read_text() == "private lines"
    problems = homes.check("a-0000000001")
    assert [p.entry for p in problems] == ["history.jsonl"]
    assert "should be a link" in str(problems[0])


def test_check_reports_missing_credentials_and_loose_modes(homes: AccountHomes) -> None:
    home = homes.sync("a-0000000001")
    home.chmod(0o755)
    found = {p.entry: p.problem for p in homes.check("a-0000000001")}
    assert "no credentials" in found["auth.json"]
    assert "0700" in found[str(home)]
    assert "missing" in homes.check("a-0000000099")[0].problem


def test_a_home_without_a_login_is_fine_when_the_login_is_kept_elsewhere(homes: AccountHomes) -> None:
    home = homes.sync("a-0000000001")
    assert homes.check("a-0000000001", login_kept_here=False) == []
    assert homes.check("a-0000000099", login_kept_here=False) == []  # no home yet: made by the first lease
    home.chmod(0o755)
    (home / "auth.json").mkdir()  # what is there is still checked
    found = {p.entry: p.problem for p in homes.check("a-0000000001", login_kept_here=False)}
    assert "no credentials" in found["auth.json"] and "0700" in found[str(home)]
    (home / "auth.json").rmdir()
    homes.write_auth("a-0000000001", auth_bytes())
    (home / "auth.json").chmod(0o644)
    assert "0600" in homes.check("a-0000000001", login_kept_here=False)[-1].problem


def test_recover_adopts_a_newer_complete_leftover_and_removes_leftovers(homes: AccountHomes) -> None:
    homes.write_auth("a-0000000001", auth_bytes(refresh="rt_old", last_refresh="2026-01-01T00:00:00.000000Z"))
    home = homes.home("a-0000000001")
    (home / ".auth-Xy12ab").write_bytes(auth_bytes(refresh="rt_new", last_refresh="2026-02-01T00:00:00.000000Z"))
    (home / ".auth-torn").write_bytes(b'{"tokens": {"acc')
    assert homes.recover_auth("a-0000000001") is True
    assert b"rt_new" in (home / "auth.json").read_bytes()
    assert sorted(p.name for p in home.iterdir()) == ["auth.json"]


def test_recover_ignores_older_or_foreign_leftovers(homes: AccountHomes) -> None:
    homes.write_auth("a-0000000001", auth_bytes(refresh="rt_cur", last_refresh="2026-03-01T00:00:00.000000Z"))
    home = homes.home("a-0000000001")
    (home / ".auth-old").write_bytes(auth_bytes(refresh="rt_old", last_refresh="2026-01-01T00:00:00.000000Z"))
    (home / ".auth-other").write_bytes(auth_bytes(account="acct-other", refresh="rt_other",
                                                  last_refresh="2027-01-01T00:00:00.000000Z"))
    assert homes.recover_auth("a-0000000001") is False
    assert b"rt_cur" in (home / "auth.json").read_bytes()


def test_recover_keeps_an_unreadable_auth_json_before_replacing_it(homes: AccountHomes) -> None:
    homes.write_auth("a-0000000001", b'{"tokens": {"access_tok')  # torn: the holder died mid-write
    home = homes.home("a-0000000001")
    (home / ".auth-Zz99zz").write_bytes(auth_bytes(refresh="rt_new", last_refresh="2026-02-01T00:00:00.000000Z"))
    assert homes.recover_auth("a-0000000001") is True
    assert b"rt_new" in (home / "auth.json").read_bytes()
    kept = home / "auth.json.unreadable"
    assert kept.read_bytes() == b'{"tokens": {"access_tok'
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_files_codex_creates_later_are_linked_before_they_exist(homes: AccountHomes) -> None:
    """Regression: history.jsonl and the SQLite files Codex creates on first use became private copies
    in the account home (and `accounts remove` then deleted them)."""
    homes.write_auth("a-0000000001", auth_bytes())
    home = homes.sync("a-0000000001")
    for name in ("history.jsonl", "session_index.jsonl", "state_5.sqlite", "logs_2.sqlite", "config.toml"):
        assert Path(os.readlink(home / name)) == homes.real_home / name
    with open(home / "history.jsonl", "a") as history:  # how Codex appends to it
        history.write("entry\n")
    assert (homes.real_home / "history.jsonl").read_text() == "entry\n"
    assert not any(p.name.endswith(("-wal", "-shm")) for p in home.iterdir())
    assert homes.check("a-0000000001") == []


def test_sqlite_created_through_a_dangling_link_lands_in_the_real_home(homes: AccountHomes) -> None:
    import sqlite3

    homes.write_auth("a-0000000001", auth_bytes())
    home = homes.sync("a-0000000001")
    with sqlite3.connect(home / "state_5.sqlite") as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
    assert (homes.real_home / "state_5.sqlite").is_file()
    assert (home / "state_5.sqlite").is_symlink()
    assert not (home / "state_5.sqlite-wal").exists()


def test_sync_moves_a_private_copy_into_the_real_home_when_it_lacks_one(homes: AccountHomes) -> None:
    account = "a-0000000001"
    homes.write_auth(account, auth_bytes())
    home = homes.home(account)
    (home / "state_5.sqlite").write_text("db")
    (home / "state_5.sqlite-wal").write_text("wal")
    (home / "history.jsonl").write_text("mine\n")
    homes.sync(account)
    assert (homes.real_home / "state_5.sqlite").read_text() == "db"
    assert (homes.real_home / "state_5.sqlite-wal").read_text() == "wal"
    assert (homes.real_home / "history.jsonl").read_text() == "mine\n"
    assert (home / "state_5.sqlite").is_symlink() and (home / "history.jsonl").is_symlink()
    assert not os.path.lexists(home / "state_5.sqlite-wal")


def test_sync_keeps_a_private_copy_when_the_real_home_has_its_own(homes: AccountHomes) -> None:
    account = "a-0000000001"
    homes.write_auth(account, auth_bytes())
    (homes.real_home / "history.jsonl").write_text("real\n")
    (homes.home(account) / "history.jsonl").write_text("private\n")
    homes.sync(account)
    assert (homes.real_home / "history.jsonl").read_text() == "real\n"
    assert (homes.home(account) / "history.jsonl").read_text() == "private\n"
    assert [p.entry for p in homes.check(account)] == ["history.jsonl"]


def test_remove_deletes_credentials_only_and_moves_codex_data_back(homes: AccountHomes) -> None:
    """Regression: remove deleted the whole home, private history and databases included."""
    account = "a-0000000001"
    homes.write_auth(account, auth_bytes())
    home = homes.sync(account)
    (home / "history.jsonl").unlink()
    (home / "history.jsonl").write_text("only here\n")
    (home / "notes").mkdir()
    (home / "notes" / "a.md").write_text("n")
    (home / "auth.json.unreadable").write_text("x")
    (home / ".auth-AB12CD").write_text("x")
    (home / "models_cache.json").write_text("{}")
    removal = homes.remove(account)
    assert set(removal.moved_back) == {"history.jsonl", "notes"}
    assert removal.kept == ()
    assert (homes.real_home / "history.jsonl").read_text() == "only here\n"
    assert (homes.real_home / "notes" / "a.md").read_text() == "n"
    assert not os.path.lexists(home)
    assert (homes.real_home / "sessions").is_dir()  # the links' targets are untouched


def test_remove_keeps_and_names_what_the_real_home_already_has(homes: AccountHomes) -> None:
    account = "a-0000000001"
    homes.write_auth(account, auth_bytes())
    (homes.real_home / "history.jsonl").write_text("real\n")
    (homes.home(account) / "history.jsonl").write_text("private\n")
    (homes.home(account) / "state_5.sqlite-wal").write_text("orphan log")
    removal = homes.remove(account)
    assert set(removal.kept) == {"history.jsonl", "state_5.sqlite-wal"}
    assert removal.kept_in == homes.home(account)
    assert (homes.home(account) / "history.jsonl").read_text() == "private\n"
    assert (homes.real_home / "history.jsonl").read_text() == "real\n"
    assert not (homes.home(account) / "auth.json").exists()
    assert not (homes.real_home / "state_5.sqlite-wal").exists()


def test_remove_refuses_a_linked_home_and_deletes_nothing(homes: AccountHomes, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "auth.json").write_bytes(auth_bytes())
    homes.root.mkdir(parents=True)
    homes.home("a-0000000001").symlink_to(elsewhere)
    with pytest.raises(PoolError, match="is a symbolic link"):
        homes.remove("a-0000000001")
    assert (elsewhere / "auth.json").read_bytes() == auth_bytes()


def test_accounts_on_disk_lists_only_homes_with_credentials(homes: AccountHomes) -> None:
    """Regression: an empty or temp-file-only home was reported as holding credentials."""
    homes.write_auth("a-0000000001", auth_bytes())
    homes.root.joinpath("a-0000000002").mkdir()
    homes.root.joinpath("a-0000000003").mkdir()
    homes.root.joinpath("a-0000000003", ".auth.json.abcd1234.tmp").write_text("x")
    homes.root.joinpath("a-0000000004").mkdir()
    homes.root.joinpath("a-0000000004", "auth.json").symlink_to(homes.auth_path("a-0000000001"))
    assert homes.accounts_on_disk() == ["a-0000000001"]
