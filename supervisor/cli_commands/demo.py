"""``codex-fsm demo [--auto]``: the real Codex under codex-fsm, offline, on three fake accounts.

A throwaway world (fake ChatGPT backend on 127.0.0.1, a pool of three demo accounts, a private
CODEX_HOME) is built under a temporary directory; the user's own ~/.codex and pool are never touched.
The first account runs out after two prompts, so the rotation happens in front of the user. At the end
the transition summary is printed, and the transition log and the path-highlighted diagram are kept
(in the codex-fsm logs directory, or --output-dir); everything else is removed.

The fake backend lives in the source checkout (``tools/fake_backend``), next to the ``supervisor``
package: the demo runs from a checkout (``make install`` / ``make demo``).
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
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Callable

from .. import paths
from ..adapters.codex_binary import find_codex_binary
from ..chartfile import default_chart_path, load_chart_file
from ..diagram import render_mermaid
from ..errors import CodexFsmError, ConfigError
from ..replay import replay_file
from ..notices import PREFIX as NOTICE_PREFIX

if TYPE_CHECKING:
    import pexpect

    from tools.fake_backend.world import SupervisedWorld

CHECKOUT = Path(__file__).resolve().parents[2]
# (backend account id, pool label)
DEMO_ACCOUNTS = (("acct-demo-a", "demo-a"), ("acct-demo-b", "demo-b"), ("acct-demo-c", "demo-c"))
SCRIPTED_PROMPTS = ("Sketch a tiny todo CLI", "Add a --done flag", "Now write its tests")
ROTATION_AFTER_PROMPT = 2
# Codex treats Enter that follows typed text too closely as part of a paste,
# so the submit waits this long after the text.
SUBMIT_GAP_S = 0.3
STEP_TIMEOUT_S = 60.0
_CURSOR_POSITION_QUERY = b"\x1b[6n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="codex-fsm demo", description=__doc__.splitlines()[0])
    parser.add_argument("--auto", action="store_true", help="play a scripted session unattended")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="where the transition log and diagram are kept (default: codex-fsm's logs directory)")
    args = parser.parse_args(argv)
    if not args.auto and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError("demo: stdin/stdout are not a terminal; use `codex-fsm demo --auto`")
    fake = _fake_backend()
    import_module("tools.fake_backend.netns").reexec_in_loopback_netns(
        [sys.executable, "-m", "supervisor.cli", "demo", *argv])
    output_dir = args.output_dir or paths.logs_dir()
    codex = find_codex_binary(_env_with_checkout_codex()).path
    root = Path(tempfile.mkdtemp(prefix="codex-fsm-demo-"))
    try:
        with fake.FakeChatGPTBackend(root / "backend") as backend:
            world = import_module("tools.fake_backend.world").SupervisedWorld(root, backend, codex).create()
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


def _fake_backend() -> ModuleType:
    if not (CHECKOUT / "tools" / "fake_backend" / "__init__.py").is_file():
        raise ConfigError(f"demo: needs the source checkout: {CHECKOUT}/tools/fake_backend is missing")
    if str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))
    return import_module("tools.fake_backend")


def _env_with_checkout_codex() -> dict[str, str]:
    """The checkout's pinned Codex (node_modules/.bin) first, then whatever the user has."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(CHECKOUT / "node_modules" / ".bin"), env.get("PATH", "")])
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
    import pexpect  # lazily: only the scripted demo drives a pty

    program, *args = _codex_fsm_argv()
    child = pexpect.spawn(program, args, env=world.env(), cwd=str(world.work_dir), dimensions=(40, 120),
                          encoding=None, timeout=None)
    script = _Script(child)
    try:
        script.wait_osc("idle", since=0)
        done = 0
        for number, prompt in enumerate(SCRIPTED_PROMPTS, start=1):
            if number == ROTATION_AFTER_PROMPT + 1:
                # demo-a reported 100 % used: codex-fsm stops Codex (OSC clear) and resumes it on demo-b.
                cleared = script.wait_osc("clear", since=done)
                script.wait_osc("idle", since=cleared)
            submitted = script.submit(prompt)
            script.wait_text(rf"PONG-{number} \[")
            done = script.wait_osc("done", since=submitted)
        script.send(b"\x03")  # Ctrl-C on Codex's empty composer quits it, and codex-fsm with it
        status = script.wait_exit()
        if script.echo is None:  # nobody watched the screen: show what codex-fsm told the user on it
            for line in _notice_lines(bytes(script.raw)):
                print(f"on screen: {line}")
        return status
    finally:
        if child.isalive():
            os.killpg(child.pid, signal.SIGKILL)
        child.close(force=True)


class _Script:
    """Drives codex-fsm under a pty, echoing its output: waits on Codex's OSC 7501 states in the raw stream
    (from a given offset, so nothing that arrived early is missed) and on text in a screen model (Codex
    redraws only changed cells, so typed text is not contiguous in the raw stream)."""

    def __init__(self, child: pexpect.spawn) -> None:
        try:
            import pyte
        except ImportError:
            raise ConfigError("demo: the scripted demo needs pyte; run `make install`") from None
        self.child = child
        self.raw = bytearray()
        self.screen = pyte.Screen(120, 40)
        self.stream = pyte.ByteStream(self.screen)
        self.echo = sys.stdout.buffer if sys.stdout.isatty() else None

    def _read(self, deadline: float) -> bool:
        """Read and echo what codex-fsm printed; False once it closed the pty."""
        import pexpect

        if time.monotonic() >= deadline:
            raise CodexFsmError(f"demo: the scripted session stalled for {STEP_TIMEOUT_S:.0f} s; "
                                f"the screen ended with:\n{self.screen_tail()}")
        try:
            data = self.child.read_nonblocking(65536, timeout=max(min(deadline - time.monotonic(), 0.2), 0))
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self.raw += data
        self.stream.feed(data)
        for _ in range(data.count(_CURSOR_POSITION_QUERY)):  # a terminal answers these; Codex waits for it
            self.child.write(f"\x1b[{self.screen.cursor.y + 1};{self.screen.cursor.x + 1}R".encode())
        if self.echo is not None:
            self.echo.write(data)
            self.echo.flush()
        return True

    def _wait(self, found: Callable[[], int | None]) -> int:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while (where := found()) is None:
            if not self._read(deadline):
                raise CodexFsmError("demo: codex-fsm exited in the middle of the scripted session; "
                                    f"the screen ended with:\n{self.screen_tail()}")
        return where

    def screen_tail(self, lines: int = 12) -> str:
        shown = [line.rstrip() for line in self.screen.display if line.strip()]
        return "\n".join(shown[-lines:])

    def wait_osc(self, state: str, since: int) -> int:
        """Codex's OSC 7501 `state` after raw offset `since`; returns the offset just past it."""
        regex = re.compile(rb"\x1b\]7501;state=" + state.encode() + rb"\b")
        return self._wait(lambda: (m.end() if (m := regex.search(self.raw, since)) else None))

    def wait_text(self, pattern: str) -> None:
        regex = re.compile(pattern)
        self._wait(lambda: 0 if regex.search("\n".join(self.screen.display)) else None)

    def send(self, data: bytes) -> None:
        self.child.write(data)

    def submit(self, prompt: str) -> int:
        """Type `prompt`, press Enter once it shows; returns the raw offset of the Enter."""
        self.send(prompt.encode())
        self.wait_text(re.escape(prompt))
        time.sleep(SUBMIT_GAP_S)  # Codex's paste detection, not synchronisation: the text is already shown
        entered = len(self.raw)
        self.send(b"\r")
        self.wait_osc("working", since=entered)
        return entered

    def wait_exit(self) -> int:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while self._read(deadline):
            pass
        self.child.wait()
        return int(self.child.exitstatus if self.child.exitstatus is not None else 128 + (self.child.signalstatus or 0))


_ESCAPE = re.compile(r"\x1b(\][^\x07\x1b]*(\x07|\x1b\\)|\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")


def _notice_lines(raw: bytes) -> list[str]:
    """codex-fsm's own lines (notices such as the rotation line) from the raw terminal stream."""
    text = _ESCAPE.sub("", raw.decode("utf-8", "replace")).replace("\r", "\n")
    return [line.strip() for line in text.split("\n") if line.strip().startswith(NOTICE_PREFIX.strip())]


def _summarise(log: Path, output_dir: Path) -> None:
    chart = load_chart_file(default_chart_path())
    result = replay_file(log, chart)
    paths.ensure_private_dir(output_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept_log = output_dir / f"demo-{stamp}.jsonl"
    diagram = output_dir / f"demo-{stamp}.mmd"
    shutil.copyfile(log, kept_log)
    diagram.write_text(render_mermaid(chart, result.path), encoding="utf-8")
    for kept in (kept_log, diagram):
        kept.chmod(0o600)
    print()
    print(f"transitions: {result.transitions} ({result.events} events, {result.rejected} rejected), "
          f"{result.first_state} -> {result.final_state}")
    for row in result.path:
        print(f"  {row}")
    print(f"transition log: {kept_log}")
    print(f"diagram (path highlighted): {diagram}")
    print(diagram.read_text(encoding="utf-8"))
