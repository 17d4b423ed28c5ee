"""The demo terminal model treats desktop notifications as xterm does: recorded, nothing drawn."""

from __future__ import annotations

import sys
from pathlib import Path

from supervisor.demo.terminal import Terminal

PRINTS = (b"before\x1b]9;codex-fsm: moved\x07mid\x1b]777;notify;codex-fsm;paused\x1b\\after\x07end\r\n")


def test_osc_9_and_777_are_recorded_and_draw_nothing(tmp_path: Path) -> None:
    script = f"import sys; sys.stdout.buffer.write({PRINTS!r}); sys.stdout.flush()"
    terminal = Terminal([sys.executable, "-c", script], {"PATH": "/usr/bin:/bin"}, tmp_path, rows=5, cols=40)
    try:
        assert terminal.wait_exit(20) == 0
        assert terminal.screen_text().splitlines()[0] == "beforemidafterend"
        assert [text for _, text in terminal.notifications()] == ["codex-fsm: moved", "paused"]
        [first, second] = terminal.notifications()
        assert bytes(terminal.raw[first[0]:]).startswith(b"\x1b]9;")
        assert terminal.notifications(since=first[0] + 1) == [second]
    finally:
        terminal.close()
