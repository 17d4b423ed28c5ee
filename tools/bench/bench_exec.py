"""`codex-fsm exec` with the real Codex CLI against the fake backend: start-up overhead and the handoff.

    .venv/bin/python tools/bench/bench_exec.py [--pairs 7] [--handoffs 5]

Run it with ``PYTHONPATH`` at the checkout to measure (the console script imports the installed package)
and without ``PYTHONDONTWRITEBYTECODE``, so codex-fsm reads its bytecode caches as on a user's machine.

1. Overhead: ``codex-fsm exec --skip-git-repo-check PROMPT`` (the installed console script) against
   ``codex exec --skip-git-repo-check PROMPT`` on the same account home (the pool's overlay home of the
   account codex-fsm leases: the same auth.json, config and shared sessions), the same fake backend, the
   same environment, stdin /dev/null, stdout a pipe. Times from launch to the first byte on stdout and to
   the exit. Two direct baselines: the native binary codex-fsm itself spawns (codex-fsm's own cost) and
   npm's ``node_modules/.bin/codex`` launcher (what typing ``codex`` runs: Node, then the native
   binary). codex-fsm runs twice per round: with fresh stored quota snapshots (the start needs no
   request) and with stale ones (the start probes the leased account's usage first). Every round runs
   the four in a rotated order, so each overhead is a difference measured within one round.
2. Handoff: account A answers its turn with 429 usage_limit_reached, codex-fsm continues on B with
   ``codex exec resume``. From A's 429 at the backend and the run's transition log: when codex-fsm saw
   the limit (UsageLimitHit, ChildExited), when it spawned the resumed run, and when that run's first
   request reached the backend.

Re-executes itself in a loopback-only network namespace (`unshare -n`) when it can; the dead-proxy
environment is set either way.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from supervisor.demo.fake_backend import FakeChatGPTBackend  # noqa: E402
from supervisor.demo.fake_backend.netns import in_loopback_netns, reexec_in_loopback_netns  # noqa: E402
from supervisor.demo.fake_backend.world import SupervisedWorld  # noqa: E402

CODEX_FSM = Path(sys.executable).parent / "codex-fsm"
CODEX_NPM = REPO / "node_modules/.bin/codex"
# The newest pinned Codex: npm puts its platform package at the top of node_modules/.
CODEX_NATIVE = REPO / "node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"
EXEC_ARGS = ["exec", "--skip-git-repo-check"]
STALE_AGE_S = 7200.0  # older than any cache TTL: the start probes


@dataclass(frozen=True)
class Timed:
    first_byte_s: float
    exit_s: float
    launched_at: float  # wall clock, as the transition log's times
    ended_at: float


def run_timed(argv: list[str], env: dict[str, str], cwd: Path, stderr_path: Path) -> Timed:
    """Launch → first byte on stdout, launch → exit (the pipe closed and the process reaped)."""
    with open(stderr_path, "wb") as stderr:
        launched_at = time.time()
        started = time.monotonic()
        child = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=stderr)
        assert child.stdout is not None
        fd = child.stdout.fileno()
        output = os.read(fd, 65536)
        first = time.monotonic()
        while chunk := os.read(fd, 65536):
            output += chunk
        child.stdout.close()
        status = child.wait()
        ended = time.monotonic()
        ended_at = time.time()
    if status != 0 or b"PONG" not in output:
        raise SystemExit(f"{' '.join(argv)} exited {status}; stdout {output[-300:]!r}; "
                         f"stderr {stderr_path.read_text(errors='replace')[-600:]!r}")
    return Timed(first - started, ended - started, launched_at, ended_at)


def seed_quota(env: dict[str, str], age_s: float) -> None:
    """Every account gets a healthy snapshot observed ``age_s`` ago (0: fresh, the start needs no probe)."""
    from supervisor.core.quota import QuotaSnapshot, QuotaWindow
    from supervisor.pool.locations import pool_store

    def seed(pool) -> None:
        now = time.time()
        for record in pool.accounts:
            record.quota = QuotaSnapshot(windows=(QuotaWindow(20.0, 300, now + 3600),), observed_at=now - age_s)
            record.cooldown = None

    pool_store(env).mutate(seed)


def make_world(root: Path, backend: FakeChatGPTBackend) -> tuple[SupervisedWorld, dict[str, str]]:
    world = SupervisedWorld(root, backend, CODEX_NPM).create()
    world.add_account("acct-a", "alpha")
    world.add_account("acct-b", "bravo")
    world.codex_fsm("accounts", "order", "alpha", "bravo")
    env = world.env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return world, env


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.0f} {min(values) * 1000:6.0f} {max(values) * 1000:6.0f}"


def measure_overhead(scratch: Path, pairs: int) -> list[tuple[str, list[float]]]:
    from supervisor.adapters.codex_args import NO_DAEMON_ARGS
    from supervisor.pool.locations import account_homes, pool_store

    with FakeChatGPTBackend(scratch / "backend", chunk_delay_s=0) as backend:
        world, env = make_world(scratch, backend)
        seed_quota(env, 0)
        stderr = scratch / "stderr.txt"
        fsm = [str(CODEX_FSM), *EXEC_ARGS]
        # The warm-up fills codex-fsm's caches (the validated chart and config) and shows which account
        # it leases, whose home the direct runs use.
        for n in range(2):
            run_timed([*fsm, f"warm-up {n}"], env, world.work_dir, stderr)
        leased = backend.turns()[-1].account_id
        [record] = [r for r in pool_store(env).load().accounts if r.label == world.labels[leased]]
        direct_env = {k: v for k, v in env.items() if not k.startswith("CODEX_FSM_")}
        direct_env["CODEX_HOME"] = str(account_homes(env).home(record.id))
        fsm_phases: dict[str, list[tuple[Timed, dict[str, float]]]] = {}

        def supervised(name: str, age_s: float, prompt: str) -> Timed:
            seed_quota(env, age_s)
            logs_before = set(world.transition_logs())
            timed = run_timed([*fsm, prompt], env, world.work_dir, stderr)
            [log] = set(world.transition_logs()) - logs_before
            transitions = [r for r in read_log(log) if r.get("kind") == "transition"]
            fsm_phases.setdefault(name, []).append((timed, {
                "spawned": next(r["at"] for r in transitions if r["trigger"] == "child_ready"),
                "exited": next(r["at"] for r in transitions if r["trigger"] == "child_exited")}))
            return timed

        variants = {
            "codex (native binary)": lambda p: run_timed([str(CODEX_NATIVE), *EXEC_ARGS, p], direct_env,
                                                         world.work_dir, stderr),
            "codex (npm launcher)": lambda p: run_timed([str(CODEX_NPM), *EXEC_ARGS, p], direct_env,
                                                        world.work_dir, stderr),
            # What codex-fsm spawns: the native binary with its no-daemon, file-credentials arguments.
            "codex (native, codex-fsm's argv)": lambda p: run_timed(
                [str(CODEX_NATIVE), *NO_DAEMON_ARGS, *EXEC_ARGS, p], direct_env, world.work_dir, stderr),
            "codex-fsm, fresh snapshot": lambda p: supervised("fresh", 0, p),
            "codex-fsm, stale snapshot": lambda p: supervised("stale", STALE_AGE_S, p),
        }
        names = list(variants)
        for name in names:  # one untimed run each: Codex's own first-run files exist for all
            variants[name]("warm-up")
        fsm_phases.clear()
        results: dict[str, list[Timed]] = {name: [] for name in names}
        for round_ in range(pairs):
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                results[name].append(variants[name](f"round {round_}"))
        probes = [r for r in backend.requests() if r.kind == "usage"]
        violations = backend.violations()
    if violations:
        raise SystemExit("fake backend violations:\n  " + "\n  ".join(violations))
    if len(probes) < pairs:
        raise SystemExit(f"the stale-snapshot runs made {len(probes)} usage probes, expected at least {pairs}")
    direct, fsm_names = names[:3], names[3:]
    rows: list[tuple[str, list[float]]] = []
    for measure in ("first_byte_s", "exit_s"):
        label = "first byte on stdout" if measure == "first_byte_s" else "exit"
        for name in names:
            rows.append((f"launch -> {label}: {name}", [getattr(t, measure) for t in results[name]]))
        for fsm_name in fsm_names:
            for base in direct:
                deltas = [getattr(a, measure) - getattr(b, measure)
                          for a, b in zip(results[fsm_name], results[base], strict=True)]
                rows.append((f"  overhead to {label}: {fsm_name.removeprefix('codex-fsm, ')} vs {base}", deltas))
    for kind, runs in fsm_phases.items():
        rows.append((f"codex-fsm, {kind}: launch -> child spawned (ChildReady in the log)",
                     [phases["spawned"] - timed.launched_at for timed, phases in runs]))
        rows.append((f"codex-fsm, {kind}: ChildExited in the log -> codex-fsm's exit",
                     [timed.ended_at - phases["exited"] for timed, phases in runs]))
    return rows


def read_log(path: Path) -> list[dict]:
    """The header, then one record per handled event."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def handoff_times(log: list[dict], backend: FakeChatGPTBackend) -> dict[str, float]:
    """The moments of one usage-limit handoff, seconds on the wall clock (backend and log share it)."""
    started = log[0]["started_at"]
    transitions = [r for r in log if r.get("kind") == "transition"]
    limit = next(r["at"] for r in transitions if r["trigger"] == "usage_limit_hit")
    exited = next(r["at"] for r in transitions if r["trigger"] == "child_exited")
    resumed = next(i for i, r in enumerate(transitions)
                   if any(c["type"] == "SpawnChild" and c.get("resume_session_id") for c in r["commands"]))
    decided = transitions[resumed]["at"]
    spawned = next(r["at"] for r in transitions[resumed:] if r["trigger"] == "child_ready")
    [refused] = [r for r in backend.turns() if r.status == 429 and started <= r.at <= limit]
    after = [r for r in backend.requests() if r.at > spawned]
    first_turn = next(r for r in after if r.kind == "turn")
    return {"429": refused.at, "limit": limit, "exited": exited, "decided": decided, "spawned": spawned,
            "first_request": after[0].at, "first_turn": first_turn.at}


def measure_handoff(scratch: Path, runs: int) -> list[tuple[str, list[float]]]:
    samples: list[dict[str, float]] = []
    with FakeChatGPTBackend(scratch / "backend", chunk_delay_s=0) as backend:
        world, env = make_world(scratch, backend)
        seed_quota(env, 0)
        stderr = scratch / "stderr.txt"
        run_timed([str(CODEX_FSM), *EXEC_ARGS, "warm-up"], env, world.work_dir, stderr)
        backend.set_account("acct-a", exhaust_after_turns=0)
        for n in range(runs):
            seed_quota(env, 0)  # A looks healthy again (its cool-down cleared), so the run starts on it
            logs_before = set(world.transition_logs())
            run_timed([str(CODEX_FSM), *EXEC_ARGS, f"handoff {n}"], env, world.work_dir, stderr)
            if "moved from alpha to bravo" not in stderr.read_text():
                raise SystemExit(f"run {n} did not move from alpha to bravo: {stderr.read_text()[-600:]!r}")
            [log] = set(world.transition_logs()) - logs_before
            samples.append(handoff_times(read_log(log), backend))
        violations = backend.violations()
    if violations:
        raise SystemExit("fake backend violations:\n  " + "\n  ".join(violations))

    def span(start: str, end: str) -> list[float]:
        return [s[end] - s[start] for s in samples]

    return [
        ("A's 429 at the backend -> UsageLimitHit in the log", span("429", "limit")),
        ("A's 429 at the backend -> ChildExited in the log (Codex's own exit)", span("429", "exited")),
        ("codex-fsm: ChildExited -> SpawnChild of the resumed run (decided)", span("exited", "decided")),
        ("codex-fsm: SpawnChild -> resumed child spawned (ChildReady)", span("decided", "spawned")),
        ("codex-fsm's own time: ChildExited -> resumed child spawned", span("exited", "spawned")),
        ("Codex's own start: spawned -> its first request at the backend", span("spawned", "first_request")),
        ("Codex's own start: spawned -> its turn request at the backend", span("spawned", "first_turn")),
        ("total: A's 429 -> the resumed run's first request", span("429", "first_request")),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--handoffs", type=int, default=5)
    args = parser.parse_args()
    if not CODEX_NATIVE.is_file():
        raise SystemExit(f"the real Codex CLI is missing at {CODEX_NATIVE}; run `make codex`")
    reexec_in_loopback_netns([sys.executable, *sys.argv])
    scratch = Path(tempfile.mkdtemp(prefix="bench-exec-"))
    try:
        overhead = measure_overhead(scratch / "overhead", args.pairs)
        handoff = measure_handoff(scratch / "handoff", args.handoffs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    bytecode = "off (PYTHONDONTWRITEBYTECODE set)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
    print(f"codex-fsm exec, real Codex CLI 0.169, netns={'yes' if in_loopback_netns() else 'no'}, "
          f"bytecode writing {bytecode}; ms: median min max")
    print(f"\n1. start-up overhead, {args.pairs} interleaved rounds")
    for name, values in overhead:
        print(f"{name:<78} {ms(values)}")
    print(f"\n2. handoff after a usage limit, {args.handoffs} runs")
    for name, values in handoff:
        print(f"{name:<78} {ms(values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
