"""Signals to the supervisor and the stop ladder, under a real pty."""

from __future__ import annotations

import signal
import subprocess
import sys

import pexpect

from .fakes.rig import HARNESS, submit, wait_for


def test_sigterm_stops_codex_gracefully_and_exits_143(rig):
    child = rig.start()
    child.expect("Ask Codex")
    submit(child, "hi")
    child.expect("ANSWER to hi")
    child.kill(signal.SIGTERM)
    child.expect(r"codex resume [0-9a-f-]{36}")  # Codex's own clean exit ran
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 143
    fired = rig.fired()
    assert "running-interrupted->restarting" in fired
    assert fired[-1] == "restarting-child_exited->exited[quit_requested]"


def test_sighup_is_a_graceful_stop_too(rig):
    child = rig.start()
    child.expect("Ask Codex")
    child.kill(signal.SIGHUP)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 128 + signal.SIGHUP


def test_stop_ladder_escalates_to_sigkill_when_codex_ignores_ctrl_c_and_sigterm(rig):
    rig.touch("hang-on-sigint")
    rig.touch("ignore-sigterm")
    child = rig.start(settings={"stop_interrupt_s": 0.3, "stop_terminate_s": 0.3, "stop_kill_s": 2.0})
    child.expect("Ask Codex")
    codex_pid = wait_for(lambda: rig.spawns() and rig.spawns()[0]["pid"], what="fake codex pid")
    child.kill(signal.SIGTERM)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 143
    steps = [c["step"] for r in rig.transitions() for c in r.get("commands", []) if c["type"] == "StopChild"]
    assert steps == ["interrupt", "terminate", "kill"]
    exited = [r["event"] for r in rig.transitions() if r.get("trigger") == "child_exited"]
    assert exited == [{"type": "child_exited", "at": exited[0]["at"], "code": None, "signal": 9}]
    assert subprocess.run(["kill", "-0", str(codex_pid)], capture_output=True).returncode != 0
    assert rig.replays()


def test_child_killed_by_a_signal_without_session_gives_128_plus_n(rig):
    child = rig.start()
    child.expect("Ask Codex")
    pid = wait_for(lambda: rig.spawns() and rig.spawns()[0]["pid"], what="fake codex pid")
    wait_for(lambda: any(r.get("trigger") == "session_bound" for r in rig.transitions()), what="binding")
    subprocess.run(["kill", "-TERM", str(pid)], check=True)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 128 + signal.SIGTERM


def test_stdin_not_a_terminal_is_a_clear_error(rig, tmp_path):
    scenario = tmp_path / "scenario.json"
    scenario.write_text('{"work": "%s", "accounts": ["acct-a"]}' % rig.root)
    result = subprocess.run([sys.executable, str(HARNESS), str(scenario)], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, env=rig.env(), cwd=rig.cwd, timeout=30)
    assert result.returncode == 1
    assert "stdin (fd 0) is not a terminal" in result.stderr
    assert not rig.spawns()
