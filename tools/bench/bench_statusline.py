"""Start-up with codex-fsm's status line inside Codex (0.171+) against the same start without it.

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python tools/bench/bench_statusline.py [--rounds N]

Each round starts `codex-fsm` (the real newest pinned Codex, the fake backend, one account with a fresh
stored snapshot) twice, in alternating order: `[notify] statusline = auto` and `= off`. Two moments per
start: the composer ready (OSC 7501 idle and "Ask Codex to do anything" on the screen model) and, with the
line on, codex-fsm's status line on the footer. Prints medians (min-max) and the median of the per-round
differences. Re-executes itself in a loopback-only network namespace when it can; the dead-proxy
environment is set either way.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from supervisor.demo.fake_backend import FakeChatGPTBackend  # noqa: E402
from supervisor.demo.fake_backend.netns import in_loopback_netns, reexec_in_loopback_netns  # noqa: E402
from supervisor.demo.fake_backend.world import SupervisedWorld  # noqa: E402
from supervisor.demo.terminal import Terminal  # noqa: E402
from tests.pinned_codex import native_binary  # noqa: E402

COMPOSER_READY = r"Ask Codex to do anything"
STATUS_LINE = r"codex-fsm alpha +5h"


def one_start(root: Path, statusline: str) -> tuple[float, float | None]:
    """(launch -> composer ready, launch -> status line shown or None) in seconds."""
    with FakeChatGPTBackend(root / "backend", chunk_delay_s=0) as backend:
        world = SupervisedWorld(root, backend, native_binary("newest"),
                                settings={"CODEX_FSM_NOTIFY_STATUSLINE": statusline,
                                          "PYTHONPATH": str(REPO)}).create()
        backend.set_account("acct-a", primary_used_percent=10.0)
        world.add_account("acct-a", "alpha")
        world.codex_fsm("status")  # the first start's one-off work (option tables, feature check) is done here
        started = time.monotonic()
        terminal = Terminal([sys.executable, "-m", "supervisor.cli"], world.env(), world.work_dir)
        try:
            terminal.wait_for_osc("idle", 30)
            terminal.wait_for(COMPOSER_READY, 30)
            ready = time.monotonic() - started
            shown = None
            if statusline == "auto":
                terminal.wait_for(STATUS_LINE, 30)
                shown = time.monotonic() - started
        finally:  # the measured moments are taken: the throwaway session is ended by close(), not awaited
            terminal.close()
    return ready, shown


def ms(values: list[float]) -> str:
    v = [x * 1000 for x in values]
    return f"{statistics.median(v):.0f} ({min(v):.0f}-{max(v):.0f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if not in_loopback_netns():
        reexec_in_loopback_netns([sys.executable, *sys.argv])
    on_ready: list[float] = []
    off_ready: list[float] = []
    shown: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-statusline-") as scratch:
        for round_ in range(args.rounds):
            order = ("auto", "off") if round_ % 2 == 0 else ("off", "auto")
            for setting in order:
                ready, line = one_start(Path(scratch) / f"{round_}-{setting}", setting)
                (on_ready if setting == "auto" else off_ready).append(ready)
                if line is not None:
                    shown.append(line)
    differences = [a - b for a, b in zip(on_ready, off_ready, strict=True)]
    print(f"rounds: {args.rounds}, Codex {native_binary('newest')}")
    print(f"launch -> composer ready, status line off : {ms(off_ready)} ms")
    print(f"launch -> composer ready, status line on  : {ms(on_ready)} ms")
    print(f"difference (median of per-round)          : {statistics.median(differences) * 1000:+.0f} ms")
    print(f"launch -> status line on the footer       : {ms(shown)} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
