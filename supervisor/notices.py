"""The one line the user sees for each Notify command the core issues.

Accounts appear only as masked labels from an injected lookup (the pool knows them); this module
never sees an email or a token, so it cannot show one. Labels, session ids, reasons and server text
come from outside: the whole line passes ``for_terminal``, so no parameter can drive the terminal or
break the line, and the command to resume by hand is quoted for the shell.
"""

from __future__ import annotations

import shlex
import time
from typing import Callable

from .core.commands import Notify
from .terminal_text import for_terminal

LabelLookup = Callable[[str], str]
PREFIX = "codex-fsm: "


def _when(epoch: object) -> str:
    if not isinstance(epoch, (int, float)):
        return "an unknown time"
    return time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(epoch))


def _label(label_of: LabelLookup, account: object) -> str:
    return label_of(account) if isinstance(account, str) and account else "no account"


def _manual(session_id: object, headless: bool = False) -> str:
    if not session_id:
        return "run it again later" if headless else "no session to resume"
    command = ["codex", "exec", "resume"] if headless else ["codex", "resume"]
    return f"resume by hand with `{shlex.join([*command, str(session_id)])}`"


def _resets(notice: Notify) -> str:
    epoch = notice.param("resets_at")
    if not isinstance(epoch, (int, float)):
        return ""
    return f" (resets {_when(epoch)})"


def _figures(notice: Notify) -> str:
    parts = [f"{key.removeprefix('used_')} {value:g}% used" for key, value in notice.params
             if key.startswith("used_") and isinstance(value, (int, float))]
    return f" ({', '.join(parts)})" if parts else ""


_REASONS = {"quota": "quota near its limit", "usage_limit": "usage limit reached",
            "lease_lost": "account taken by another session", None: "reselected"}


def _hashable(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float))


def render(notice: Notify, label_of: LabelLookup, headless: bool = False) -> str:
    """The line for ``notice``. ``headless``: a ``codex exec`` run, named "exec" (a script's log shows
    which run moved), and resumed by hand with ``codex exec resume``."""
    kind, p = notice.kind, notice.param
    manual = (lambda session_id: _manual(session_id, headless))
    if kind == "rotated":
        source = p("from")
        reason = _REASONS.get(p("reason"), str(p("reason"))) if _hashable(p("reason")) else str(p("reason"))
        origin = f"from {_label(label_of, source)} " if source else ""
        subject = "exec" if headless else f"session {p('session_id') or '(new)'}"
        text = (f"{subject} moved {origin}to {_label(label_of, p('to'))}: "
                f"{reason}{_resets(notice)}{_figures(notice)}")
    elif kind == "pool_wait":
        text = (f"every account is at its limit; waiting {p('seconds')} s for the soonest reset "
                f"at {_when(p('reset_at'))} (Ctrl-C to quit)")
    elif kind == "gave_up":
        reset = p("reset_at")
        limit = p("max_wait_s")
        beyond = f", beyond the {limit:g} s codex-fsm may wait" if isinstance(limit, (int, float)) else ""
        soonest = f"; the soonest reset is {_when(reset)}{beyond}" if reset is not None else ""
        text = f"no account can continue ({p('reason') or 'pool exhausted'}){soonest}; {manual(p('session_id'))}"
    elif kind == "rotation_suspended":
        text = (f"rotation paused: {p('why')} ({p('restarts')} restarts); the session stays on this "
                f"account; {manual(p('session_id'))} later if it stops")
    elif kind == "spawn_failed":
        text = f"could not start Codex: {p('reason')}"
    elif kind == "lease_lost":
        after = "this run goes on there until it ends" if headless else "moving at the next turn boundary"
        text = f"another session took {_label(label_of, p('account'))}; {after}"
    elif kind == "child_unkillable":
        text = f"Codex did not stop even after SIGKILL; {manual(p('session_id'))}"
    elif kind == "resume_hint":
        text = f"Codex ended; {manual(p('session_id'))}"
    elif kind == "no_session_to_resume":
        text = "the account had to change but Codex had not started a session yet; run codex-fsm again"
    elif kind == "crash_resume":
        text = f"Codex died of signal {p('signal')}; resuming session {p('session_id')}"
    else:
        text = kind.replace("_", " ")
    return PREFIX + for_terminal(text)
