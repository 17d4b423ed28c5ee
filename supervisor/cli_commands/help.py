"""``codex-fsm help [COMMAND]``: codex-fsm's own commands, and where its files are for this user.

``codex-fsm --help`` is Codex's (every argument that is not one of codex-fsm's words goes to Codex), so
this is the one place on the command line that describes codex-fsm itself. Each command's summary
is the first paragraph of its module's docstring, read without importing the module.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import textwrap
from pathlib import Path

from .. import paths
from ..terminal_text import for_terminal

_WIDTH = 100
_TITLE = "codex-fsm keeps one interactive Codex session alive across a pool of ChatGPT accounts."


def main(argv: list[str]) -> int:
    from .. import cli

    if argv and argv[0] in cli.MANAGEMENT_COMMANDS and argv[0] != "help":
        # `codex-fsm help status` is `codex-fsm status --help`.
        return cli.main([argv[0], "--help"])
    if argv and argv[0] not in ("-h", "--help", "help"):
        print(f"codex-fsm help: no command {for_terminal(argv[0])!s}; the commands are listed below\n")
    print(render(cli.MANAGEMENT_COMMANDS, cli.PASS_THROUGH_WORD, os.environ), end="")
    return 0


def render(commands: dict[str, str], pass_through: str, env) -> str:
    width = max(len(name) for name in commands)
    lines = [_TITLE, "", "Usage:",
             "  codex-fsm [CODEX ARGS...]      run Codex under supervision (the arguments are Codex's own)",
             "  codex-fsm COMMAND [ARGS...]    one of codex-fsm's commands below (each takes --help)",
             f"  codex-fsm {pass_through} ARGS...        hand ARGS to Codex even when they start with a word below",
             "", "Commands:"]
    for name, module in sorted(commands.items()):
        summary = textwrap.wrap(command_summary(module), _WIDTH - width - 4) or [""]
        lines += [f"  {name:<{width}}  {summary[0]}"] + [f"  {'':<{width}}  {more}" for more in summary[1:]]
    lines += ["", "Codex has its own `doctor` and `help`, and `codex-fsm --help` is Codex's help: "
                  f"`codex-fsm {pass_through} doctor` and",
              f"`codex-fsm {pass_through} help` reach Codex's.", "", "Files (for you, here):"]
    lines += [f"  {what:<16} {for_terminal(where)}{_absent(where)}{note}" for what, where, note in _places(env)]
    return "\n".join(lines) + "\n"


def command_summary(module: str) -> str:
    """The first paragraph of ``module``'s docstring without its leading ```usage``: ``."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return ""
    doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text(encoding="utf-8"))) or ""
    first = " ".join(doc.split("\n\n", 1)[0].split())
    usage_end = first.find("``: ")
    return first[usage_end + 4:] if first.startswith("``") and usage_end > 0 else first


def _places(env) -> list[tuple[str, Path, str]]:
    from ..config import CONFIG_ENV, default_config_path

    config_note = f" (${CONFIG_ENV})" if env.get(CONFIG_ENV, "").strip() else ""
    home_note = " ($CODEX_FSM_HOME)" if env.get("CODEX_FSM_HOME", "").strip() else ""
    codex_note = " ($CODEX_HOME)" if env.get("CODEX_HOME", "").strip() else ""
    home = paths.fsm_home(env)
    return [("config file", default_config_path(env), config_note),
            ("codex-fsm home", home, home_note),
            ("account pool", paths.pool_file(env), ""),
            ("account homes", paths.homes_dir(env), ""),
            ("transition logs", paths.logs_dir(env), ""),
            ("session status", paths.run_dir(env), ""),
            ("your Codex home", paths.user_codex_home(env), codex_note)]


def _absent(path: Path) -> str:
    return "" if os.path.lexists(path) else " (not there yet)"
