"""A fake Codex whose --version and --help (clap's long-help layout) say what a test wants: a shell
script answering ``--version``, ``[words] --help`` and ``features list`` from files beside it."""

from __future__ import annotations

from pathlib import Path

from supervisor.adapters.codex_options import FALLBACK, CodexOptions, OptionTable
from supervisor.adapters.learned_options import HELP_PAGES


def help_text(table: OptionTable, subcommands: frozenset[str] = frozenset(), usage: str = "") -> str:
    """A help page listing ``table`` the way clap does (a value option shows ``<VALUE>``, several ``...``)."""
    lines = [f"Usage: {usage or table.command} [OPTIONS] [PROMPT]", ""]
    if subcommands:
        lines += ["Commands:", *(f"  {name:<10} Does {name}" for name in sorted(subcommands)), ""]
    lines += ["Arguments:", "  [PROMPT]", "          The prompt", "", "Options:"]
    longs = sorted(name for name in table.values | table.flags if name.startswith("--"))
    shorts = {"--model": "-m", "--config": "-c", "--image": "-i", "--cd": "-C", "--profile": "-p",
              "--sandbox": "-s", "--help": "-h", "--version": "-V", "--output-last-message": "-o",
              "--ask-for-approval": "-a"}
    for name in longs:
        short = shorts.get(name)
        head = f"  {short}, {name}" if short and short in table.values | table.flags else f"      {name}"
        if name in table.values:
            head += " <VALUE>" + ("..." if name in table.multi_values else "")
        lines += [head, f"          What {name} does", ""]
    return "\n".join(lines) + "\n"


def pages_of(options: CodexOptions) -> dict[tuple[str, ...], str]:
    """Every help page codex-fsm reads, listing ``options``'s tables (hidden flags left out, as Codex does)."""
    from supervisor.adapters.codex_options import HIDDEN_EXEC_FLAGS

    pages = {}
    for name, words in HELP_PAGES.items():
        table: OptionTable = getattr(options, name)
        shown = OptionTable(table.command, table.values, table.flags - HIDDEN_EXEC_FLAGS, table.multi_values)
        subcommands = {"root": options.subcommands, "exec": options.exec_subcommands}.get(name, frozenset())
        pages[words] = help_text(shown, subcommands)
    return pages


def with_new_value_option(option: str, *tables: str) -> CodexOptions:
    """The fallback tables plus a value option ``option`` at the named levels (a newer Codex's)."""
    from supervisor.core.frozen import record_fields

    fields = {f.name: getattr(FALLBACK, f.name) for f in record_fields(FALLBACK)}
    for name in tables:
        table = fields[name]
        fields[name] = OptionTable(table.command, table.values | {option}, table.flags, table.multi_values)
    return CodexOptions(**fields)


def fake_codex(folder: Path, version: str = "codex-cli 9.9.9", pages: dict[tuple[str, ...], str] | None = None,
               features: str = "", calls: Path | None = None,
               otherwise: str = 'echo "unexpected: $*" >&2; exit 2') -> Path:
    """The script ``folder/codex``; ``calls`` (a file) gets one line per run with its arguments; any other
    arguments run the shell code ``otherwise``."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = pages_of(FALLBACK) if pages is None else pages
    cases = []
    for index, (words, text) in enumerate(pages.items()):
        (folder / f"help-{index}.txt").write_text(text)
        cases.append(f'  "{" ".join((*words, "--help"))}") exec /bin/cat "{folder}/help-{index}.txt" ;;')
    (folder / "features.txt").write_text(features)
    record = f'echo "$*" >> "{calls}"\n' if calls is not None else ""
    script = folder / "codex"
    script.write_text("#!/bin/sh\n" + record + 'case "$*" in\n'
                      f'  "--version") echo "{version}" ;;\n'
                      f'  "features list") exec /bin/cat "{folder}/features.txt" ;;\n'
                      + "\n".join(cases) + f'\n  *) {otherwise} ;;\nesac\n')
    script.chmod(0o755)
    return script
