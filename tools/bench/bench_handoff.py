"""Account handoff with the real Codex CLI against the fake backend: codex-fsm vs the reference's timings.

    .venv/bin/python tools/bench/bench_handoff.py [--runs N]

Three measurements, each N runs:
  codex           Codex's own stop (Ctrl-C on the idle composer -> exit) and start (`codex resume <id>`
                  under the next account's home -> composer ready, OSC 7501 idle).
  codex-fsm       a real rotation (account A reports 97 % used after a turn): decision (StopChild in the
                  transition log) -> child exited -> resumed child ready; codex-fsm's own time is the
                  exit -> ready part beyond Codex's own start median.
  reference       the reference supervisor's handoff replayed on the same Codex: 250 ms rollout-idle wait,
                  then SIGINT/SIGTERM/SIGKILL with up to 350 ms per step, then the same resume.
Re-executes itself in a loopback-only network namespace (`unshare -n`) when it can; the dead-proxy
environment is set either way.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from supervisor.demo.fake_backend import (FakeChatGPTBackend, codex_env, write_auth_json,  # noqa: E402
                                         write_codex_config)
from supervisor.demo.fake_backend.netns import in_loopback_netns, reexec_in_loopback_netns  # noqa: E402
from supervisor.demo.fake_backend.world import SupervisedWorld  # noqa: E402
from supervisor.demo.terminal import Terminal  # noqa: E402
from tests.e2e.codex_files import resume_session_id  # noqa: E402

# The newest pinned Codex: npm puts its platform package at the top of node_modules/.
CODEX_NATIVE = REPO / "node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"
PRIVATE_HOME_ENTRIES = {"auth.json", "auth.lock", "auth.json.lock", "models_cache.json"}
COMPOSER_READY = r"Ask Codex to do anything"
REFERENCE_IDLE_S = 0.25
REFERENCE_SIGNAL_STEP_S = 0.35
REFERENCE_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
# (stop samples, start samples, fake backend violations), seconds
Measured = tuple[list[float], list[float], list[str]]


def start_codex(argv: list[str], env: dict[str, str], cwd: Path, terminals: list[Terminal]) -> tuple[float, Terminal]:
    started = time.monotonic()
    terminal = Terminal(argv, env, cwd)
    terminals.append(terminal)
    terminal.wait_for_osc("idle", 20)
    terminal.wait_for(COMPOSER_READY, 10)
    return time.monotonic() - started, terminal


def one_turn(terminal: Terminal, prompt: str) -> int:
    return terminal.wait_for_osc("done", 20, since=terminal.submit(prompt))


def quit_codex(terminal: Terminal) -> tuple[float, str]:
    started = time.monotonic()
    terminal.send("\x03")  # one Ctrl-C quits Codex 0.169 on an idle, empty composer
    if terminal.wait_exit(10) != 0:
        raise SystemExit(f"codex exited with status {terminal.exit_status}")
    return time.monotonic() - started, resume_session_id(terminal.raw_text())


def reference_stop(terminal: Terminal) -> float:
    """The reference's restart: rollout quiet for idleMs, then each signal with up to T for the exit."""
    started = time.monotonic()
    deadline = started + REFERENCE_IDLE_S
    while (left := deadline - time.monotonic()) > 0:
        terminal.pump(left)
    for signum in REFERENCE_SIGNALS:
        os.kill(terminal.pid, signum)
        step_end = time.monotonic() + REFERENCE_SIGNAL_STEP_S
        while terminal.child.isalive() and (left := step_end - time.monotonic()) > 0:
            if not terminal.pump(min(left, 0.05)):
                break
        if not terminal.child.isalive() or not terminal.pump(0):
            break
    terminal.close()
    return time.monotonic() - started


def make_homes(scratch: Path, backend: FakeChatGPTBackend, work: Path) -> list[dict[str, str]]:
    homes = [scratch / "home-a", scratch / "home-b"]
    write_codex_config(homes[0], backend.chatgpt_base_url, backend.openai_base_url, [work])
    for home, account in zip(homes, ("acct-a", "acct-b"), strict=True):
        home.mkdir(mode=0o700, exist_ok=True)
        write_auth_json(home / "auth.json", backend.issue_credentials(account, f"{account}@example.invalid"))
    return [codex_env(h, backend.ca_path, backend.refresh_token_url, scratch) for h in homes]


def share_sessions(scratch: Path) -> None:
    """The per-account overlay: home B links everything of home A but credentials."""
    for entry in (scratch / "home-a").iterdir():
        if entry.name not in PRIVATE_HOME_ENTRIES and not (scratch / "home-b" / entry.name).exists():
            (scratch / "home-b" / entry.name).symlink_to(entry)


def measure_codex(scratch: Path, runs: int, terminals: list[Terminal]) -> Measured:
    base = [str(CODEX_NATIVE), "--no-daemon"]
    with FakeChatGPTBackend(scratch / "backend", chunk_delay_s=0) as backend:
        work = scratch / "work"
        work.mkdir()
        envs = make_homes(scratch, backend, work)
        _, terminal = start_codex(base, envs[0], work, terminals)
        one_turn(terminal, "seed the session")
        first_stop, session_id = quit_codex(terminal)
        share_sessions(scratch)
        stops, starts = [first_stop], []
        for run in range(runs):
            start, terminal = start_codex([*base, "resume", session_id], envs[(run + 1) % 2], work, terminals)
            starts.append(start)
            stops.append(quit_codex(terminal)[0])
        return stops, starts, backend.violations()


def measure_reference(scratch: Path, runs: int, terminals: list[Terminal]) -> Measured:
    base = [str(CODEX_NATIVE), "--no-daemon"]
    with FakeChatGPTBackend(scratch / "backend", chunk_delay_s=0) as backend:
        work = scratch / "work"
        work.mkdir()
        envs = make_homes(scratch, backend, work)
        _, terminal = start_codex(base, envs[0], work, terminals)
        one_turn(terminal, "seed the session")
        session_id = quit_codex(terminal)[1]
        share_sessions(scratch)
        stops, starts = [], []
        for run in range(runs):
            _, terminal = start_codex([*base, "resume", session_id], envs[run % 2], work, terminals)
            one_turn(terminal, f"turn {run}")
            stops.append(reference_stop(terminal))
            start, terminal = start_codex([*base, "resume", session_id], envs[(run + 1) % 2], work, terminals)
            starts.append(start)
            quit_codex(terminal)
        return stops, starts, backend.violations()


def log_times(log: Path) -> tuple[float, float, float]:
    """(decision, child exited, resumed child ready) from a transition log with one rotation."""
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    transitions = [r for r in records if r.get("kind") == "transition"]
    decided = next(r["at"] for r in transitions if r["dest"] == "restarting")
    exited = next(r["at"] for r in transitions if r["row"].startswith("restarting-child_exited->resuming"))
    ready = next(r["at"] for r in transitions if r["row"].startswith("resuming-child_ready"))
    return decided, exited, ready


def measure_codex_fsm(scratch: Path, runs: int, terminals: list[Terminal]) -> Measured:
    stops, starts, violations = [], [], []
    for run in range(runs):
        root = scratch / f"fsm-{run}"
        with FakeChatGPTBackend(root / "backend", chunk_delay_s=0) as backend:
            world = SupervisedWorld(root, backend, CODEX_NATIVE,
                                    settings={"CODEX_FSM_SESSION_IDLE_BEFORE_ROTATE_S": "0.2"}).create()
            backend.set_account("acct-a", primary_used_percent=10.0, next_turn_used_percent=97.0)
            backend.set_account("acct-b", primary_used_percent=30.0)
            world.add_account("acct-a", "alpha")
            world.add_account("acct-b", "bravo")
            world.codex_fsm("accounts", "order", "alpha", "bravo")
            terminal = Terminal([sys.executable, "-m", "supervisor.cli"], world.env(), world.work_dir)
            terminals.append(terminal)
            terminal.wait_for(COMPOSER_READY, 30)
            done = one_turn(terminal, "turn that crosses the threshold")
            terminal.wait_for_osc("idle", 30, since=terminal.wait_for_osc("clear", 30, since=done))
            terminal.send("\x03")
            terminal.wait_exit(20)
            decided, exited, ready = log_times(world.transition_logs()[-1])
            stops.append(exited - decided)
            starts.append(ready - exited)
            violations += backend.violations()
    return stops, starts, violations


def ms(samples: list[float]) -> str:
    values = [s * 1000 for s in samples]
    return f"{statistics.median(values):>8.0f} {min(values):>7.0f} {max(values):>7.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not CODEX_NATIVE.is_file():
        raise SystemExit(f"the real Codex CLI is missing at {CODEX_NATIVE}; run `make codex`")
    reexec_in_loopback_netns([sys.executable, *sys.argv])
    scratch = Path(tempfile.mkdtemp(prefix="bench-handoff-"))
    terminals: list[Terminal] = []
    try:
        codex_stop, codex_start, v1 = measure_codex(scratch / "codex", args.runs, terminals)
        fsm_stop, fsm_start, v2 = measure_codex_fsm(scratch / "fsm", args.runs, terminals)
        ref_stop, ref_start, v3 = measure_reference(scratch / "reference", args.runs, terminals)
    finally:
        for terminal in terminals:
            terminal.close()
        shutil.rmtree(scratch, ignore_errors=True)

    fsm_total = [a + b for a, b in zip(fsm_stop, fsm_start, strict=True)]
    ref_total = [a + b for a, b in zip(ref_stop, ref_start, strict=True)]
    # Between Codex's exit and the resumed composer, what is not Codex's own start is codex-fsm's work
    # (release, lease, probe, overlay sync, spawn); its stop phase is Codex's own quit.
    own = [start - statistics.median(codex_start) for start in fsm_start]
    print(f"account handoff, real Codex CLI 0.169 (native), {args.runs} runs each, "
          f"netns={'yes' if in_loopback_netns() else 'no'}; ms: median min max")
    print(f"{'phase':<52} {'median':>8} {'min':>7} {'max':>7}")
    rows = [
        ("codex: stop (Ctrl-C -> exit)", codex_stop),
        ("codex: start (resume <id> -> idle composer)", codex_start),
        ("codex-fsm: decision -> child exited", fsm_stop),
        ("codex-fsm: child exited -> resumed child ready", fsm_start),
        ("codex-fsm: handoff total", fsm_total),
        ("codex-fsm: own time (exit -> ready minus codex start)", own),
        ("reference timings: idle 250 + signal ladder -> exit", ref_stop),
        ("reference timings: resume -> idle composer", ref_start),
        ("reference timings: handoff total", ref_total),
    ]
    for name, samples in rows:
        print(f"{name:<52} {ms(samples)}")
    ratio = statistics.median(ref_total) / statistics.median(fsm_total)
    print(f"handoff ratio reference/codex-fsm (medians): {ratio:.2f}x")
    violations = v1 + v2 + v3
    if violations:
        print("fake backend violations:", *violations, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
