"""Handoff timing with the real Codex CLI against the fake backend: Codex's own stop and start time.

    .venv/bin/python tools/bench/bench_handoff.py [--runs N]

stop  = first of two Ctrl-C on an idle composer -> process exited (resume hint printed)
start = `codex resume <id>` spawned under the next account's home -> composer ready (OSC 7501 idle)
Each run hands the same session to the other of two accounts. Re-executes itself in a loopback-only
network namespace (`unshare -n`) when it can; the dead-proxy environment is set either way.
The codex-fsm part of the handoff (decision -> spawn) is added once the wrapper lands.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.e2e.codex_files import resume_session_id  # noqa: E402
from tests.e2e.terminal import Terminal  # noqa: E402
from tools.fake_backend import FakeChatGPTBackend, codex_env, write_auth_json, write_codex_config  # noqa: E402
from tools.fake_backend.netns import in_loopback_netns, reexec_in_loopback_netns  # noqa: E402

CODEX_NATIVE = REPO / "node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"
PRIVATE_HOME_ENTRIES = {"auth.json", "auth.lock", "auth.json.lock", "models_cache.json"}


def quit_codex(terminal: Terminal) -> tuple[float, str]:
    started = time.monotonic()
    terminal.send("\x03\x03")
    if terminal.wait_exit(10) != 0:
        raise SystemExit(f"codex exited with status {terminal.exit_status}")
    return time.monotonic() - started, resume_session_id(terminal.raw_text())


def start_codex(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, Terminal]:
    started = time.monotonic()
    terminal = Terminal(argv, env, cwd)
    terminal.wait_for_osc("idle", 20)
    terminal.wait_for(r"Ask Codex to do anything", 10)
    return time.monotonic() - started, terminal


def row(name: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"{name:<40} {statistics.median(ms):>9.0f} {min(ms):>9.0f} {max(ms):>9.0f} {len(ms):>5}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not CODEX_NATIVE.is_file():
        raise SystemExit(f"the real Codex CLI is missing at {CODEX_NATIVE}; run `make codex`")
    reexec_in_loopback_netns()
    scratch = Path(tempfile.mkdtemp(prefix="bench-handoff-"))
    terminals: list[Terminal] = []
    try:
        with FakeChatGPTBackend(scratch / "backend", chunk_delay_s=0) as backend:
            work = scratch / "work"
            work.mkdir()
            homes = [scratch / "home-a", scratch / "home-b"]
            write_codex_config(homes[0], backend.chatgpt_base_url, backend.openai_base_url, [work])
            for home, account in zip(homes, ("acct-a", "acct-b"), strict=True):
                home.mkdir(mode=0o700, exist_ok=True)
                write_auth_json(home / "auth.json", backend.issue_credentials(account, f"{account}@example.invalid"))
            envs = [codex_env(h, backend.ca_path, backend.refresh_token_url, scratch) for h in homes]
            base = [str(CODEX_NATIVE), "--no-daemon"]

            fresh_start, terminal = start_codex(base, envs[0], work)
            terminals.append(terminal)
            submitted = terminal.submit("seed the session")
            terminal.wait_for_osc("done", 20, since=submitted)
            first_stop, session_id = quit_codex(terminal)
            for entry in homes[0].iterdir():  # the per-account overlay: share everything but credentials
                if entry.name not in PRIVATE_HOME_ENTRIES:
                    (homes[1] / entry.name).symlink_to(entry)

            stops, starts = [first_stop], []
            for run in range(args.runs):
                start, terminal = start_codex([*base, "resume", session_id], envs[(run + 1) % 2], work)
                terminals.append(terminal)
                starts.append(start)
                stop, _ = quit_codex(terminal)
                stops.append(stop)
            violations = backend.violations()
    finally:
        for terminal in terminals:
            terminal.close()
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"codex handoff, real Codex CLI 0.169 (native), {args.runs} runs, "
          f"netns={'yes' if in_loopback_netns() else 'no'}")
    print(f"{'phase':<40} {'median ms':>9} {'min':>9} {'max':>9} {'n':>5}")
    print(row("codex stop (Ctrl-C x2 -> exit)", stops))
    print(row("codex start (resume <id> -> idle composer)", starts))
    print(row("codex fresh start (-> idle composer)", [fresh_start]))
    print(row("codex stop + start (handoff floor)", [a + b for a, b in zip(stops[1:], starts, strict=True)]))
    if violations:
        print("fake backend violations:", *violations, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
