"""What the real `codex exec` (0.169) does against the fake backend, as codex-fsm's headless supervision
relies on it: how a usage limit ends a run, that `exec resume <id>` continues the thread on another
account, what it reads from stdin, how it dies on SIGINT/SIGTERM, and how long a run takes.

Every continuation here is built by `exec_args.headless_launch_args` from the user's command and run for
real, so an argv Codex's parser would reject fails the test. Measured numbers are printed (`pytest -s`).
"""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from supervisor.adapters.codex_args import NO_DAEMON_ARGS, classify
from supervisor.adapters.exec_args import headless_launch_args, parse_headless
from supervisor.demo.fake_backend import FakeChatGPTBackend, codex_env
from tests.e2e.codex_files import event_payloads, rollout_files, rollout_lines
from tests.e2e.conftest import CodexHome, slow_backend
from tests.e2e.processes import alive, descendants, wait_until

pytestmark = pytest.mark.e2e

CONTINUE = "Please continue where you left off."
RUN_TIMEOUT_S = 60.0
# A turn the fake backend streams slowly (100 deltas of 8 characters, 0.2 s apart: 20 s) so a signal
# lands mid-turn.
SLOW_ANSWER = "slow answer " * 66 + "{turn}"
SLOW_CHUNK_DELAY_S = 0.2
NO_DAEMON_ARGS_LIST = list(NO_DAEMON_ARGS)


SLOW = slow_backend(SLOW_ANSWER, SLOW_CHUNK_DELAY_S)


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def json_events(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


@pytest.fixture
def codex_exec(codex_binary: Path, fake_backend: FakeChatGPTBackend, work_dir: Path,
               tmp_path: Path) -> Callable[..., Finished]:
    """`codex_exec(home, argv, stdin_text=None)`: run the real Codex with `argv` (already holding the
    daemon-off arguments) in the work dir; stdin is /dev/null unless text is given (then a pipe)."""
    user_home = tmp_path / "user-home"
    user_home.mkdir(exist_ok=True)

    def run(home: CodexHome, argv: list[str], stdin_text: str | None = None) -> Finished:
        env = codex_env(home.path, fake_backend.ca_path, fake_backend.refresh_token_url, user_home)
        started = time.monotonic()
        done = subprocess.run([str(codex_binary), *argv], env=env, cwd=work_dir, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S, input=stdin_text,
                              stdin=subprocess.DEVNULL if stdin_text is None else None)
        return Finished(done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    return run


def user_command(work_dir: Path, last_message: Path, *extra: str) -> list[str]:
    """A user's headless command with the options a continuation must carry."""
    return ["exec", "-m", "gpt-5.5", "-s", "read-only", "-C", str(work_dir), "--json", "-o", str(last_message),
            "--skip-git-repo-check", "-c", "hide_agent_reasoning=true", *extra]


def launch(argv: list[str], session_id: str | None = None) -> list[str]:
    return headless_launch_args(parse_headless(classify(argv)), session_id, CONTINUE)


def thread_id_of(finished: Finished) -> str:
    [started] = [e for e in finished.json_events() if e.get("type") == "thread.started"]
    return str(started["thread_id"])


def user_texts(backend: FakeChatGPTBackend, account_id: str) -> list[tuple[str, ...]]:
    """The user texts each turn request of the account carried, oldest request first."""
    return [tuple(item.text for item in turn.conversation if item.role == "user")
            for turn in backend.turns(account_id)]


# ---- a. a usage limit ends the run ------------------------------------------------------------------------


def test_a_usage_limit_ends_exec_with_exit_1_and_a_complete_rollout(
        fake_backend: FakeChatGPTBackend, make_codex_home: Callable[..., CodexHome],
        codex_exec: Callable[..., Finished], work_dir: Path, tmp_path: Path) -> None:
    fake_backend.set_account("acct-a", exhaust_after_turns=0)
    home = make_codex_home("acct-a")
    last_message = tmp_path / "last.txt"
    last_message.write_text("from an earlier run\n")

    with_json = codex_exec(home, launch(user_command(work_dir, last_message, "first prompt")))
    print(f"\n[a] --json: exit {with_json.returncode} in {with_json.seconds:.2f}s; stdout {with_json.stdout!r}; "
          f"stderr tail {with_json.stderr[-400:]!r}")
    assert with_json.returncode == 1
    kinds = [e["type"] for e in with_json.json_events()]
    assert kinds == ["thread.started", "turn.started", "error", "turn.failed"], kinds
    error, failed = with_json.json_events()[2:]
    assert "usage limit" in str(error["message"]).lower() and error["message"] == failed["error"]["message"]
    assert "usage limit" not in with_json.stderr.lower()  # with --json the error is on stdout only
    # The failed run leaves -o alone: the file still holds the earlier run's message.
    assert last_message.read_text() == "from an earlier run\n"

    [rollout] = rollout_files(home.path)
    tail = [(line["type"], line["payload"].get("type")) for line in rollout_lines(rollout)[-3:]]
    print(f"[a] rollout tail: {tail}")
    [complete] = event_payloads(rollout, "task_complete")
    assert complete["error"]["codex_error_info"] == "usage_limit_exceeded"
    assert rollout_lines(rollout)[-1]["payload"]["type"] == "task_complete"  # written before the exit
    [*_, tokens] = event_payloads(rollout, "token_count")
    assert tokens["rate_limits"]["primary"]["used_percent"] == 100.0

    human = codex_exec(home, launch(["exec", "--skip-git-repo-check", "-o", str(last_message), "again"]))
    print(f"[a] human: exit {human.returncode} in {human.seconds:.2f}s; stdout {human.stdout!r}; "
          f"stderr tail {human.stderr[-400:]!r}")
    assert human.returncode == 1
    assert human.stdout == ""  # nothing on stdout: the error goes to stderr
    assert "usage limit" in human.stderr.lower()
    assert last_message.read_text() == "from an earlier run\n"
    assert [t.status for t in fake_backend.turns("acct-a")] == [429, 429]  # no retry of a usage limit


# ---- b. the continuation on another account ---------------------------------------------------------------


def test_exec_resume_continues_the_same_thread_on_another_account(
        fake_backend: FakeChatGPTBackend, make_codex_home: Callable[..., CodexHome],
        codex_exec: Callable[..., Finished], work_dir: Path, tmp_path: Path) -> None:
    fake_backend.set_account("acct-a", exhaust_after_turns=1)
    home_a = make_codex_home("acct-a")
    last_message = tmp_path / "last.txt"
    user = user_command(work_dir, last_message, "first prompt")
    first = codex_exec(home_a, launch(user))
    assert first.returncode == 0, first.stderr
    thread = thread_id_of(first)
    limited = codex_exec(home_a, launch(["exec", "--json", "resume", thread, "second prompt",
                                         "--skip-git-repo-check"]))
    assert limited.returncode == 1 and thread_id_of(limited) == thread

    home_b = make_codex_home("acct-b", share_from=home_a)
    continuation = launch(user, thread)
    assert continuation == [*NO_DAEMON_ARGS, *user[:-1], "resume", "--", thread, CONTINUE]
    resumed = codex_exec(home_b, continuation)
    print(f"\n[b] continuation on acct-b: exit {resumed.returncode} in {resumed.seconds:.2f}s; "
          f"events {[e['type'] for e in resumed.json_events()]}")
    assert resumed.returncode == 0, resumed.stderr
    assert thread_id_of(resumed) == thread
    [continued] = user_texts(fake_backend, "acct-b")
    assert continued[-3:] == ("first prompt", "second prompt", CONTINUE)  # the earlier items, then ours
    [rollout] = rollout_files(home_a.path)  # one rollout, reached from home B through the shared sessions/
    assert [p.resolve() for p in rollout_files(home_b.path)] == [rollout.resolve()]
    assert rollout.name.endswith(f"-{thread}.jsonl")
    answer = [e for e in resumed.json_events() if e.get("type") == "item.completed"][-1]["item"]["text"]
    assert answer.startswith("PONG-2 [acct-b]")
    assert last_message.read_text().strip() == answer


def test_a_review_continues_as_a_plain_exec_resume(
        fake_backend: FakeChatGPTBackend, make_codex_home: Callable[..., CodexHome],
        codex_exec: Callable[..., Finished], work_dir: Path, tmp_path: Path) -> None:
    home_a = make_codex_home("acct-a")
    user = ["exec", "--skip-git-repo-check", "review", "--json", "-o", str(tmp_path / "r.txt"), "look at it"]
    review = codex_exec(home_a, launch(user))
    assert review.returncode == 0, review.stderr
    home_b = make_codex_home("acct-b", share_from=home_a)
    continuation = launch(user, thread_id_of(review))
    assert continuation[len(NO_DAEMON_ARGS):] == [
        "exec", "--skip-git-repo-check", "resume", "--json", "-o", str(tmp_path / "r.txt"), "--",
        thread_id_of(review), CONTINUE]
    resumed = codex_exec(home_b, continuation)
    assert resumed.returncode == 0, resumed.stderr
    assert thread_id_of(resumed) == thread_id_of(review)
    assert fake_backend.turns("acct-b")[-1].prompt == CONTINUE


# ---- c. stdin ---------------------------------------------------------------------------------------------


def test_what_exec_reads_from_stdin(
        fake_backend: FakeChatGPTBackend, make_codex_home: Callable[..., CodexHome],
        codex_exec: Callable[..., Finished]) -> None:
    home = make_codex_home("acct-a")
    dash = codex_exec(home, NO_DAEMON_ARGS_LIST + ["exec", "--skip-git-repo-check", "--json", "-"],
                      stdin_text="prompt from stdin")
    assert dash.returncode == 0, dash.stderr
    assert fake_backend.turns()[-1].prompt == "prompt from stdin"

    appended = codex_exec(home, NO_DAEMON_ARGS_LIST + ["exec", "--skip-git-repo-check", "the prompt"],
                          stdin_text="piped text")
    assert appended.returncode == 0, appended.stderr
    exec_prompt = fake_backend.turns()[-1].prompt
    print(f"\n[c] exec PROMPT with piped stdin sends {exec_prompt!r}")
    assert exec_prompt is not None and exec_prompt.startswith("the prompt") and "<stdin>" in exec_prompt
    assert "piped text" in exec_prompt

    thread = thread_id_of(dash)
    resumed = codex_exec(home, NO_DAEMON_ARGS_LIST + ["exec", "--skip-git-repo-check", "resume", thread,
                                                      "resume prompt"], stdin_text="piped into resume")
    assert resumed.returncode == 0, resumed.stderr
    resume_prompt = fake_backend.turns()[-1].prompt
    print(f"[c] exec resume <id> PROMPT with piped stdin sends {resume_prompt!r}")
    assert resume_prompt == "resume prompt"  # exec resume does not append stdin


# ---- d. signals -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fake_backend", [SLOW], indirect=True)
@pytest.mark.parametrize("sent, expected_returncode", [(signal.SIGINT, 1), (signal.SIGTERM, -signal.SIGTERM)])
def test_a_signal_mid_turn(sent: signal.Signals, expected_returncode: int, fake_backend: FakeChatGPTBackend,
                           make_codex_home: Callable[..., CodexHome], codex_binary: Path, work_dir: Path,
                           tmp_path: Path) -> None:
    home = make_codex_home("acct-a")
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    env = codex_env(home.path, fake_backend.ca_path, fake_backend.refresh_token_url, user_home)
    child = subprocess.Popen([str(codex_binary), *NO_DAEMON_ARGS, "exec", "--skip-git-repo-check", "--json",
                              "a long answer please"], env=env, cwd=work_dir, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_until(lambda: len(fake_backend.turns()) == 1, 30, "the turn request")
        wait_until(lambda: bool(rollout_files(home.path)), 10, "the rollout")
        before = descendants(child.pid)
        sent_at = time.monotonic()
        child.send_signal(sent)
        stdout, stderr = child.communicate(timeout=30)
        took = time.monotonic() - sent_at
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    left = sorted(pid for pid in before if alive(pid))
    print(f"\n[d] {sent.name}: returncode {child.returncode} after {took:.2f}s; children before {sorted(before)}, "
          f"left {left}; events {[json.loads(line)['type'] for line in stdout.splitlines() if line.strip()]}; "
          f"stderr tail {stderr[-300:]!r}")
    assert child.returncode == expected_returncode
    assert took < 5.0
    assert left == []
    [rollout] = rollout_files(home.path)
    tail = [line["payload"].get("type") for line in rollout_lines(rollout)[-3:]]
    print(f"[d] {sent.name}: rollout tail {tail}")
    if sent == signal.SIGINT:  # Codex interrupts the turn and records it before exiting
        assert tail[-1] == "turn_aborted"
    else:  # SIGTERM kills it where it stands: the turn is left open, no task_complete
        assert not event_payloads(rollout, "turn_aborted") and not event_payloads(rollout, "task_complete")


# ---- e. timing --------------------------------------------------------------------------------------------


def test_how_long_an_answered_exec_run_takes(
        fake_backend: FakeChatGPTBackend, make_codex_home: Callable[..., CodexHome], codex_binary: Path,
        work_dir: Path, tmp_path: Path) -> None:
    home = make_codex_home("acct-a")
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    env = codex_env(home.path, fake_backend.ca_path, fake_backend.refresh_token_url, user_home)
    walls: list[float] = []
    to_rollout: list[float] = []
    for n in range(5):
        known = set(rollout_files(home.path))
        started = time.monotonic()
        child = subprocess.Popen([str(codex_binary), *NO_DAEMON_ARGS, "exec", "--skip-git-repo-check",
                                  f"timed prompt {n}"], env=env, cwd=work_dir, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        appeared = None
        while child.poll() is None:  # measuring, not synchronising: look every 5 ms until the run ends
            if appeared is None and set(rollout_files(home.path)) - known:
                appeared = time.monotonic() - started
            time.sleep(0.005)
        wall = time.monotonic() - started
        if appeared is None and set(rollout_files(home.path)) - known:
            appeared = wall  # appeared within the last look
        assert appeared is not None, "the run left no rollout"
        walls.append(wall)
        to_rollout.append(appeared)
        assert child.returncode == 0
    print(f"\n[e] wall {['%.2f' % w for w in walls]} median {statistics.median(walls):.2f}s; "
          f"spawn to rollout {['%.3f' % r for r in to_rollout]} median {statistics.median(to_rollout):.3f}s")
    assert statistics.median(walls) < 10.0
    assert all(r <= w for r, w in zip(to_rollout, walls, strict=True))
