"""A plain numbered-list picker for ``codex-fsm resume`` (the sessions of every account).

It runs before Codex starts, on the user's terminal in its normal (cooked) mode: a list, a prompt,
a number or ``q``. What it shows and what the user types go to the terminal only, never to a log.
"""

from __future__ import annotations

import os
import time
from typing import TextIO

from ..errors import TerminalError
from .session_catalog import SessionSummary, display_text

CWD_WIDTH = 40
TITLE_WIDTH = 60
CANCEL_WORDS = frozenset({"q", "quit"})


def choose_session(sessions: list[SessionSummary], stdin: TextIO, stdout: TextIO) -> SessionSummary | None:
    """The session the user picks by number; None when they cancel (q, Ctrl-D, Ctrl-C)."""
    if not stdin.isatty():
        raise TerminalError("`codex-fsm resume` without a session id shows a picker, which needs a terminal; "
                            "pass the id instead: `codex-fsm resume <session-id>` (or use --last)")
    stdout.write(render_sessions(sessions))
    prompt = f"Resume which session? [1-{len(sessions)}, q to cancel]: "
    try:
        while True:
            stdout.write(prompt)
            stdout.flush()
            line = stdin.readline()
            if not line:
                stdout.write("\n")
                return None
            answer = line.strip().lower()
            if answer in CANCEL_WORDS:
                return None
            if answer.isdigit() and 1 <= int(answer) <= len(sessions):
                return sessions[int(answer) - 1]
            stdout.write(f"  type a number from 1 to {len(sessions)}, or q to cancel\n")
    except KeyboardInterrupt:
        stdout.write("\n")
        return None


def render_sessions(sessions: list[SessionSummary]) -> str:
    """The numbered list, newest first, one line per session."""
    home = os.path.expanduser("~")
    width = len(str(len(sessions)))
    lines = ["Saved Codex sessions (from every account), newest first:"]
    for number, session in enumerate(sessions, 1):
        updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(session.updated_at))
        cwd = session.cwd or "?"
        if cwd == home or cwd.startswith(home + os.sep):
            cwd = "~" + cwd[len(home):]
        title = display_text(session.title_hint, TITLE_WIDTH) if session.title_hint else "(no prompt yet)"
        lines.append(f"  {number:>{width}}  {updated}  {display_text(cwd, CWD_WIDTH):<{CWD_WIDTH}}  {title}")
    return "\n".join(lines) + "\n"
