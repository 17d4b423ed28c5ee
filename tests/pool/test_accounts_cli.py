"""`codex-fsm accounts ...` end to end through the dispatcher, on temp homes."""

from __future__ import annotations

import json
import os

import pytest

from supervisor.cli import main
from supervisor.pool.auth import account_id_for, parse_auth
from supervisor.pool.leases import current_process
from supervisor.pool.model import Lease
from supervisor.pool.store import PoolStore

from .fakes import auth_bytes, write_auth


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
    """Regression (reference §9 item 2): EACCES is an error of its own, never treated as 'not there'."""
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
