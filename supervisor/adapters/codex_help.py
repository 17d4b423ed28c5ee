"""Reading Codex's own ``--help`` (clap's long help): which options take a value, which take several,
and which words are subcommands. Pure text in, tables out; None when the text is not a help page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .codex_options import OptionTable

# `  -m, --model <MODEL>`, `      --add-dir <DIR>`, `  -i, --image <FILE>...`, `      --search`.
_OPTION_LINE = re.compile(r"^ {2,6}(?:(-\w), )?(--[\w-]+)(?:[ =](<[^>]+>|\[[^\]]+\]))?(\.\.\.)?", re.MULTILINE)
_COMMAND_LINE = re.compile(r"^  ([a-z][\w-]*)(?:\s|$)", re.MULTILINE)
_ALIASES = re.compile(r"\[aliases?: ([\w, -]+)\]")


@dataclass(frozen=True, slots=True)
class HelpPage:
    table: OptionTable
    subcommands: frozenset[str]


def parse_help(command: str, text: str) -> HelpPage | None:
    """The options and subcommands ``text`` lists, or None when it has no ``Options:`` section."""
    sections = _sections(text)
    options = sections.get("Options")
    if options is None:
        return None
    values: set[str] = set()
    flags: set[str] = set()
    multi: set[str] = set()
    for match in _OPTION_LINE.finditer(options):
        names = {name for name in match.group(1, 2) if name}
        (values if match.group(3) else flags).update(names)
        if match.group(4):
            multi.update(names)
    if not values and not flags:
        return None
    subcommands: set[str] = set()
    listed = sections.get("Commands", "")
    subcommands.update(_COMMAND_LINE.findall(listed))
    for aliases in _ALIASES.findall(listed):
        subcommands.update(alias.strip() for alias in aliases.split(",") if alias.strip())
    return HelpPage(OptionTable(command, frozenset(values), frozenset(flags - values), frozenset(multi)),
                    frozenset(subcommands))


def _sections(text: str) -> dict[str, str]:
    """clap's sections (``Commands:``, ``Arguments:``, ``Options:``) by name, each its indented lines."""
    sections: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        heading = re.fullmatch(r"([A-Z][\w ]*):\s*", line)
        if heading:
            if name is not None:
                sections[name] = "\n".join(lines)
            name, lines = heading.group(1), []
        elif name is not None:
            if line and not line[0].isspace():
                sections[name] = "\n".join(lines)
                name, lines = None, []
            else:
                lines.append(line)
    if name is not None:
        sections[name] = "\n".join(lines)
    return sections
