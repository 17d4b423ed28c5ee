"""Rotation end to end under a pty: prewarm, turn boundary, stop ladder, resume on the successor."""

from __future__ import annotations

import json
import re
import signal

import pexpect

from .fakes.rig import FAST_SETTINGS, quit_codex, submit, wait_for
from supervisor.adapters.codex_args import NO_DAEMON_ARGS
from supervisor.adapters.launcher import CONTINUATION_PROMPT


def _session_ids(rig) -> list[str]:
    return [r["event"]["session_id"] for r in rig.transitions() if r.get("trigger") == "session_bound"]


def test_quota_pressure_rotates_at_turn_boundary_and_retypes_the_draft(rig):
    rig.touch("quota-acct-a", "91 5")  # past the prewarm floor (remaining 9 % <= 10 %)
    child = rig.start("-m", "gpt-test", "first prompt")
    child.expect("Ask Codex")
    submit(child, "one")
    child.expect("ANSWER to one on acct-a")
    wait_for(lambda: {"call": "lease", "account": "acct-b", "purpose": "successor"} in rig.pool_calls(),
             what="successor leased while the child runs")
    rig.touch("quota-acct-a", "97 5")  # at the rotate floor after the next turn
    submit(child, "two")
    child.expect("ANSWER to two on acct-a")
    child.send("half typed")  # a draft, not submitted; the user then goes idle
    child.expect(r"resumed ([0-9a-f-]{36}) on acct-b")
    resumed_id = child.match.group(1).decode()
    child.expect("Ask Codex")
    resumed_composer = rig.control / f"composer-{rig.spawns()[1]['pid']}"
    wait_for(lambda: resumed_composer.exists() and resumed_composer.read_text() == "half typed",
             what="draft retyped into the resumed composer")
    child.send("\x15")  # clear the composer, then a turn on the new account
    submit(child, "three")
    child.expect("ANSWER to three on acct-b")
    quit_codex(child)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    first, second = rig.spawns()
    assert first["account"] == "acct-a" and second["account"] == "acct-b"
    # Codex's own clean exit: one Ctrl-C cleared the draft, the next quit, no third raced the shutdown.
    exits = [r["event"] for r in rig.transitions() if r.get("trigger") == "child_exited"]
    assert (exits[0]["code"], exits[0]["signal"]) == (0, None)
    assert [c["step"] for r in rig.transitions() for c in r.get("commands", []) if c["type"] == "StopChild"] \
        == ["interrupt"]
    assert second["argv"] == [*NO_DAEMON_ARGS, "-m", "gpt-test", "resume", resumed_id]
    assert set(_session_ids(rig)) == {resumed_id}
    [rollout] = rig.rollouts()  # resume appended to the same file
    prompts = [json.loads(line)["payload"]["content"][0]["text"] for line in rollout.read_text().splitlines()
               if '"role": "user"' in line]
    assert prompts == ["one", "two", "three"]
    fired = rig.fired()
    assert "prewarming-turn_finished->prewarming" in fired or "prewarming-tick->restarting" in fired
    assert "restarting-child_exited->resuming" in fired
    calls = rig.pool_calls()
    assert {"call": "cool_down", "account": "acct-a", "reason": "quota"} in calls
    assert not rig.rejected()
    assert rig.replays()


def test_usage_limit_resumes_on_next_account_and_resubmits_the_prompt(rig):
    rig.touch("limit-acct-a")
    child = rig.start()
    child.expect("Ask Codex")
    submit(child, "do the thing")
    child.expect("hit your usage limit")
    child.expect("resumed .* on acct-b")
    child.expect(f"ANSWER to {re.escape(CONTINUATION_PROMPT)} on acct-b")
    quit_codex(child)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    # The resumed thread already holds "do the thing": only a short continuation is typed, once.
    assert [(p["prompt"], p["account"]) for p in rig.prompts()] == [
        ("do the thing", "acct-a"), (CONTINUATION_PROMPT, "acct-b")]
    fired = rig.fired()
    assert "prewarming-usage_limit_hit->restarting" in fired
    assert "resuming-child_ready->running[not headless]" in fired
    assert {"call": "cool_down", "account": "acct-a", "reason": "usage_limit"} in rig.pool_calls()
    assert rig.replays()


def test_crash_of_the_child_resumes_the_same_session(rig):
    rig.touch("crash-after-turn")
    child = rig.start()
    child.expect("Ask Codex")
    submit(child, "boom")
    child.expect(r"resumed ([0-9a-f-]{36}) on acct-a")
    resumed = child.match.group(1).decode()
    child.expect("Ask Codex")
    quit_codex(child)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert rig.spawns()[1]["argv"][-2:] == ["resume", resumed]
    assert any(r.startswith("running-child_exited->resuming") for r in rig.fired())


def test_no_account_left_tells_how_to_resume_by_hand_and_when(rig):
    rig.touch("limit-acct-a")
    rig.touch("probe-acct-b", "99 5")
    child = rig.start(settings={**FAST_SETTINGS, "max_pool_wait_s": 60})
    child.expect("Ask Codex")
    submit(child, "x")
    child.expect(r"codex resume ([0-9a-f-]{36})")
    session_id = child.match.group(1).decode()
    child.expect(r"no account can continue .*the soonest reset is .*resume by hand with `codex resume ([0-9a-f-]{36})`")
    assert child.match.group(1).decode() == session_id
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 75  # EX_TEMPFAIL: no account now, try again later
    assert "acquiring-pool_exhausted->exited" in rig.fired()


def test_sigterm_while_waiting_for_a_reset_exits_143(rig):
    rig.touch("limit-acct-a")
    rig.touch("probe-acct-b", "99 5")
    child = rig.start()
    child.expect("Ask Codex")
    submit(child, "x")
    child.expect("waiting .* for the soonest reset")
    child.kill(signal.SIGTERM)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 143
    assert rig.fired()[-1] == "acquiring-interrupted->exited"
    assert rig.pool_calls()[-1] == {"call": "close", "leased": []}


def test_lost_lease_moves_the_session_at_the_next_turn_boundary(rig):
    child = rig.start(heartbeat_s=0.05)
    child.expect("Ask Codex")
    rig.touch("hold-turns")
    submit(child, "long job")
    wait_for(lambda: any(r.get("trigger") == "turn_started" for r in rig.transitions()), what="turn started")
    rig.touch("lose-lease-acct-a")
    wait_for(lambda: "running-lease_lost->prewarming" in rig.fired(), what="lease lost")
    assert len(rig.spawns()) == 1  # the running turn is not interrupted
    rig.touch("release-turn")
    child.expect("ANSWER to long job on acct-a")
    child.expect(r"resumed [0-9a-f-]{36} on acct-b")
    quit_codex(child)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    fired = rig.fired()
    # At the turn's end, or once the user has been idle long enough after it: never during the turn.
    assert {"prewarming-turn_finished->restarting", "prewarming-tick->restarting"} & set(fired)
    assert fired.index("prewarming-turn_finished->prewarming" if "prewarming-tick->restarting" in fired
                       else "prewarming-turn_finished->restarting") > fired.index("running-lease_lost->prewarming")
