"""`codex-fsm doctor`: pool file, lock, leases and account homes."""

from __future__ import annotations

from supervisor.cli import main
from supervisor.cli_commands import doctor
from supervisor.pool.locations import account_homes
from supervisor.pool.model import Lease
from supervisor.pool.store import PoolStore

from tests.pool.conftest import add_account


def test_healthy_pool(env, store, homes, capsys, tmp_path, monkeypatch) -> None:
    codex = tmp_path / "codex-bin"  # a healthy setup has a Codex binary; doctor checks it too
    codex.write_text('#!/bin/sh\necho "codex-cli 0.169.0"\n')
    codex.chmod(0o755)
    monkeypatch.setenv("CODEX_FSM_CODEX_BIN", str(codex))
    account = add_account(store, homes, 1)
    homes.sync(account)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "OK      pool file" in out and f"OK      account {account}" in out


def test_corrupt_pool_points_at_a_valid_backup(env, store, homes, capsys) -> None:
    add_account(store, homes, 1)
    add_account(store, homes, 2)
    store.path.write_text("{garbage")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "ERROR   pool file" in out
    assert f"fix: the backup {store.backup_path} is valid (1 account(s))" in out
    assert f"restore it with `cp {store.backup_path} {store.path}`" in out
    assert store.path.read_text() == "{garbage"


def test_corrupt_pool_and_backup_say_to_reimport(env, store, homes, capsys) -> None:
    add_account(store, homes, 1)
    store.path.write_text("{garbage")
    store.backup_path.write_text("also garbage")
    assert main(["doctor"]) == 1
    assert "no usable backup" in capsys.readouterr().out


def test_stale_leases_and_broken_homes_and_orphans_are_reported(env, store, homes, capsys) -> None:
    dead = add_account(store, homes, 1)
    broken = add_account(store, homes, 2)
    homes.sync(dead)
    store.mutate(lambda pool: setattr(pool.get(dead), "lease", Lease(2_000_000_000, "1", "vm-x", 0.0, 1, "session")))
    homes.auth_path(broken).write_text('{"tokens": {}}')
    homes.write_auth("a-00000000aa", b"{}")
    assert main(["doctor", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert f"WARNING account {dead}: stale lease: it expired" in out
    assert f"ERROR   account {broken}" in out and "tokens.id_token is missing" in out
    assert "WARNING home a-00000000aa: holds credentials that no pool entry names" in out
    assert "OK" not in out


def test_garbage_lock_file_is_fine(env, store, homes, capsys) -> None:
    add_account(store, homes, 1)
    store.lock_path.write_bytes(b"\x00\x01garbage")
    ctx = doctor.DoctorContext(store=store, homes=homes, now=0.0)
    assert doctor.check_pool_lock(ctx)[0].severity == "ok"


def test_checks_are_an_extensible_list(env, store, homes) -> None:
    def extra(ctx: doctor.DoctorContext) -> list[doctor.Finding]:
        return [doctor.Finding("warning", "extra", f"saw {len(ctx.pool.accounts)} account(s)")]
    ctx = doctor.DoctorContext(store=PoolStore(store.path), homes=homes, now=0.0)
    findings = doctor.run_checks(ctx, doctor.CHECKS + [extra])
    assert findings[-1] == doctor.Finding("warning", "extra", "saw 0 account(s)")


def test_keyring_credential_store_is_an_error(env, store, homes) -> None:
    ctx = doctor.DoctorContext(store=store, homes=homes, now=0.0)
    assert doctor.check_codex_config(ctx)[0].severity == "warning"
    (homes.real_home / "config.toml").write_text('model = "x"\ncli_auth_credentials_store = "keyring"\n')
    finding = doctor.check_codex_config(ctx)[0]
    assert finding.severity == "error" and 'cli_auth_credentials_store = "file"' in finding.fix
    (homes.real_home / "config.toml").write_text('cli_auth_credentials_store = "file" # pooled\n')
    assert doctor.check_codex_config(ctx)[0].severity == "ok"


def test_a_failing_check_is_reported_and_the_others_still_run(env, store, homes) -> None:
    def unreadable(ctx: doctor.DoctorContext) -> list[doctor.Finding]:
        raise PermissionError(13, "Permission denied", str(homes.root))
    ctx = doctor.DoctorContext(store=store, homes=homes, now=0.0)
    findings = doctor.run_checks(ctx, [unreadable, doctor.check_pool_file])
    assert findings[0].severity == "error" and "Permission denied" in findings[0].message
    assert findings[1].subject == "pool file"


def test_a_fresh_install_has_no_pool_lock_yet_and_that_is_fine(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CODEX_FSM_HOME", str(tmp_path / "never-created"))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    main(["doctor"])
    out = capsys.readouterr().out
    assert "will be created with the pool" in out
    assert "ERROR   pool lock" not in out
    assert not (tmp_path / "never-created").exists()  # doctor only looks


HOSTILE_NAMES = ["\x1b]0;owned\x07", "\x1b]52;c;ZWNobyBwd25lZA==\x07", "\x1b[2J\x1b[H", "x\r\nOK      pool file: fine"]


def test_hostile_file_names_reach_the_terminal_as_visible_escapes(env, store, homes, capsys) -> None:
    add_account(store, homes, 1)
    for index, name in enumerate(HOSTILE_NAMES):
        homes.write_auth(f"orphan{index}{name}", b"{}")  # an orphan home's folder name is printed
    main(["doctor"])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "home orphan0\\x1b]0;owned\\x07: holds credentials" in out
    assert not any(line.startswith("OK      pool file: fine") for line in out.splitlines())


def test_recovery_commands_are_quoted_for_the_shell(tmp_path, monkeypatch, capsys) -> None:
    fsm = tmp_path / "my codex-fsm"
    monkeypatch.setenv("CODEX_FSM_HOME", str(fsm))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    store = PoolStore(fsm / "pool.json")
    homes = account_homes()
    add_account(store, homes, 1)
    add_account(store, homes, 2)
    homes.write_auth("a-00000000aa", b"{}")
    store.path.write_text("{garbage")
    main(["doctor"])
    out = capsys.readouterr().out
    assert f"`cp '{store.backup_path}' '{store.path}'`" in out
    store.path.unlink()
    store.backup_path.unlink()
    add_account(store, homes, 3)
    main(["doctor"])
    out = capsys.readouterr().out
    assert f"`codex-fsm accounts import '{homes.auth_path('a-00000000aa')}'`" in out


def test_a_check_that_breaks_unexpectedly_is_reported_and_the_others_still_run(env, store, homes) -> None:
    def buggy(ctx: doctor.DoctorContext) -> list[doctor.Finding]:
        raise RecursionError("maximum recursion depth exceeded")
    ctx = doctor.DoctorContext(store=store, homes=homes, now=0.0)
    findings = doctor.run_checks(ctx, [buggy, doctor.check_pool_file])
    assert findings[0] == doctor.Finding("error", "buggy", "could not be checked: RecursionError: maximum "
                                         "recursion depth exceeded")
    assert findings[1].subject == "pool file"
