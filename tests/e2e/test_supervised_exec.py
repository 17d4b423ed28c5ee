"""`codex-fsm exec` supervising the real `codex exec` (0.169) against the fake ChatGPT backend.

A script's view: codex-fsm runs on plain pipes (no pty), stdout carries only Codex's output, codex-fsm's
notices go to stderr, and the exit status is the last run's (75 when no account can run within the
wait, 130 after Ctrl-C). A usage limit on one account continues the thread on the next with
`codex exec resume`; the backend shows which account each request came from and what it carried.

A usage limit that strikes mid-run needs an account whose quota looks fine when codex-fsm picks it and
that refuses the turn: a first run ("warm-up") answers on A and leaves A spent at the backend, while
the pool keeps the fresh snapshot it took (10 % used), so the next run starts on A without a probe and
gets the 429 from Codex's own request.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from supervisor.adapters.launcher import CONTINUATION_PROMPT
from supervisor.demo.fake_backend import ConversationItem, FakeChatGPTBackend
from supervisor.demo.fake_backend.world import SupervisedWorld
from supervisor.pool.locations import pool_store
from tests.e2e.conftest import slow_backend
from tests.e2e.codex_files import rollout_files, rollout_lines
from tests.e2e.processes import alive, descendants, in_process_group, wait_until
from tests.e2e.transition_logs import assert_logs_replay, rows

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_S = 90.0
EX_TEMPFAIL = 75
EXIT_INTERRUPTED = 130
# Codex's work dir is no git repository; every run says so, as a script would.
EXEC = ("exec", "--skip-git-repo-check")
# A turn the fake backend streams slowly (30 deltas of 8 characters, 0.2 s apart: 6 s), so a second run
# starts, or a Ctrl-C lands, while the first is mid-turn.
SLOW_ANSWER = "slow answer " * 19 + "{turn} [{account}]"
SLOW_CHUNK_DELAY_S = 0.2
MOVED = re.compile(r"^codex-fsm: exec moved from (\S+) to (\S+): usage limit reached \(resets [^)]*\)", re.M)


SLOW = slow_backend(SLOW_ANSWER, SLOW_CHUNK_DELAY_S)


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def fsm_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("codex-fsm: ")]


class FsmExec:
    """`codex-fsm exec …` in the world's work dir on plain pipes, as a script runs it."""

    def __init__(self, world: SupervisedWorld) -> None:
        self.world = world
        self.started: list[subprocess.Popen[str]] = []
        self._stdin_text: dict[int, str | None] = {}

    def start(self, *args: str, stdin_text: str | None = None) -> subprocess.Popen[str]:
        """Started in its own session (process group), like a shell's foreground job; ``stdin_text`` is
        written to a stdin pipe by ``finish``."""
        process = subprocess.Popen([sys.executable, "-m", "supervisor.cli", *args], env=self.world.env(),
                                   cwd=self.world.work_dir, text=True, start_new_session=True,
                                   stdin=subprocess.DEVNULL if stdin_text is None else subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.started.append(process)
        self._stdin_text[process.pid] = stdin_text
        return process

    def finish(self, process: subprocess.Popen[str], started_at: float | None = None) -> Finished:
        started_at = time.monotonic() if started_at is None else started_at
        stdout, stderr = process.communicate(self._stdin_text.pop(process.pid, None), timeout=RUN_TIMEOUT_S)
        return Finished(process.returncode, stdout, stderr, time.monotonic() - started_at)

    def run(self, *args: str, stdin_text: str | None = None) -> Finished:
        started_at = time.monotonic()
        return self.finish(self.start(*args, stdin_text=stdin_text), started_at)

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()


@pytest.fixture
def fsm_exec(world: SupervisedWorld) -> Iterator[FsmExec]:
    runner = FsmExec(world)
    yield runner
    runner.close()


def two_accounts_a_spent_after_one_turn(world: SupervisedWorld, backend: FakeChatGPTBackend) -> None:
    """alpha (A) answers one turn then refuses every turn with a usage limit; bravo (B) has room."""
    backend.set_account("acct-a", primary_used_percent=10.0, exhaust_after_turns=1)
    backend.set_account("acct-b", primary_used_percent=30.0)
    world.add_account("acct-a", "alpha")
    world.add_account("acct-b", "bravo")
    world.codex_fsm("accounts", "order", "alpha", "bravo")


def warm_up_on_a(fsm_exec: FsmExec, backend: FakeChatGPTBackend) -> None:
    """One answered run on A: A is spent at the backend, and the pool's snapshot of A still says 10 %."""
    warm_up = fsm_exec.run(*EXEC, "warm-up on A")
    assert warm_up.returncode == 0, warm_up.stderr
    assert [(t.account_id, t.status) for t in backend.turns()] == [("acct-a", 200)]


def thread_turns(backend: FakeChatGPTBackend) -> list:
    """The turns after the warm-up's: the run under test."""
    return backend.turns()[1:]


def leases(world: SupervisedWorld) -> list[object]:
    return [record.lease for record in pool_store(world.env()).load().accounts]


def json_lines(stdout: str) -> list[dict[str, object]]:
    events = []
    for number, line in enumerate(stdout.splitlines(), start=1):
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"stdout line {number} is not JSON: {line!r}") from None
    return events


# ---- 1. a usage limit mid-run continues the thread on the next account ------------------------------------


def test_a_usage_limit_on_a_continues_the_thread_on_b_and_stdout_is_only_bs_answer(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, fsm_exec: FsmExec) -> None:
    two_accounts_a_spent_after_one_turn(world, fake_backend)
    warm_up_on_a(fsm_exec, fake_backend)

    result = fsm_exec.run(*EXEC, "the task hit by the limit")
    print(f"\n[1] exit {result.returncode} in {result.seconds:.2f}s; stdout {result.stdout!r}; "
          f"codex-fsm lines {result.fsm_lines()}")
    assert result.returncode == 0, result.stderr
    turn_a, turn_b = thread_turns(fake_backend)
    assert (turn_a.account_id, turn_a.status, turn_b.account_id, turn_b.status) == ("acct-a", 429, "acct-b", 200)
    # B carries the thread's items: the user's task once (A's turn failed, so no answer), then ours.
    assert turn_b.conversation == (ConversationItem("user", "the task hit by the limit"),
                                   ConversationItem("user", CONTINUATION_PROMPT))
    answer = f"PONG-2 [acct-b]: {CONTINUATION_PROMPT}"
    assert result.stdout == answer + "\n"  # B's final message and nothing else
    assert turn_b.session_id == turn_a.session_id
    [rollout] = [path for path in rollout_files(world.codex_home) if path.name.endswith(f"-{turn_a.session_id}.jsonl")]
    assert sum(line["type"] == "session_meta" for line in rollout_lines(rollout)) == 1
    assert len(rollout_files(world.codex_home)) == 2  # the warm-up's and this thread's, nothing more
    assert MOVED.findall(result.stderr) == [("alpha", "bravo")], result.stderr
    assert len([line for line in result.fsm_lines() if line.startswith("codex-fsm: exec moved ")]) == 1
    assert leases(world) == [None, None]
    path = rows(assert_logs_replay(world))
    assert "prewarming-usage_limit_hit->restarting" in path and "resuming-child_ready->running[headless]" in path


# ---- 2./3. --json and -o ----------------------------------------------------------------------------------


def test_json_events_are_one_stream_around_the_rotation_and_o_holds_bs_final_message(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, fsm_exec: FsmExec, tmp_path: Path) -> None:
    two_accounts_a_spent_after_one_turn(world, fake_backend)
    warm_up_on_a(fsm_exec, fake_backend)
    last_message = tmp_path / "last-message.txt"
    last_message.write_text("from an earlier run\n")

    result = fsm_exec.run(*EXEC, "--json", "-o", str(last_message), "the task hit by the limit")
    assert result.returncode == 0, result.stderr
    events = json_lines(result.stdout)
    kinds = [str(event["type"]) for event in events]
    print(f"\n[2] --json events in {result.seconds:.2f}s: {kinds}")
    assert kinds == ["thread.started", "turn.started", "error", "turn.failed",
                     "thread.started", "turn.started", "item.completed", "turn.completed"], kinds
    first_thread, second_thread = (event["thread_id"] for event in events if event["type"] == "thread.started")
    turn_a, turn_b = thread_turns(fake_backend)
    assert first_thread == second_thread == turn_a.session_id == turn_b.session_id
    error, failed = events[2], events[3]
    assert "usage limit" in str(error["message"]).lower() and failed["error"]["message"] == error["message"]
    answer = f"PONG-2 [acct-b]: {CONTINUATION_PROMPT}"
    assert events[6]["item"]["type"] == "agent_message" and events[6]["item"]["text"] == answer
    assert last_message.read_text().strip() == answer  # the last run's final message
    assert MOVED.findall(result.stderr) == [("alpha", "bravo")]
    assert_logs_replay(world)


# ---- 4. the whole pool spent ------------------------------------------------------------------------------


def test_the_only_account_spent_mid_run_and_no_reset_within_max_wait_exits_75_with_stdout_empty(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, fsm_exec: FsmExec) -> None:
    fake_backend.set_account("acct-a", primary_used_percent=10.0, exhaust_after_turns=1,
                             primary_resets_at=int(fake_backend.now()) + 600)
    world.add_account("acct-a", "alpha")
    warm_up_on_a(fsm_exec, fake_backend)

    result = fsm_exec.run(*EXEC, "--max-wait", "1s", "the task hit by the limit")
    print(f"\n[4a] exit {result.returncode} in {result.seconds:.2f}s; codex-fsm lines {result.fsm_lines()}")
    assert result.returncode == EX_TEMPFAIL, result.stderr
    assert result.stdout == ""
    [turn] = thread_turns(fake_backend)
    assert (turn.account_id, turn.status) == ("acct-a", 429)
    [gave_up] = [line for line in result.fsm_lines() if "no account can continue" in line]
    assert f"codex exec resume {turn.session_id}" in gave_up  # how to go on by hand
    assert "the soonest reset is " in gave_up
    assert leases(world) == [None]
    assert_logs_replay(world)


def test_every_account_spent_waits_for_the_soonest_reset_then_continues_by_itself(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, fsm_exec: FsmExec) -> None:
    # B is spent from the start with a reset a few seconds away (its probe says exactly when); A is spent
    # after the warm-up, and Codex names A's reset only to the minute, so B's is the soonest.
    b_resets_at = int(fake_backend.now()) + 10
    fake_backend.set_account("acct-a", primary_used_percent=10.0, exhaust_after_turns=1)
    fake_backend.set_account("acct-b", primary_used_percent=30.0, exhaust_after_turns=0, primary_resets_at=b_resets_at)
    world.add_account("acct-a", "alpha")
    world.add_account("acct-b", "bravo")
    world.codex_fsm("accounts", "order", "alpha", "bravo")
    warm_up_on_a(fsm_exec, fake_backend)

    result = fsm_exec.run(*EXEC, "the task hit by the limit")
    print(f"\n[4b] exit {result.returncode} in {result.seconds:.2f}s; codex-fsm lines {result.fsm_lines()}")
    assert result.returncode == 0, result.stderr
    # The wait is announced, then counted down, each time on one line of its own.
    waiting = [line for line in result.fsm_lines() if "every account is at its limit; waiting" in line]
    assert waiting and all(re.fullmatch(r"codex-fsm: every account is at its limit; waiting \d+ s for the "
                                        r"soonest reset at .+ \(Ctrl-C to quit\)", line) for line in waiting), waiting
    turn_a, turn_b = thread_turns(fake_backend)
    assert (turn_a.account_id, turn_a.status, turn_b.account_id, turn_b.status) == ("acct-a", 429, "acct-b", 200)
    assert turn_b.at >= b_resets_at  # it waited for the reset
    assert turn_b.session_id == turn_a.session_id
    assert [i.text for i in turn_b.conversation if i.role == "user"] == ["the task hit by the limit",
                                                                         CONTINUATION_PROMPT]
    assert result.stdout == f"PONG-2 [acct-b]: {CONTINUATION_PROMPT}\n"
    assert "acquiring-tick->acquiring[wait_elapsed]" in rows(assert_logs_replay(world))


# ---- 5. two runs at once -----------------------------------------------------------------------------------


def _turn_started(backend: FakeChatGPTBackend, count: int) -> Callable[[], bool]:
    return lambda: len(backend.turns()) >= count


@pytest.mark.parametrize("fake_backend", [SLOW], indirect=True)
def test_two_runs_at_once_on_a_two_account_pool_run_on_different_accounts(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, fsm_exec: FsmExec) -> None:
    world.add_account("acct-a", "alpha")
    world.add_account("acct-b", "bravo")
    started_at = time.monotonic()
    first = fsm_exec.start(*EXEC, "task of run one")
    wait_until(_turn_started(fake_backend, 1), 30, "the first run's turn")
    second = fsm_exec.start(*EXEC, "task of run two")
    wait_until(_turn_started(fake_backend, 2), 30, "the second run's turn")
    assert first.poll() is None, "the first run ended before the second one's turn: they did not overlap"
    results = [fsm_exec.finish(first, started_at), fsm_exec.finish(second, started_at)]
    print(f"\n[5a] exits {[r.returncode for r in results]} after {[f'{r.seconds:.2f}s' for r in results]}")
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]

    one, two = fake_backend.turns()
    assert (one.prompt, two.prompt) == ("task of run one", "task of run two")
    assert one.account_id != two.account_id and {one.account_id, two.account_id} == {"acct-a", "acct-b"}
    assert one.session_id != two.session_id
    assert results[0].stdout.rstrip("\n").endswith(f"[{one.account_id}]")
    assert results[1].stdout.rstrip("\n").endswith(f"[{two.account_id}]")
    assert leases(world) == [None, None]
    assert len(world.transition_logs()) == 2
    assert_logs_replay(world)


@pytest.mark.parametrize("fake_backend", [SLOW], indirect=True)
def test_a_second_run_on_a_one_account_pool_exits_75_while_the_first_holds_the_account(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, fsm_exec: FsmExec) -> None:
    world.add_account("acct-a", "alpha")
    started_at = time.monotonic()
    first = fsm_exec.start(*EXEC, "task of run one")
    wait_until(_turn_started(fake_backend, 1), 30, "the first run's turn")
    second = fsm_exec.run(*EXEC, "task of run two")
    assert first.poll() is None, "the first run ended before the second was refused"
    print(f"\n[5b] second: exit {second.returncode} in {second.seconds:.2f}s; stderr {second.stderr!r}")
    assert second.returncode == EX_TEMPFAIL
    assert second.stdout == ""
    [refused] = second.fsm_lines()
    assert "no account can continue" in refused and f"pid {first.pid}" in refused, refused
    first_result = fsm_exec.finish(first, started_at)
    assert first_result.returncode == 0, first_result.stderr
    assert [(t.account_id, t.prompt) for t in fake_backend.turns()] == [("acct-a", "task of run one")]
    assert leases(world) == [None]
    assert_logs_replay(world)


# ---- 6. Ctrl-C, and the prompt on stdin ---------------------------------------------------------------------


@pytest.mark.parametrize("fake_backend", [SLOW], indirect=True)
def test_ctrl_c_mid_turn_exits_130_leaves_no_codex_and_gives_the_account_back(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, fsm_exec: FsmExec) -> None:
    world.add_account("acct-a", "alpha")
    run = fsm_exec.start(*EXEC, "a long answer please")
    wait_until(_turn_started(fake_backend, 1), 30, "the turn request")
    assert leases(world) != [None]
    started = descendants(run.pid)
    assert started, "codex-fsm runs no Codex"
    sent_at = time.monotonic()
    os.killpg(run.pid, signal.SIGINT)  # what the terminal does on Ctrl-C: the whole foreground group
    result = fsm_exec.finish(run, sent_at)
    print(f"\n[6a] exit {result.returncode} {result.seconds:.2f}s after SIGINT; stdout {result.stdout!r}; "
          f"codex-fsm lines {result.fsm_lines()}")
    assert result.returncode == EXIT_INTERRUPTED, result.stderr
    assert [pid for pid in started if alive(pid)] == []
    assert in_process_group(run.pid) == set()
    assert leases(world) == [None]
    assert "Traceback" not in result.stderr
    assert [(t.account_id, t.status) for t in fake_backend.turns()] == [("acct-a", 200)]  # no continuation
    assert_logs_replay(world)


def test_exec_dash_reads_the_prompt_from_a_stdin_pipe_and_the_continuation_reads_none(
        world: SupervisedWorld, fake_backend: FakeChatGPTBackend, fsm_exec: FsmExec) -> None:
    two_accounts_a_spent_after_one_turn(world, fake_backend)
    warm_up_on_a(fsm_exec, fake_backend)

    result = fsm_exec.run(*EXEC, "-", stdin_text="the task from stdin\n")
    assert result.returncode == 0, result.stderr
    turn_a, turn_b = thread_turns(fake_backend)
    # Codex sends what it read, newline and all; the continuation (stdin /dev/null) adds nothing to it.
    assert (turn_a.account_id, turn_a.prompt) == ("acct-a", "the task from stdin\n")
    assert turn_b.conversation == (ConversationItem("user", "the task from stdin\n"),
                                   ConversationItem("user", CONTINUATION_PROMPT))
    assert result.stdout == f"PONG-2 [acct-b]: {CONTINUATION_PROMPT}\n"
    assert MOVED.findall(result.stderr) == [("alpha", "bravo")]
