"""The ``codex-fsm`` command: only wiring.

Management words (below) run codex-fsm's own commands; anything else is the wrapper: Codex's own
arguments, supervised or forwarded. Modules are imported lazily so that start-up (typing
``codex-fsm`` → Codex spawned) pays only for what it uses.
"""

from __future__ import annotations

import importlib
import sys

from .errors import CodexFsmError, ConfigError

# codex-fsm's own words (tests/test_cli.py checks them against the pinned Codex's `--help`).
MANAGEMENT_COMMANDS: dict[str, str] = {
    "accounts": "supervisor.cli_commands.accounts",
    "config": "supervisor.cli_commands.config",
    "demo": "supervisor.cli_commands.demo",
    "diagram": "supervisor.cli_commands.diagram",
    "doctor": "supervisor.cli_commands.doctor",
    "replay": "supervisor.cli_commands.replay",
    "status": "supervisor.cli_commands.status",
}
WRAPPER_MODULE = "supervisor.wrapper"
# Codex 0.169 has its own `doctor`; `codex-fsm codex doctor` (any args after this word) reaches Codex's.
PASS_THROUGH_WORD = "codex"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == PASS_THROUGH_WORD:
        args, module_name = args[1:], None
    else:
        module_name = MANAGEMENT_COMMANDS.get(args[0]) if args else None
    try:
        if module_name is not None:
            return int(importlib.import_module(module_name).main(args[1:]) or 0)
        return int(importlib.import_module(WRAPPER_MODULE).main(args) or 0)
    except ConfigError as exc:
        print(f"codex-fsm: {exc}", file=sys.stderr)
        return 2
    except CodexFsmError as exc:
        print(f"codex-fsm: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
