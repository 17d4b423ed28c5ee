"""`codex-fsm accounts ...` end to end through the dispatcher, on temp homes."""

from __future__ import annotations

import fcntl
import json
import os

import pytest

from supervisor.cli import main
from supervisor.pool.auth import account_id_for, parse_auth
from supervisor.pool.leases import current_process
from supervisor.pool.model import MAX_TIMESTAMP, Cooldown, Lease
from supervisor.pool.store import PoolStore

from tests.pool.fakes import auth_bytes, write_auth


def _id(**kwargs) -> str:
    return account_id_for(parse_auth(auth_bytes(**kwargs), "t").identity)


def _store(env) -> PoolStore:
    return PoolStore(env["fsm"] / "pool.json")


def test_import_defaults_to_codex_home_and_keeps_the_original_with_a_warning(env, capsys) -> None:
    original = write_auth(env["real"] / "auth.json")
    assert main(["accounts", "import"]) == 0
    out, err = capsys.readouterr()
    account = _id()
    assert f"Added account {account} (u***@example.invalid)" in out
    assert "still holds a live copy" in err and "--move" in err
    assert original.exists()
    home_auth = env["fsm"] / "homes" / account / "auth.json"
    assert json.loads(home_auth.read_bytes()) == json.loads(original.read_bytes())
    assert (home_auth.stat().st_mode & 0o777) == 0o600
    record = _store(env).load().get(account)
    assert (record.plan, record.email_masked, record.label) == ("plus", "u***@example.invalid", "u***@example.invalid")


def test_import_move_leaves_only_the_pool_copy(env, capsys) -> None:
    original = write_auth(env["real"] / "auth.json")
    assert main(["accounts", "import", "--move", "--label", "work"]) == 0
    assert not original.exists()
    assert "only copy" in capsys.readouterr().out
    assert _store(env).load().get(_id()).label == "work"


def test_import_deduplicates_and_keeps_the_newer_copy(env, tmp_path, capsys) -> None:
    write_auth(tmp_path / "a.json", refresh="rt_one", last_refresh="2026-01-01T00:00:00.000000Z")
    write_auth(tmp_path / "older.json", refresh="rt_zero", last_refresh="2025-01-01T00:00:00.000000Z")
    write_auth(tmp_path / "newer.json", refresh="rt_two", last_refresh="2026-06-01T00:00:00.000000Z")
    assert main(["accounts", "import", str(tmp_path / "a.json")]) == 0
    assert main(["accounts", "import", str(tmp_path / "older.json")]) == 0
    assert "Already had" in capsys.readouterr().out
    home_auth = env["fsm"] / "homes" / _id() / "auth.json"
    assert b"rt_one" in home_auth.read_bytes()
    assert main(["accounts", "import", str(tmp_path / "newer.json")]) == 0
    assert b"rt_two" in home_auth.read_bytes()
    assert len(_store(env).load().accounts) == 1


def test_import_refuses_an_account_in_use(env, tmp_path, capsys) -> None:
    write_auth(tmp_path / "a.json")
    main(["accounts", "import", str(tmp_path / "a.json")])
    me = current_process()
    _store(env).mutate(lambda pool: setattr(pool.accounts[0], "lease",
                                            Lease(me.pid, me.start, me.host, 4e9, 1, "session")))
    assert main(["accounts", "import", str(tmp_path / "a.json")]) == 1
    assert "in use by process" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [
    (json.dumps({"auth_mode": "apikey", "OPENAI_API_KEY": "sk-fake"}), "no 'tokens' object"),
    ('{"tokens": {"id_token": "x", "access_token": "y", "refresh_token": "z"}}', "tokens.id_token is not a JWT"),
])
def test_import_of_unusable_auth_is_a_clear_error(env, tmp_path, capsys, content, message) -> None:
    (tmp_path / "auth.json").write_text(content)
    assert main(["accounts", "import", str(tmp_path / "auth.json")]) == 1
    err = capsys.readouterr().err
    assert message in err and str(tmp_path / "auth.json") in err
    assert not (env["fsm"] / "pool.json").exists()


def test_import_of_a_missing_file_says_to_log_in(env, capsys) -> None:
    assert main(["accounts", "import"]) == 1
    assert "codex login" in capsys.readouterr().err


def test_list_shows_masked_state_and_never_a_token(env, tmp_path, capsys) -> None:
    write_auth(tmp_path / "a.json", email="someone.secret@example.invalid", refresh="rt_must_not_show")
    main(["accounts", "import", str(tmp_path / "a.json"), "--label", "main"])
    main(["accounts", "disable", "main"])
    capsys.readouterr()
    assert main(["accounts", "list"]) == 0
    table = capsys.readouterr().out
    assert main(["accounts", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    for shown in (table, json.dumps(rows)):
        assert "rt_must_not_show" not in shown and "someone.secret" not in shown and "eyJ" not in shown
    assert "s***@example.invalid" in table and "disabled" in table and "main" in table
    assert rows[0]["state"] == "disabled" and rows[0]["plan"] == "plus" and rows[0]["quota_remaining_percent"] is None


def test_enable_label_order_remove(env, tmp_path, capsys) -> None:
    for n in (1, 2):
        write_auth(tmp_path / f"{n}.json", account=f"acct-{n}", user=f"user-{n}")
        main(["accounts", "import", str(tmp_path / f"{n}.json"), "--label", f"acc{n}"])
    one, two = _id(account="acct-1", user="user-1"), _id(account="acct-2", user="user-2")
    assert main(["accounts", "label", one, "renamed"]) == 0
    assert main(["accounts", "order", "acc2", "renamed"]) == 0
    pool = _store(env).load()
    assert (pool.get(one).label, pool.get(one).order, pool.get(two).order) == ("renamed", 1, 0)
    assert main(["accounts", "order"]) == 0
    assert _store(env).load().get(two).order is None
    assert main(["accounts", "disable", one]) == 0 and main(["accounts", "enable", one]) == 0
    assert _store(env).load().get(one).enabled is True
    assert main(["accounts", "remove", "acc2"]) == 0
    assert _store(env).load().get(two) is None and not (env["fsm"] / "homes" / two).exists()
    capsys.readouterr()
    assert main(["accounts", "enable", "nobody"]) == 2
    assert "no account 'nobody'" in capsys.readouterr().err


def test_commands_on_a_corrupt_pool_fail_and_leave_it_alone(env, tmp_path, capsys) -> None:
    (env["fsm"]).mkdir()
    (env["fsm"] / "pool.json").write_text('{"version": 1, "accounts": [')
    write_auth(tmp_path / "a.json")
    assert main(["accounts", "import", str(tmp_path / "a.json")]) == 1
    assert main(["accounts", "list"]) == 1
    assert "pool.json cannot be used" in capsys.readouterr().err
    assert (env["fsm"] / "pool.json").read_text() == '{"version": 1, "accounts": ['


def test_unreadable_auth_file_is_reported_not_skipped(env, tmp_path, capsys, monkeypatch) -> None:
    """Regression: EACCES is an error of its own, never treated as 'not there'."""
    source = write_auth(tmp_path / "a.json")
    real_open = os.open

    def denied(path, *args, **kwargs):
        if str(path) == str(source):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, "open", denied)
    assert main(["accounts", "import", str(source)]) == 1
    assert f"cannot read {source}: Permission denied" in capsys.readouterr().err


def test_orphan_home_is_adopted_in_place_and_never_deleted(env, tmp_path, capsys) -> None:
    account = _id()
    orphan = write_auth(env["fsm"] / "homes" / account / "auth.json")
    assert main(["accounts", "import", str(orphan), "--move"]) == 0
    assert orphan.exists()
    assert "warning" not in capsys.readouterr().err
    assert _store(env).load().get(account) is not None


def _imported(env, tmp_path, n: int = 1, label: str | None = None) -> str:
    write_auth(tmp_path / f"in{n}.json", account=f"acct-{n}", user=f"user-{n}")
    assert main(["accounts", "import", str(tmp_path / f"in{n}.json"), *(["--label", label] if label else [])]) == 0
    return _id(account=f"acct-{n}", user=f"user-{n}")


@pytest.mark.parametrize("chain", [1, 3])
def test_import_move_of_a_symlink_is_refused_and_changes_nothing(env, tmp_path, capsys, chain: int) -> None:
    """Regression: --move removed only the link, the target kept the token, and the output claimed
    the pool held the only copy."""
    dotfiles = write_auth(tmp_path / "dotfiles" / "auth.json")
    link = env["real"] / "auth.json"
    previous = dotfiles
    for n in range(chain - 1):
        hop = tmp_path / f"hop{n}"
        hop.symlink_to(previous)
        previous = hop
    link.symlink_to(previous)
    assert main(["accounts", "import", "--move"]) == 2
    err = capsys.readouterr().err
    assert f"is a symbolic link to {dotfiles}" in err and "Nothing was imported" in err
    assert link.is_symlink() and dotfiles.read_bytes() == auth_bytes()
    assert _store(env).load().accounts == []
    assert not (env["fsm"] / "homes").exists() or not list((env["fsm"] / "homes").iterdir())


def test_import_move_of_a_file_with_more_hard_links_is_refused(env, tmp_path, capsys) -> None:
    original = write_auth(env["real"] / "auth.json")
    os.link(original, tmp_path / "second-name.json")
    assert main(["accounts", "import", "--move"]) == 2
    assert "has 2 hard links" in capsys.readouterr().err
    assert original.exists() and _store(env).load().accounts == []


def test_import_move_from_an_unwritable_folder_is_refused_before_importing(env, monkeypatch, capsys) -> None:
    original = write_auth(env["real"] / "auth.json")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(env["real"])
                        else real_access(path, mode))
    assert main(["accounts", "import", "--move"]) == 2
    assert "is not writable" in capsys.readouterr().err
    assert original.exists() and _store(env).load().accounts == []


def test_import_move_of_a_link_to_the_pools_own_copy_removes_only_the_link(env, tmp_path, capsys) -> None:
    account = _imported(env, tmp_path)
    pooled = env["fsm"] / "homes" / account / "auth.json"
    link = env["real"] / "auth.json"
    link.symlink_to(pooled)
    capsys.readouterr()
    assert main(["accounts", "import", "--move"]) == 0
    assert "the pool now holds the only copy" in capsys.readouterr().out
    assert not os.path.lexists(link)
    assert json.loads(pooled.read_bytes()) == json.loads(auth_bytes(account="acct-1", user="user-1"))


def test_remove_of_an_unremovable_home_keeps_the_pool_entry(env, tmp_path, capsys) -> None:
    """Regression: the entry was dropped first, then the home's removal failed: orphaned credentials."""
    account = _imported(env, tmp_path)
    home = env["fsm"] / "homes" / account
    moved = tmp_path / "moved-home"
    home.rename(moved)
    home.symlink_to(moved)
    assert main(["accounts", "remove", account]) == 1
    assert "is a symbolic link" in capsys.readouterr().err
    assert _store(env).load().get(account) is not None
    assert (moved / "auth.json").exists()


def test_remove_moves_private_codex_data_back_and_says_so(env, tmp_path, capsys) -> None:
    """Regression: remove deleted a history.jsonl Codex had created inside the account home."""
    account = _imported(env, tmp_path)
    home = env["fsm"] / "homes" / account
    (home / "history.jsonl").unlink()
    (home / "history.jsonl").write_text("only copy\n")
    capsys.readouterr()
    assert main(["accounts", "remove", account]) == 0
    out = capsys.readouterr().out
    assert "Moved into" in out and "history.jsonl" in out
    assert (env["real"] / "history.jsonl").read_text() == "only copy\n"
    assert _store(env).load().get(account) is None and not home.exists()


def test_remove_force_overrides_a_lease_from_another_host_with_a_warning(env, tmp_path, capsys) -> None:
    """Regression: a lease from another host with a far-future expiry blocked remove forever."""
    account = _imported(env, tmp_path)

    def lease(pool) -> None:
        pool.get(account).lease = Lease(4242, "1", "other-host", 200_000_000_000.0, 1, "session")
        pool.get(account).generation = 1
    _store(env).mutate(lease)
    capsys.readouterr()
    assert main(["accounts", "remove", account]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["accounts", "remove", "--force", account]) == 0
    err = capsys.readouterr().err
    assert "process 4242 on other-host" in err
    assert _store(env).load().get(account) is None


def test_a_label_two_accounts_share_is_ambiguous_and_names_them(env, tmp_path, capsys) -> None:
    """Regression: two accounts with one label gave "no account 'x'"."""
    one = _imported(env, tmp_path, 1, label="work")
    two = _imported(env, tmp_path, 2, label="work")
    capsys.readouterr()
    assert main(["accounts", "disable", "work"]) == 2
    err = capsys.readouterr().err
    assert "ambiguous" in err and one in err and two in err


def test_labels_with_control_characters_are_refused(env, tmp_path, capsys) -> None:
    account = _imported(env, tmp_path)
    assert main(["accounts", "label", account, "x\r\nfake row"]) == 2
    assert "control or format characters" in capsys.readouterr().err


def test_list_table_cannot_be_forged_by_a_label_a_plan_or_an_email(env, tmp_path, capsys) -> None:
    """Regression: labels and claims were printed raw: a \\r\\n in a label painted a fake table row."""
    write_auth(tmp_path / "a.json", plan="plus\x1b]0;t\x07", email="\x1b[2Jx@exa\nmple.invalid")
    assert main(["accounts", "import", str(tmp_path / "a.json")]) == 0
    account = _id(plan="plus\x1b]0;t\x07", email="\x1b[2Jx@exa\nmple.invalid")
    _store(env).mutate(lambda pool: setattr(pool.get(account), "label", "ok\r\na-fake  FAKE ROW"))
    capsys.readouterr()
    assert main(["accounts", "list"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 2
    assert "\x1b" not in out and "\r" not in out


def test_list_shows_a_cooldown_at_the_latest_storable_time(env, tmp_path, capsys) -> None:
    """Regression: a huge cooldown made `accounts list` raise OverflowError."""
    account = _imported(env, tmp_path)
    _store(env).mutate(lambda pool: setattr(pool.get(account), "cooldown",
                                            Cooldown(MAX_TIMESTAMP, "usage_limit", 1.0)))
    capsys.readouterr()
    assert main(["accounts", "list"]) == 0
    assert "until" in capsys.readouterr().out


def test_the_configured_lock_timeout_is_used_by_management_commands(env, tmp_path, capsys, monkeypatch) -> None:
    """Regression: CODEX_FSM_POOL_LOCK_TIMEOUT_S was ignored: the commands always waited 10 s."""
    account = _imported(env, tmp_path)
    monkeypatch.setenv("CODEX_FSM_POOL_LOCK_TIMEOUT_S", "0.2")
    fd = os.open(env["fsm"] / "pool.json.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["accounts", "disable", account]) == 1
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert "timed out after 0.2 s" in capsys.readouterr().err
