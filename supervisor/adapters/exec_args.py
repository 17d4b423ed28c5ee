"""Codex's headless command lines (``exec``, ``exec resume``, ``exec review``, ``review``) as codex-fsm
needs to understand them: what the run reads and writes, and how to continue its thread on another
account with ``exec resume <id> <prompt>``.

The option tables are the installed Codex's own (learned from the ``--help`` of each subcommand, see
``learned_options``), carried by the Invocation, else the fallback tables of ``codex_options``. Codex's parser
decides where each option may stand: an option of ``codex exec`` marked global (``-m``, ``--json``,
``-o``, ``--skip-git-repo-check`` …) is also accepted after ``resume``, the others (``-s``, ``-C``,
``-p``, ``--color`` …) only before it. A continuation therefore keeps every option at the level the
user wrote it: the exec-level ones before ``resume``, the ones given to ``resume``/``review`` after it,
which ``exec resume`` accepts for every option that survives the translation.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from .codex_args import NO_DAEMON_ARGS, SESSION_ID_PATTERN, Invocation, classify, forward_args
from .codex_options import FALLBACK, HIDDEN_EXEC_FLAGS, OptionTable


# The fallback tables, by their old names (the installed Codex's own come with each Invocation).
EXEC = FALLBACK.exec
EXEC_RESUME = FALLBACK.exec_resume
EXEC_REVIEW = FALLBACK.exec_review
REVIEW = FALLBACK.review
ROOT = FALLBACK.root
HIDDEN_FLAGS = HIDDEN_EXEC_FLAGS

EXEC_COMMANDS = frozenset({"exec", "e"})
EXEC_SUBCOMMANDS = FALLBACK.exec_subcommands
# What the continuation leaves out: the first prompt's images, the old session picker, and what makes a
# review a review (the continuation is a plain `exec resume` of the review's thread).
FIRST_PROMPT_ONLY = frozenset({"-i", "--image"})
PICKER_FLAGS = frozenset({"--last", "--all"})
REVIEW_ONLY = frozenset({"--uncommitted", "--base", "--commit", "--title"})
REVIEW_TARGETS = frozenset({"--uncommitted", "--base", "--commit"})
HELP_OR_VERSION = frozenset({"-h", "--help", "-V", "--version"})

_JSON = frozenset({"--json", "--experimental-json"})
_LAST_MESSAGE = frozenset({"-o", "--output-last-message"})
_CD = frozenset({"-C", "--cd"})


@dataclass(frozen=True, slots=True)
class _Word:
    """One argument as written (``("-m", "o3")``, ``("-mo3",)``, ``("--model=o3",)``, ``("prompt",)``)."""

    args: tuple[str, ...]
    name: str | None  # the option's name, None for a positional
    value: str | None  # an option's value (None for a flag), or the positional itself


@dataclass(frozen=True, slots=True)
class _Level:
    """The words of one command level, and where the next level starts."""

    table: OptionTable
    words: tuple[_Word, ...]
    positionals: tuple[str, ...]
    subcommand: str | None = None


@dataclass(frozen=True, slots=True)
class HeadlessRun:
    """What one headless Codex run is: its form, the thread it continues, what it reads and writes."""

    invocation: Invocation
    form: str  # "exec" | "exec resume" | "exec review" | "review"
    resume_id: str | None  # `exec resume <uuid>`
    resume_name: str | None  # `exec resume <thread name>` (Codex looks the name up; none found starts anew)
    resume_last: bool  # `exec resume --last`
    resume_all: bool  # `exec resume --last --all`: any folder
    prompt_from_stdin: bool  # Codex reads the prompt from stdin (PROMPT is `-`, or none was given)
    json_events: bool  # --json: stdout is JSONL events
    last_message_file: str | None  # -o/--output-last-message, the value as given
    cd: str | None  # -C/--cd, the value as given
    ephemeral: bool  # --ephemeral: no rollout is written, so there is no thread to continue
    shows_help: bool  # -h/--help/-V/--version: Codex prints and exits, nothing to supervise


def parse_headless(invocation: Invocation) -> HeadlessRun:
    """Understand ``codex [root opts] exec|e [opts] [resume|review [opts]] [PROMPT|-]`` or ``review``.

    Raises ConfigError naming the argument Codex's own parser would also reject (an option missing its
    value, a surplus positional), or a form codex-fsm does not continue (``exec fork``, ``exec help``).
    """
    levels = _levels(invocation)
    form = _form(invocation, levels)  # raises for what is not a headless run
    exec_level = levels[0] if invocation.command in EXEC_COMMANDS else None
    top = levels[-1]
    shows_help = (levels[0].subcommand == "help"
                  or any(w.name in HELP_OR_VERSION for level in levels for w in level.words)
                  or any(a in HELP_OR_VERSION for a in _before_separator(invocation.leading)))
    words = [w for level in levels for w in level.words]
    resume_id = resume_name = None
    resume_last = resume_all = False
    if form == "exec resume":
        resume_last = _has(top, "--last")
        resume_all = _has(top, "--all")
        target, prompt = _resume_target_and_prompt(top, resume_last)
        if target is not None and SESSION_ID_PATTERN.match(target):
            resume_id = target
        else:
            resume_name = target
        if prompt is None and exec_level is not None and exec_level.positionals:
            prompt = exec_level.positionals[0]  # `exec PROMPT resume <id>`: Codex takes the exec-level prompt
        prompt_from_stdin = prompt is None or prompt == "-"
    elif form == "exec":
        prompt = top.positionals[0] if top.positionals else None
        prompt_from_stdin = prompt is None or prompt == "-"
    else:
        prompt = top.positionals[0] if top.positionals else None
        # A review without instructions reviews its target (--uncommitted …); it reads stdin only for `-`.
        prompt_from_stdin = prompt == "-"
    root_cd = _last_value(_words(_before_separator(invocation.leading), invocation.options.root,
                                 stop_at=None).words, _CD)
    return HeadlessRun(
        invocation=invocation, form=form, resume_id=resume_id, resume_name=resume_name,
        resume_last=resume_last, resume_all=resume_all, prompt_from_stdin=prompt_from_stdin,
        json_events=any(w.name in _JSON for w in words),
        last_message_file=_last_value(words, _LAST_MESSAGE),
        cd=_last_value(words, _CD) or root_cd,
        ephemeral=any(w.name == "--ephemeral" for w in words),
        shows_help=shows_help,
    )


def headless_launch_args(run: HeadlessRun, resume_session_id: str | None, continuation_prompt: str) -> list[str]:
    """The arguments of one supervised headless launch, daemon off.

    Without a session id: the user's command unchanged. With one: the same thread continued on another
    account, ``[root opts] exec [exec opts] resume [resume opts] -- <id> <continuation_prompt>``, every
    option kept where the user wrote it except the first prompt's images, ``--last``/``--all`` and a
    review's own options; positionals (the prompt, ``-``, the old id) are dropped. The id and prompt
    follow ``--`` so a prompt that starts with ``-`` stays a prompt.
    """
    if resume_session_id is None:
        return forward_args(run.invocation)
    if not SESSION_ID_PATTERN.match(resume_session_id):
        raise ConfigError(f"cannot continue Codex session {resume_session_id!r}: not a session id (UUID)")
    invocation = run.invocation
    levels = _levels(invocation)
    root = _keep(_words(_before_separator(invocation.leading), invocation.options.root, stop_at=None).words,
                 FIRST_PROMPT_ONLY)
    if invocation.command in EXEC_COMMANDS:
        exec_opts = _keep(levels[0].words, FIRST_PROMPT_ONLY)
        sub_opts = _keep(levels[1].words, FIRST_PROMPT_ONLY | PICKER_FLAGS | REVIEW_ONLY) if len(levels) > 1 else []
    else:  # `codex review`: its options (-c, --enable, --trust …) are all accepted by `exec resume`
        exec_opts = []
        sub_opts = _keep(levels[0].words, REVIEW_ONLY)
    return [*NO_DAEMON_ARGS, *root, "exec", *exec_opts, "resume", *sub_opts, "--", resume_session_id,
            continuation_prompt]


def resolve_last(run: HeadlessRun, codex_home: Path, cwd: str) -> HeadlessRun:
    """``exec resume --last`` turned into ``exec resume <id>`` with the session Codex would pick.

    Codex's ``exec resume --last`` takes the most recently updated thread of any source (interactive,
    exec, sub-agents) whose cwd is the run's folder (``-C`` or the current one), any folder with
    ``--all``. Codex looks only at the account home it runs on; codex-fsm looks at the user's real
    CODEX_HOME, where every account's sessions are. With nothing to resume the run is returned
    unchanged: Codex then starts a new thread with the prompt.
    """
    if not run.resume_last:
        return run
    # Only ``--last`` reads the session catalog (and the rollout reader it uses): every other run's
    # start imports neither before Codex is spawned.
    from .session_catalog import latest_session

    folder = None if run.resume_all else _session_folder(run.cd, cwd)
    chosen = latest_session(codex_home, folder, include_non_interactive=True)
    if chosen is None:
        return run
    invocation = run.invocation
    resume_level = _levels(invocation)[-1]
    _, prompt = _resume_target_and_prompt(resume_level, last=True)
    resume_args = sum(len(w.args) for w in resume_level.words)
    head = invocation.argv[:len(invocation.argv) - resume_args]  # up to and including `resume`
    argv = [*head, *_keep(resume_level.words, PICKER_FLAGS), "--", chosen.session_id, *([prompt] if prompt else [])]
    return parse_headless(classify(argv, invocation.options))


# ---- parsing ------------------------------------------------------------------------------------------


def _form(invocation: Invocation, levels: list[_Level]) -> str:
    if invocation.command == "review":
        return "review"
    if invocation.command not in EXEC_COMMANDS:
        raise ConfigError(f"`codex {invocation.command or ' '.join(invocation.argv[:1])}` is not a headless "
                          "run (expected exec, e or review)")
    subcommand = levels[0].subcommand
    if subcommand in (None, "help"):
        return "exec"
    if subcommand in ("resume", "review"):
        return f"exec {subcommand}"
    raise ConfigError(f"`codex exec {subcommand}` is not a run codex-fsm supervises (exec, exec resume and "
                      "exec review are)")


def _levels(invocation: Invocation) -> list[_Level]:
    """The command levels after the primary command: ``[exec]`` or ``[exec, resume|review]`` or ``[review]``."""
    rest = invocation.rest
    options = invocation.options
    if invocation.command == "review":
        return [_checked(_words(rest, options.review, stop_at=None), 1)]
    if invocation.command not in EXEC_COMMANDS:
        return []  # _form names the command that is not a headless run
    first = _checked(_words(rest, options.exec, stop_at=options.exec_subcommands), 1)
    if first.subcommand is None:
        return [first]
    sub_args = rest[sum(len(w.args) for w in first.words) + 1:]
    table = {"resume": options.exec_resume, "review": options.exec_review}.get(first.subcommand)
    if table is None:
        return [first, _Level(options.exec, (), ())]
    return [first, _checked(_words(sub_args, table, stop_at=None), 2 if first.subcommand == "resume" else 1)]


def _checked(level: _Level, most: int) -> _Level:
    if len(level.positionals) > most:
        raise ConfigError(f"unexpected argument {level.positionals[most]!r} for `{level.table.command}` "
                          f"(it takes at most {most} positional argument{'s' if most > 1 else ''})")
    return level


def _words(args: Iterable[str], table: OptionTable, stop_at: frozenset[str] | None) -> _Level:
    """Split ``args`` the way clap does for ``table``: options (with their values), positionals, and the
    first positional naming one of ``stop_at`` (a subcommand), where the level ends."""
    args = tuple(args)
    words: list[_Word] = []
    positionals: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            words.append(_Word((arg,), None, None))
            for positional in args[i + 1:]:
                words.append(_Word((positional,), None, positional))
                positionals.append(positional)
            break
        if arg.startswith("-") and arg != "-":
            word = _option(args, i, table)
            words.append(word)
            i += len(word.args)
            continue
        if stop_at is not None and arg in stop_at:
            return _Level(table, tuple(words), tuple(positionals), subcommand=arg)
        words.append(_Word((arg,), None, arg))
        positionals.append(arg)
        i += 1
    return _Level(table, tuple(words), tuple(positionals))


def _option(args: tuple[str, ...], i: int, table: OptionTable) -> _Word:
    arg = args[i]
    if arg.startswith("--"):
        name, eq, inline = arg.partition("=")
        if eq:
            return _Word((arg,), name, inline)
    elif len(arg) > 2 and arg[:2] in table.values:
        return _Word((arg,), arg[:2], arg[2:].removeprefix("="))  # -mo3, -m=o3
    else:
        name = arg
    if name in table.values:
        if i + 1 >= len(args):
            raise ConfigError(f"option {name} of `{table.command}` needs a value (argument {i + 1} after "
                              f"`{table.command.split()[-1]}`)")
        end = i + 2
        if name in table.multi_values:
            while end < len(args) and not args[end].startswith("-"):
                end += 1
        return _Word(args[i:end], name, args[i + 1])
    # A flag, or an option this Codex does not know: Codex will report the latter itself.
    return _Word((arg,), name, None)


def _resume_target_and_prompt(level: _Level, last: bool) -> tuple[str | None, str | None]:
    """Codex's reading of ``exec resume``'s positionals: with ``--last`` a lone positional is the prompt."""
    positionals = level.positionals
    target = positionals[0] if positionals else None
    prompt = positionals[1] if len(positionals) > 1 else None
    if last and prompt is None:
        return None, target
    return target, prompt


def _has(level: _Level, name: str) -> bool:
    return any(w.name == name for w in level.words)


def _last_value(words: Iterable[_Word], names: frozenset[str]) -> str | None:
    value = None
    for word in words:
        if word.name in names:
            value = word.value
    return value


def _keep(words: Iterable[_Word], dropped: frozenset[str]) -> list[str]:
    """The options of ``words`` as written, without positionals, ``--`` and the ``dropped`` names."""
    kept: list[str] = []
    for word in words:
        if word.name is not None and word.name not in dropped:
            kept.extend(word.args)
    return kept


def _before_separator(args: tuple[str, ...]) -> tuple[str, ...]:
    return args[:args.index("--")] if "--" in args else args


def _session_folder(cd: str | None, cwd: str) -> str:
    """The folder Codex resolves the run in: ``-C`` (relative to ours) or ours."""
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(cd))) if cd else cwd


# ---- codex-fsm's own option ---------------------------------------------------------------------------

MAX_WAIT_OPTION = "--max-wait"
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}


def take_max_wait(invocation: Invocation) -> tuple[Invocation, float | None]:
    """codex-fsm's ``--max-wait DURATION`` (``600``, ``90s``, ``10m``, ``2h``) taken out of a headless run's
    own options (after ``exec``/``review``, before ``--``): how long the run may wait for a reset when every
    account is spent, instead of the configured ``max_pool_wait_s``. Codex has no such option (the drift
    test of the option tables would say so); the rest of the command line reaches Codex unchanged."""
    rest = list(invocation.rest)
    found: float | None = None
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--":
            break
        name, eq, inline = arg.partition("=")
        if name != MAX_WAIT_OPTION:
            i += 1
            continue
        if eq:
            value, width = inline, 1
        elif i + 1 < len(rest):
            value, width = rest[i + 1], 2
        else:
            raise ConfigError(f"{MAX_WAIT_OPTION} needs a duration (e.g. {MAX_WAIT_OPTION} 10m)")
        found = _duration(value)
        del rest[i:i + width]
    if found is None:
        return invocation, None
    head = invocation.argv[:len(invocation.argv) - len(invocation.rest)]
    return classify([*head, *rest], invocation.options), found


def _duration(text: str) -> float:
    unit = _DURATION_UNITS.get(text[-1:].lower()) if text else None
    number = text[:-1] if unit else text
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        from ..terminal_text import for_terminal

        raise ConfigError(f"{MAX_WAIT_OPTION} {for_terminal(text)!r} is not a duration "
                          "(seconds, or a number with s, m or h: 600, 90s, 10m, 2h)")
    return seconds
