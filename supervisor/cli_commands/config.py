"""``codex-fsm config [--json]``: every effective setting, and whether it came from the default, the
config file or the environment (with the variable that sets it and its bounds)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..config import SETTINGS, Config, Setting, load_config, redacted_url
from ..terminal_text import for_terminal


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="codex-fsm config",
                                     description="Show the effective configuration and where each value came from.")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    args = parser.parse_args(argv)
    config = load_config()
    if args.json:
        json.dump(describe(config), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_table(config))
    return 0


def describe(config: Config) -> dict[str, Any]:
    return {
        "file": str(config.path) if config.path else None,
        "file_found": config.file_found,
        "settings": [
            {"name": s.name, "value": _plain(_value(config, s)), "origin": config.origin(s.name).kind,
             "source": config.origin(s.name).where or None, "env": s.env_var,
             "default": _plain(s.default), "bounds": s.bounds or None, "doc": s.doc}
            for s in SETTINGS
        ],
        "accounts": [
            {"name": a.name, **{k: v for k, v in
                                (("rotate_5h", a.rotate_5h), ("rotate_weekly", a.rotate_weekly),
                                 ("margin_5h", a.margin_5h), ("margin_weekly", a.margin_weekly)) if v is not None}}
            for a in config.accounts
        ],
    }


def render_table(config: Config) -> str:
    """The settings as aligned text; every cell is sanitized (file names, account names and values come
    from the file or the environment)."""
    found = "" if config.file_found else " (not found: defaults apply)"
    lines = [f"config file: {for_terminal(config.path)}{found}"]
    rows = [(s.name, _shown(_value(config, s)), _origin_text(config, s.name)) for s in SETTINGS]
    for account in config.accounts:
        for key in ("rotate_5h", "rotate_weekly", "margin_5h", "margin_weekly"):
            value = getattr(account, key)
            if value is not None:
                rows.append((f'quota.accounts."{account.name}".{key}', _shown(value), "file"))
    rows = [tuple(for_terminal(cell) for cell in row) for row in rows]
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    lines += [f"{name:<{width}}  {value:<{value_width}}  {origin}" for name, value, origin in rows]
    return "\n".join(lines) + "\n"


def _value(config: Config, setting: Setting) -> Any:
    """The value as it may be shown: a pool URL without its password."""
    value = config.value(setting.name)
    return redacted_url(value) if setting.kind == "pool_url" and isinstance(value, str) else value


def _origin_text(config: Config, name: str) -> str:
    origin = config.origin(name)
    return "file" if origin.kind == "file" else str(origin)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return " ".join(value) if value else "(none)"
    if value == "":
        return "(unset)"
    return json.dumps(value) if isinstance(value, bool) else str(value)
