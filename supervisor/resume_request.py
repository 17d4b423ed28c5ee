"""``codex-fsm resume --last`` and ``codex-fsm resume`` (the picker) across every account.

Codex resolves ``--last`` and its picker among the threads of the account it runs on
(the threads recorded in that account's home), which after a rotation is not the account that created the thread. So
codex-fsm picks the session itself, from the user's real CODEX_HOME, and hands Codex an explicit id:
``resume <id>`` crosses accounts. The same holds for ``fork``. Codex's own meaning is kept: the
current folder (or ``-C``) unless ``--all``, interactive sessions unless ``--include-non-interactive``,
and ``--last`` with nothing to resume starts a new session.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from .adapters.codex_args import SESSION_ID_PATTERN, SESSION_PICKER_FLAGS, classify
from .adapters.codex_options import FALLBACK, CodexOptions
from .adapters.session_catalog import SessionSummary, latest_session, list_sessions
from .errors import SessionNotFound

PICKER_LIMIT = 50
SESSION_COMMANDS = frozenset({"resume", "fork"})

Chooser = Callable[[list[SessionSummary]], SessionSummary | None]


def rewrite_resume_args(argv: list[str], codex_home: Path, cwd: str, choose: Chooser,
                        options: CodexOptions = FALLBACK) -> list[str] | None:
    """``argv`` with the session named explicitly when it asked for ``--last`` or the picker.

    Returns ``argv`` unchanged for anything else (an explicit id or name, other commands), None when
    the user cancelled the picker. Raises SessionNotFound when the picker would have nothing to show.
    ``options`` are the installed Codex's option tables.
    """
    invocation = classify(argv, options)
    if invocation.command not in SESSION_COMMANDS or not invocation.interactive:
        return list(argv)
    rest = list(invocation.rest)
    values = options.for_command(invocation.command).values
    flags, positional = _picker_flags_and_first_positional(rest, values)
    last = "--last" in flags
    if positional is not None and (SESSION_ID_PATTERN.match(rest[positional]) or not last):
        return list(argv)  # an explicit id or session name: Codex finds it under any account
    folder = None if "--all" in flags else _session_folder(invocation.cd, cwd)
    include_non_interactive = "--include-non-interactive" in flags
    kept = [arg for i, arg in enumerate(rest) if not _is_picker_flag(rest, i, values)]
    head = [*invocation.leading, invocation.command]
    if last:
        # With --last, a positional is the prompt to send into the resumed session.
        chosen = latest_session(codex_home, folder, include_non_interactive=include_non_interactive)
        if chosen is None:
            return [*invocation.leading, *kept]  # as Codex does: nothing to resume starts a new session
        return [*head, chosen.session_id, *kept]
    sessions = list_sessions(codex_home, cwd=folder, limit=PICKER_LIMIT,
                             include_non_interactive=include_non_interactive)
    if not sessions:
        where = "in any folder" if folder is None else f"for {folder} (add --all to list every folder's)"
        raise SessionNotFound(f"no saved Codex session under {Path(codex_home) / 'sessions'} {where}; "
                              "start a new one with `codex-fsm`")
    chosen = choose(sessions)
    if chosen is None:
        return None
    return [*head, chosen.session_id, *kept]


def _session_folder(cd: str | None, cwd: str) -> str:
    """The folder Codex records as the session's cwd: ``-C`` (relative to ours) or ours."""
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(cd))) if cd else cwd


def _picker_flags_and_first_positional(rest: list[str], values: frozenset[str]) -> tuple[set[str], int | None]:
    """The picker flags given after the subcommand, and the index of its first positional."""
    flags: set[str] = set()
    positional = None
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--":
            if positional is None and i + 1 < len(rest):
                positional = i + 1
            break
        if arg.startswith("-") and arg != "-":
            if arg in SESSION_PICKER_FLAGS:
                flags.add(arg)
            i += 2 if arg in values else 1  # ``--model=x`` and ``-mx`` carry their value
            continue
        if positional is None:
            positional = i
        i += 1
    return flags, positional


def _is_picker_flag(rest: list[str], index: int, values: frozenset[str]) -> bool:
    """``rest[index]`` is a picker flag in option position (not a value, not after ``--``)."""
    if rest[index] not in SESSION_PICKER_FLAGS:
        return False
    i = 0
    while i < index:
        if rest[i] == "--":
            return False
        i += 2 if rest[i] in values else 1
    return i == index
