"""``codex-fsm demo [--auto]``: the real Codex under codex-fsm, offline, on three fake accounts.

A throwaway world (fake ChatGPT backend on 127.0.0.1, a pool of three demo accounts, a private
CODEX_HOME) is built under a temporary directory; the user's own ~/.codex and pool are never touched.
The first account runs out after two prompts, so the rotation happens in front of the user. At the end
the session's moves are printed (one line each, with their times), and the transition log and a
diagram of the session's path as numbered steps (SVG; a Markdown table where Graphviz is missing) are
kept (in the codex-fsm logs directory, or --output-dir); everything else is removed.

The fake backend and the terminal model are part of the package (``supervisor.demo``), so the demo runs
from an installed wheel as well as from a checkout; only the real Codex CLI has to be on PATH (in a
checkout, ``make codex`` pins one in node_modules/, which the demo looks at first).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import paths
from ..adapters.codex_binary import find_codex_binary
from ..chartfile import default_chart_path, load_chart_file
from ..demo.fake_backend import FakeChatGPTBackend
from ..demo.fake_backend.netns import reexec_in_loopback_netns
from ..demo.fake_backend.world import SupervisedWorld
from ..demo.terminal import Terminal, TerminalTimeout
from ..diagram import render_path_svg, render_path_table, summarize_moves
from ..errors import CodexFsmError, ConfigError, DiagramError
from ..replay import replay_file
from ..notices import PREFIX as NOTICE_PREFIX

# Where a checkout's pinned Codex is (`make codex`); an installed package has no such folder beside it.
CHECKOUT_CODEX_BIN = Path(__file__).resolve().parents[2] / "node_modules" / ".bin"
# (backend account id, pool label)
DEMO_ACCOUNTS = (("acct-demo-a", "demo-a"), ("acct-demo-b", "demo-b"), ("acct-demo-c", "demo-c"))
SCRIPTED_PROMPTS = ("Sketch a tiny todo CLI", "Add a --done flag", "Now write its tests")
ROTATION_AFTER_PROMPT = 2
# Codex treats Enter that follows typed text too closely as part of a paste,
# so the submit waits this long after the text.
SUBMIT_GAP_S = 0.3
STEP_TIMEOUT_S = 60.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="codex-fsm demo", description=__doc__.splitlines()[0])
    parser.add_argument("--auto", action="store_true", help="play a scripted session unattended")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="where the transition log and diagram are kept (default: codex-fsm's logs directory)")
    args = parser.parse_args(argv)
    if not args.auto and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError("demo: stdin/stdout are not a terminal; use `codex-fsm demo --auto`")
    reexec_in_loopback_netns([sys.executable, "-m", "supervisor.cli", "demo", *argv])
    output_dir = args.output_dir or paths.logs_dir()
    codex = find_codex_binary(_env_with_checkout_codex()).path
    root = Path(tempfile.mkdtemp(prefix="codex-fsm-demo-"))
    try:
        with FakeChatGPTBackend(root / "backend") as backend:
            world = SupervisedWorld(root, backend, codex).create()
            backend.set_account(DEMO_ACCOUNTS[0][0], primary_used_percent=40.0, used_percent_step=30.0,
                                exhaust_after_turns=2)
            for account_id, label in DEMO_ACCOUNTS:
                world.add_account(account_id, label)
            world.codex_fsm("accounts", "order", *(label for _, label in DEMO_ACCOUNTS))
            _banner(args.auto)
            status = _play(world) if args.auto else _interactive(world)
            logs = world.transition_logs()
            violations = backend.violations()
        if not logs:
            print("codex-fsm demo: codex-fsm wrote no transition log", file=sys.stderr)
            return 1
        _summarise(logs[-1], output_dir)
        for violation in violations:
            print(f"codex-fsm demo: fake backend violation: {violation}", file=sys.stderr)
        return status if not violations else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _env_with_checkout_codex() -> dict[str, str]:
    """A checkout's pinned Codex (node_modules/.bin) first, when there is one, then whatever the user has."""
    env = dict(os.environ)
    if CHECKOUT_CODEX_BIN.is_dir():
        env["PATH"] = os.pathsep.join([str(CHECKOUT_CODEX_BIN), env.get("PATH", "")])
    return env


def _banner(auto: bool) -> None:
    print("codex-fsm demo: the real Codex, offline, against a fake ChatGPT backend on 127.0.0.1.")
    print("Three demo accounts; demo-a runs out after two prompts, and codex-fsm moves the session to the next.")
    if not auto:
        print("Type prompts as usual; press Ctrl-C twice to quit.")
    print(flush=True)


def _codex_fsm_argv() -> list[str]:
    return [sys.executable, "-m", "supervisor.cli"]


def _interactive(world: SupervisedWorld) -> int:
    # The wrapper owns the terminal in raw mode; a stray SIGINT must not kill the demo before clean-up.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.run(_codex_fsm_argv(), env=world.env(), cwd=world.work_dir).returncode
    finally:
        signal.signal(signal.SIGINT, previous)


def _play(world: SupervisedWorld) -> int:
    echo = sys.stdout.buffer if sys.stdout.isatty() else None
    terminal = Terminal(_codex_fsm_argv(), world.env(), world.work_dir, echo=echo)
    try:
        terminal.wait_for_osc("idle", STEP_TIMEOUT_S)
        done = 0
        for number, prompt in enumerate(SCRIPTED_PROMPTS, start=1):
            if number == ROTATION_AFTER_PROMPT + 1:
                # demo-a reported 100 % used: codex-fsm stops Codex (OSC clear) and resumes it on demo-b.
                cleared = terminal.wait_for_osc("clear", STEP_TIMEOUT_S, since=done)
                terminal.wait_for_osc("idle", STEP_TIMEOUT_S, since=cleared)
            submitted = terminal.submit(prompt, STEP_TIMEOUT_S, paste_gap=SUBMIT_GAP_S)
            terminal.wait_for(rf"PONG-{number} \[", STEP_TIMEOUT_S)
            done = terminal.wait_for_osc("done", STEP_TIMEOUT_S, since=submitted)
        terminal.send(b"\x03")  # Ctrl-C on Codex's empty composer quits it, and codex-fsm with it
        status = terminal.wait_exit(STEP_TIMEOUT_S)
    except TerminalTimeout as exc:
        raise CodexFsmError(f"demo: the scripted session did not go as planned: {exc}") from None
    finally:
        terminal.close()
    if echo is None:  # nobody watched the screen: show what codex-fsm told the user on it
        for line in _notice_lines(bytes(terminal.raw)):
            print(f"on screen: {line}")
    return status


_ESCAPE = re.compile(r"\x1b(\][^\x07\x1b]*(\x07|\x1b\\)|\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")


def _notice_lines(raw: bytes) -> list[str]:
    """codex-fsm's own lines (notices such as the rotation line) from the raw terminal stream. The
    notifications that go with them are not lines: OSC 9/777 go with the escapes, a bell (BEL) too."""
    text = _ESCAPE.sub("", raw.decode("utf-8", "replace")).replace("\x07", "").replace("\r", "\n")
    return [line.strip() for line in text.split("\n") if line.strip().startswith(NOTICE_PREFIX.strip())]


def _summarise(log: Path, output_dir: Path) -> None:
    chart = load_chart_file(default_chart_path())
    result = replay_file(log, chart)
    paths.ensure_private_dir(output_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept_log = output_dir / f"demo-{stamp}.jsonl"
    shutil.copyfile(log, kept_log)
    try:
        diagram = output_dir / f"demo-{stamp}.svg"
        diagram.write_text(render_path_svg(chart, result.fired, kept_log.name), encoding="utf-8")
    except DiagramError as exc:  # no Graphviz here: the same steps as a table
        print(f"codex-fsm demo: {exc}; the path is written as a table instead", file=sys.stderr)
        diagram = output_dir / f"demo-{stamp}.md"
        diagram.write_text(render_path_table(chart, result.fired, kept_log.name), encoding="utf-8")
    for kept in (kept_log, diagram):
        kept.chmod(0o600)
    print()
    print(f"the session's moves ({result.events} events, {result.rejected} rejected):")
    for line in summarize_moves(chart, result.fired):
        print(f"  {line}")
    print(f"transition log: {kept_log}")
    print(f"diagram of the session's path: {diagram}")
