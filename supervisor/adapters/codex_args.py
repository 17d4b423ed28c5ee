"""Codex's command line as codex-fsm needs to understand it: which options take a value, which
invocations are interactive (supervised), and how to turn the user's command into ``resume <id>``.

Which options consume a value comes from the installed Codex's own ``--help`` (``learned_options``),
else from the fallback tables (``codex_options``). Knowing it is what makes ``codex-fsm -m o3`` and
``codex-fsm "a prompt"`` supervised: a wrapper that took ``o3`` or the prompt for a subcommand would
silently skip supervision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .codex_options import FALLBACK, SESSION_PICKER_FLAGS, CodexOptions

# The fallback tables (what codex-fsm knows without asking the installed Codex), by their old names.
VALUE_OPTIONS: frozenset[str] = FALLBACK.root.values
FLAG_OPTIONS: frozenset[str] = FALLBACK.root.flags
SUBCOMMANDS: frozenset[str] = FALLBACK.subcommands
INTERACTIVE_SUBCOMMANDS: frozenset[str] = frozenset({"resume", "fork"})
HELP_OR_VERSION: frozenset[str] = frozenset({"-h", "--help", "-V", "--version"})
# Attached to the first prompt only; resending them on resume would attach them again.
FIRST_PROMPT_ONLY: frozenset[str] = frozenset({"-i", "--image"})
# What every codex-fsm launch adds: no background daemon that outlives the child or keeps an account,
# and credentials read from the account home's auth.json (a keyring would hold one account for all).
NO_DAEMON_ARGS: tuple[str, ...] = ("-c", "features.daemon_auto_start=false",
                                   "-c", 'cli_auth_credentials_store="file"')

SESSION_ID_PATTERN = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True, slots=True)
class Invocation:
    """The user's Codex arguments split at the primary command."""

    argv: tuple[str, ...]
    leading: tuple[str, ...]  # options before the primary command (or all options when there is none)
    command: str | None  # the subcommand, or None for the plain TUI (with or without a prompt)
    rest: tuple[str, ...]  # everything after the subcommand (or the prompt and later options)
    interactive: bool
    resume_id: str | None  # `resume <uuid>`: the session the user asked for
    options: CodexOptions = FALLBACK  # the tables the arguments were read with

    @property
    def cd(self) -> str | None:
        """The working root given with -C/--cd, which is where Codex records the session's cwd."""
        value = None
        rest_values = self.options.for_command(self.command).values
        for name, arg in [*_options(self.leading, self.options.root.values), *_options(self.rest, rest_values)]:
            if name in ("-C", "--cd"):
                value = arg
        return value


def _split_inline(arg: str) -> tuple[str, str | None]:
    if arg.startswith("--") and "=" in arg:
        name, value = arg.split("=", 1)
        return name, value
    return arg, None


def _takes_value(arg: str, values: frozenset[str]) -> bool:
    """A value option written without its value attached (``-m X``, not ``-mX``/``--model=X``)."""
    name, inline = _split_inline(arg)
    return inline is None and name in values


def _options(args: tuple[str, ...], values: frozenset[str]):
    """(name, value) for each option in ``args``, value None for flags; stops at ``--``."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return
        if arg.startswith("-") and arg != "-":
            name, inline = _split_inline(arg)
            if inline is None and name in values and i + 1 < len(args):
                yield name, args[i + 1]
                i += 2
                continue
            if inline is None and len(name) > 2 and name[1] != "-" and name[:2] in values:
                yield name[:2], name[2:]
            else:
                yield name, inline
        i += 1


def classify(argv: list[str] | tuple[str, ...], options: CodexOptions = FALLBACK) -> Invocation:
    """Find the primary command the way Codex's parser does, knowing (from ``options``) which options eat
    a value."""
    args = tuple(argv)
    root_values = options.root.values
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if arg.startswith("-") and arg != "-":
            if arg in HELP_OR_VERSION:
                return Invocation(args, args[:i], None, args[i:], interactive=False, resume_id=None,
                                  options=options)
            i += 2 if _takes_value(arg, root_values) else 1
            continue
        break
    leading, tail = args[:i], args[i:]
    if tail and args[i - 1:i] != ("--",) and tail[0] in options.subcommands:
        command, rest = tail[0], tail[1:]
        interactive = command in INTERACTIVE_SUBCOMMANDS and not any(
            a in HELP_OR_VERSION for a in _positional_prefix(rest))
        resume_id = None
        if command == "resume":
            first = _first_positional(rest, options.resume.values)
            if first is not None and SESSION_ID_PATTERN.match(first):
                resume_id = first
        return Invocation(args, leading, command, rest, interactive, resume_id, options)
    return Invocation(args, leading, None, tail, interactive=True, resume_id=None, options=options)


def _positional_prefix(rest: tuple[str, ...]) -> tuple[str, ...]:
    """The arguments before ``--`` (where a --help would still be an option)."""
    return rest[:rest.index("--")] if "--" in rest else rest


def _first_positional(rest: tuple[str, ...], values: frozenset[str]) -> str | None:
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--":
            return rest[i + 1] if i + 1 < len(rest) else None
        if arg.startswith("-") and arg != "-":
            i += 2 if _takes_value(arg, values) else 1
            continue
        return arg
    return None


def _keep_options(args: tuple[str, ...], values: frozenset[str]) -> list[str]:
    """Options to carry into a resumed launch: drop positionals (ids, prompts), images and pickers."""
    kept: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            break
        if arg.startswith("-") and arg != "-":
            name, _ = _split_inline(arg)
            width = 2 if _takes_value(arg, values) else 1
            short_attached = len(name) > 2 and name[1] != "-" and name[:2] in values
            base = name[:2] if short_attached else name
            if base not in FIRST_PROMPT_ONLY and base not in SESSION_PICKER_FLAGS:
                kept.extend(args[i:i + width])
            i += width
            continue
        i += 1
    return kept


def resume_args(invocation: Invocation, session_id: str) -> list[str]:
    """``[global options] resume <id> [trailing options]``: the same conversation, same settings.

    The first prompt, a forked/resumed id, ``--last`` and images are dropped: the session already
    holds them, and sending them again would repeat the request.
    """
    options = invocation.options
    rest_values = options.for_command(invocation.command).values
    return [*_keep_options(invocation.leading, options.root.values), "resume", session_id,
            *_keep_options(invocation.rest, rest_values)]


def launch_args(invocation: Invocation, resume_session_id: str | None) -> list[str]:
    """The arguments of one supervised launch, with the daemon switched off."""
    body = list(invocation.argv) if resume_session_id is None else resume_args(invocation, resume_session_id)
    return [*NO_DAEMON_ARGS, *body]


def forward_args(invocation: Invocation) -> list[str]:
    return [*NO_DAEMON_ARGS, *invocation.argv]
