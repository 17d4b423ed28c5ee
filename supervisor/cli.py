"""The ``codex-fsm`` command: only wiring.

Management words (below) run codex-fsm's own commands; anything else is the wrapper: Codex's own
arguments, supervised or forwarded. Modules are imported lazily so that start-up (typing
``codex-fsm`` → Codex spawned) pays only for what it uses.

This is the one place that turns an error into what the user reads: ``codex-fsm: <message>`` on
stderr, the message sanitized (it can carry a file name or a server's text), exit 2 for a bad
configuration and 1 for anything else, never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

from .errors import CodexFsmError, ConfigError

# codex-fsm's own words (tests/test_cli.py checks them against the pinned Codex's `--help`).
MANAGEMENT_COMMANDS: dict[str, str] = {
    "accounts": "supervisor.cli_commands.accounts",
    "config": "supervisor.cli_commands.config",
    "demo": "supervisor.cli_commands.demo",
    "diagram": "supervisor.cli_commands.diagram",
    "doctor": "supervisor.cli_commands.doctor",
    "help": "supervisor.cli_commands.help",
    "pool": "supervisor.cli_commands.pool",
    "replay": "supervisor.cli_commands.replay",
    "status": "supervisor.cli_commands.status",
}
WRAPPER_MODULE = "supervisor.wrapper"
# Codex (0.169 to 0.171) has its own `doctor` and `help`; `codex-fsm codex doctor` (any args after this word) reaches
# Codex's. `codex-fsm --help` is Codex's help by design: `codex-fsm help` is codex-fsm's own.
PASS_THROUGH_WORD = "codex"
# What a shell reports for a process ended by SIGPIPE (128 + 13): `codex-fsm status | head -1`.
BROKEN_PIPE_STATUS = 141
INTERRUPTED_STATUS = 130


def main(argv: list[str] | None = None) -> int:
    _open_missing_standard_descriptors()
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == PASS_THROUGH_WORD:
        args, module_name = args[1:], None
    else:
        module_name = MANAGEMENT_COMMANDS.get(args[0]) if args else None
    try:
        if module_name is not None:
            status = int(importlib.import_module(module_name).main(args[1:]) or 0)
        else:
            status = int(importlib.import_module(WRAPPER_MODULE).main(args) or 0)
        sys.stdout.flush()  # inside the try: a closed pipe often shows only when the buffer is flushed
        return status
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE_STATUS
    except ConfigError as exc:
        return _fail(str(exc), 2)
    except CodexFsmError as exc:
        return _fail(str(exc), 1)
    except OSError as exc:
        # The environment refused something no command anticipated (a file where a folder should be, an
        # unreadable folder): say what and where rather than show a traceback.
        where = f"{exc.filename}: " if exc.filename is not None else ""
        return _fail(f"{where}{exc.strerror or exc}", 1)
    except KeyboardInterrupt:
        return INTERRUPTED_STATUS


def _open_missing_standard_descriptors() -> None:
    """A script may start codex-fsm with stdin, stdout or stderr closed (``<&-``, ``>&-``). The next
    file codex-fsm opened (the pool, the log) would take that number: Codex's output or codex-fsm's
    notices would land in it, and a child, which inherits 0–2, would read or write it. /dev/null takes
    any closed one first, and Python's missing ``sys.std*`` object (None) is made for it."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        null = os.open(os.devnull, os.O_RDWR)
        if null != fd:
            os.dup2(null, fd)  # inheritable, as dup2 makes it
            os.close(null)
        else:
            os.set_inheritable(fd, True)  # os.open's descriptors are close-on-exec
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, closefd=False))


def _fail(message: str, status: int) -> int:
    from .terminal_text import for_terminal

    try:
        print(f"codex-fsm: {for_terminal(message)}", file=sys.stderr)
    except OSError:
        pass  # stderr itself is gone: the exit status is all that is left to say it
    return status


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's own flush at exit cannot fail
    again (and print a second error); the recipe of Python's documentation on SIGPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a real file (a test's capture): nothing left to flush at exit


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
