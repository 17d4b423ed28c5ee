"""`codex-fsm exec` under the chart, around the fake Codex's `exec` (the real Codex's are in tests/e2e):
the run continues on the next account with `codex exec resume` after a usage limit, stdout carries only
Codex's output, notices go to stderr, the exit status is the last run's (75 when no account is left,
130 after Ctrl-C), and the run's transition log replays."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from supervisor.adapters.launcher import CONTINUATION_PROMPT
from supervisor.chartfile import load_default_chart
from supervisor.pool.locations import pool_store
from supervisor.replay import replay_file

from .fakes.rig import read_jsonl, wait_for
from .test_wrapper_real_pool import CODEX_FSM, _world


def _accounts(env) -> list[tuple[str, str]]:
    """(id, label) of the pool's accounts, in the order the pool ranks equal ones."""
    return [(record.id, record.label) for record in pool_store(env).load().accounts]


def _exec(env, rig, *args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CODEX_FSM), *args], env=env, cwd=rig.cwd, input=stdin if stdin is not None else "",
                          capture_output=True, text=True, timeout=timeout)


def _only_the_first_account_left_and_it_at_its_limit(rig, env) -> str:
    """A pool where the account a run starts on hits its limit and no other is enabled."""
    first = _first_account(rig, env)
    other = next(i for i, _ in _accounts(env) if i != first)
    assert _exec(env, rig, "accounts", "disable", other).returncode == 0
    rig.touch(f"limit-{first}")
    return other


def _first_account(rig, env) -> str:
    """Which account a run starts on: learnt from a plain run first (the pool ranks, not the test)."""
    assert _exec(env, rig, "exec", "warm-up").returncode == 0
    return rig.spawns()[-1]["account"]


def rig_home(env) -> Path:
    return Path(env["CODEX_FSM_HOME"])


def test_a_usage_limit_continues_the_run_on_the_next_account_and_stdout_holds_only_the_last_answer(rig):
    env = _world(rig)
    first = _first_account(rig, env)
    (second, second_label), = [(i, label) for i, label in _accounts(env) if i != first]
    first_label = dict(_accounts(env))[first]
    rig.touch(f"limit-{first}")
    result = _exec(env, rig, "exec", "--skip-git-repo-check", "-m", "gpt-test", "do the thing")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ANSWER to {CONTINUATION_PROMPT} on {second}\n"  # Codex's output only, the last run's
    moved = [line for line in result.stderr.splitlines() if line.startswith("codex-fsm: ")]
    assert len(moved) == 1 and moved[0].startswith(
        f"codex-fsm: exec moved from {first_label} to {second_label}: usage limit reached (resets "), result.stderr
    assert "(5h 100% used" in moved[0]  # the figures of the account left, not of the one moved to
    runs = read_jsonl(rig.control / "exec-log.jsonl")[-2:]
    assert [(r["account"], r["prompt"]) for r in runs] == [(first, "do the thing"), (second, CONTINUATION_PROMPT)]
    spawns = rig.spawns()[-2:]
    session_id = runs[1]["resume_id"]
    assert spawns[1]["argv"][-4:] == ["resume", "--", session_id, CONTINUATION_PROMPT]
    assert "--skip-git-repo-check" in spawns[1]["argv"] and "gpt-test" in spawns[1]["argv"]
    assert "do the thing" not in spawns[1]["argv"]  # the model sees the user's task once
    # One thread, one file: the continuation appended to the first run's rollout in the shared sessions.
    assert len(list((rig.root / "user-codex" / "sessions").rglob(f"rollout-*-{session_id}.jsonl"))) == 1
    assert all(record.lease is None for record in pool_store(env).load().accounts)  # both given back


def test_the_continuation_reads_no_stdin_and_exec_dash_takes_the_prompt_from_stdin(rig):
    env = _world(rig)
    first = _first_account(rig, env)
    rig.touch(f"limit-{first}")
    result = _exec(env, rig, "exec", "-", stdin="the task from stdin\n")
    assert result.returncode == 0, result.stderr
    runs = read_jsonl(rig.control / "exec-log.jsonl")[-2:]
    assert runs[0]["prompt"] == "the task from stdin"
    assert (runs[1]["prompt"], runs[1]["stdin"]) == (CONTINUATION_PROMPT, "")
    assert not runs[0]["stdout_tty"] and not runs[0]["stdin_tty"]  # the user's own pipes, no pty between


def test_json_events_stay_one_stream_with_one_thread_and_o_holds_the_last_message(rig):
    env = _world(rig)
    first = _first_account(rig, env)
    rig.touch(f"limit-{first}")
    last = rig.root / "last.txt"
    result = _exec(env, rig, "exec", "--json", "-o", str(last), "do it")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    threads = [e["thread_id"] for e in events if e["type"] == "thread.started"]
    assert len(threads) == 2 and len(set(threads)) == 1  # the rotation adds a second thread.started, same id
    assert [e["type"] for e in events].count("turn.failed") == 1
    assert events[-1]["type"] == "turn.completed"
    assert last.read_text().startswith(f"ANSWER to {CONTINUATION_PROMPT}")


def test_a_pool_with_no_account_left_exits_75_with_the_reason_on_stderr(rig):
    env = _world(rig)
    _only_the_first_account_left_and_it_at_its_limit(rig, env)
    env = {**env, "CODEX_FSM_SESSION_MAX_POOL_WAIT_S": "5"}
    result = _exec(env, rig, "exec", "do it")
    assert result.returncode == 75, result.stderr
    assert result.stdout == ""
    assert "codex-fsm: no account can continue" in result.stderr
    assert "codex exec resume" in result.stderr  # how to go on by hand later


def test_ctrl_c_reaches_the_run_and_codex_fsm_exits_130_with_no_child_left_and_the_lease_released(rig):
    env = _world(rig)
    rig.touch("exec-delay", "60")
    # A terminal's Ctrl-C signals the foreground process group: codex-fsm and the Codex it runs.
    process = subprocess.Popen([str(CODEX_FSM), "exec", "long task"], env=env, cwd=rig.cwd,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        wait_for(lambda: len(read_jsonl(rig.control / "exec-log.jsonl")) == 1, timeout=30, what="the run to start")
        child_pid = rig.spawns()[-1]["pid"]
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=30) == 130
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    try:
        os.kill(child_pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
    assert all(record.lease is None for record in pool_store(env).load().accounts)


def test_a_sigterm_to_codex_fsm_alone_stops_the_run_by_the_ladder(rig):
    env = _world(rig)
    rig.touch("exec-delay", "60")
    process = subprocess.Popen([str(CODEX_FSM), "exec", "long task"], env=env, cwd=rig.cwd,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: len(read_jsonl(rig.control / "exec-log.jsonl")) == 1, timeout=30, what="the run to start")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 143
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert all(record.lease is None for record in pool_store(env).load().accounts)


def test_the_run_leaves_a_transition_log_that_replays(rig):
    env = _world(rig)
    first = _first_account(rig, env)
    rig.touch(f"limit-{first}")
    assert _exec(env, rig, "exec", "do it").returncode == 0
    logs = sorted((rig_home(env) / "logs").glob("*.jsonl"))
    result = replay_file(logs[-1], load_default_chart())
    assert result.final_state == "exited" and result.exit_status == 0
    fired = [row for _, _, row in result.fired]
    assert "resuming-child_ready->running[headless]" in fired
    started = read_jsonl(logs[-1])[1]
    assert started["event"]["type"] == "session_started" and started["event"]["headless"] is True


def test_resuming_a_thread_that_once_hit_its_limit_does_not_rotate_for_that_old_limit(rig):
    env = _world(rig)
    other = _only_the_first_account_left_and_it_at_its_limit(rig, env)
    ended = _exec({**env, "CODEX_FSM_SESSION_MAX_POOL_WAIT_S": "0"}, rig, "exec", "first request")
    assert ended.returncode == 75, ended.stderr  # the thread's rollout now ends with that usage limit
    session_id = rig.prompts()[-1]["session"]
    assert _exec(env, rig, "accounts", "enable", other).returncode == 0
    result = _exec(env, rig, "exec", "resume", session_id, "next request")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ANSWER to next request on {other}\n"
    assert "codex-fsm:" not in result.stderr
    logs = sorted((rig_home(env) / "logs").glob("*.jsonl"))
    assert not any(r.get("trigger") == "usage_limit_hit" for r in read_jsonl(logs[-1]))


def test_a_resumed_thread_whose_run_hits_the_limit_at_once_continues_on_the_next_account(rig):
    """The run's rollout is found only when the run has ended: what it wrote since its spawn still counts."""
    env = _world(rig)
    first = _first_account(rig, env)
    session_id = rig.prompts()[-1]["session"]
    rig.touch(f"limit-{first}")
    result = _exec(env, rig, "exec", "resume", session_id, "next request")
    assert result.returncode == 0, result.stderr
    other = next(i for i, _ in _accounts(env) if i != first)
    assert result.stdout == f"ANSWER to {CONTINUATION_PROMPT} on {other}\n"
    assert {p["session"] for p in rig.prompts()} == {session_id}


def test_a_run_started_with_stdin_closed_gives_codex_an_empty_stdin_never_a_file_of_codex_fsm(rig):
    env = _world(rig)
    result = subprocess.run(f'exec {CODEX_FSM} exec - <&-', shell=True, env=env, cwd=rig.cwd,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    [run] = read_jsonl(rig.control / "exec-log.jsonl")
    assert run["prompt"] == ""  # /dev/null, not the pool file or the transition log


def test_a_run_started_with_stdout_closed_writes_into_no_file_of_codex_fsm(rig):
    env = _world(rig)
    first = _first_account(rig, env)
    rig.touch(f"limit-{first}")  # a rotation: a notice, a log, a status file, a pool write
    result = subprocess.run(f'exec {CODEX_FSM} exec "do it" >&-', shell=True, env=env, cwd=rig.cwd,
                            capture_output=False, stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for path in (rig_home(env)).rglob("*"):
        if path.is_file():
            assert b"ANSWER to" not in path.read_bytes(), path
