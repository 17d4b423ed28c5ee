"""`codex-fsm` itself (console script) on a real pool of fake logins, around the fake Codex: supervised
launch with a fresh stored snapshot (no probe), `codex-fsm status --json` while it runs, the
transition log in the logs folder, and forwarding of non-interactive commands."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pexpect

from supervisor.core.quota import QuotaSnapshot, QuotaWindow
from supervisor.pool.locations import pool_store
from tests.pool.fakes import write_auth

from .fakes.rig import quit_codex, submit
from supervisor.adapters.codex_args import NO_DAEMON_ARGS

CODEX_FSM = Path(sys.executable).parent / "codex-fsm"


def _world(rig) -> dict[str, str]:
    env = rig.env()
    env.update(CODEX_FSM_HOME=str(rig.root / "fsm"), CODEX_HOME=str(rig.root / "user-codex"),
               CODEX_FSM_CONFIG=str(rig.root / "config.toml"))
    (rig.root / "config.toml").write_text("")
    for n in (1, 2):
        auth = write_auth(rig.root / f"login{n}" / "auth.json", account=f"acct-fake-000{n}",
                          user=f"user-fake-000{n}", email=f"user{n}@example.invalid")
        subprocess.run([str(CODEX_FSM), "accounts", "import", str(auth)], env=env, check=True,
                       capture_output=True, timeout=60)
    now = time.time()
    fresh = QuotaSnapshot(windows=(QuotaWindow(20.0, 300, now + 3600), QuotaWindow(5.0, 10080, now + 86400)),
                          observed_at=now)

    def seed(pool) -> None:
        for record in pool.accounts:
            record.quota = fresh

    pool_store(env).mutate(seed)
    return env


def test_codex_fsm_supervises_shows_status_and_logs(rig):
    env = _world(rig)
    child = pexpect.spawn(str(CODEX_FSM), ["-m", "gpt-test"], env=env, cwd=str(rig.cwd),
                          dimensions=(40, 120), timeout=20)
    child.expect("Ask Codex")
    submit(child, "hello")
    child.expect("ANSWER to hello")
    status = json.loads(subprocess.run([str(CODEX_FSM), "status", "--json"], env=env, capture_output=True,
                                       text=True, timeout=60, check=True).stdout)
    [session] = status["sessions"]
    assert session["pid"] == child.pid and session["state"] == "running"
    assert any(a["state"].startswith(f"in use by pid {child.pid} on ") for a in status["accounts"])
    shown = json.dumps(status)
    assert "u***@example.invalid" in shown  # accounts appear as masked emails ...
    assert not any(f"user{n}@example.invalid" in shown for n in (1, 2))  # ... never as the full ones
    quit_codex(child)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    [log] = list((rig.root / "fsm" / "logs").glob("session-*.jsonl"))
    rows = [json.loads(line).get("row") for line in log.read_text().splitlines()]
    assert "probing-quota_probed->running" in rows
    text = log.read_text()
    assert "example.invalid" not in text and "hello" not in text  # no emails, no keystrokes
    assert not list((rig.root / "fsm" / "run").glob("*.json"))
    [spawn] = rig.spawns()
    assert spawn["account"] in {a["id"] for a in status["accounts"]}


def _run(env, rig, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CODEX_FSM), *args], env=env, cwd=rig.cwd, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_non_interactive_commands_are_forwarded_as_is_with_their_status(rig):
    env = _world(rig)
    rig.touch("exit-code", "7")
    result = _run(env, rig, "mcp", "list")
    assert (result.returncode, result.stdout) == (7, "fake codex mcp on user-codex\n")  # the user's own home
    [spawn] = rig.spawns()
    assert spawn["argv"] == [*NO_DAEMON_ARGS, "mcp", "list"]
    assert "CODEX_FSM_HOME" not in spawn["env"] and "CODEX_FSM_CONFIG" not in spawn["env"]


def test_exec_runs_on_a_leased_pool_account_and_releases_it(rig):
    env = _world(rig)
    result = _run(env, rig, "-m", "o3", "exec", "do it")
    assert result.returncode == 0, result.stderr
    [spawn] = rig.spawns()
    status = json.loads(_run(env, rig, "status", "--json").stdout)
    assert spawn["account"] in {a["id"] for a in status["accounts"]}  # that account's private home
    assert all(a["state"] == "available" for a in status["accounts"])  # the lease was given back


def test_interactive_without_a_terminal_is_a_clear_error(rig):
    env = _world(rig)
    result = _run(env, rig, "-m", "o3")
    assert result.returncode == 1
    assert "stdin is not a terminal" in result.stderr
    assert not rig.spawns()
