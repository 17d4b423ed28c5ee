"""Reading clap's help pages: value options, flags, several values, subcommands and their aliases."""

from __future__ import annotations

from supervisor.adapters.codex_help import parse_help

PAGE = """Codex CLI

Usage: codex [OPTIONS] [PROMPT]

Commands:
  exec        Run Codex non-interactively [aliases: e]
  apply       Apply the latest diff produced by Codex agent as a `git apply` to your local
              working tree [aliases: a]
  help        Print this message

Arguments:
  [PROMPT]
          Optional user prompt to start the session

Options:
  -c, --config <key=value>
          Override a configuration value
          --not-an-option-in-prose <X> stays prose

  -i, --image <FILE>...
          Optional image(s) to attach to the initial prompt

      --search
          Enable live web search

  -h, --help
          Print help (see a summary with '-h')
"""


def test_a_help_page_gives_its_options_by_kind_and_its_subcommands():
    page = parse_help("codex", PAGE)
    assert page is not None
    assert page.table.values == {"-c", "--config", "-i", "--image"}
    assert page.table.flags == {"--search", "-h", "--help"}
    assert page.table.multi_values == {"-i", "--image"}
    assert page.subcommands == {"exec", "e", "apply", "a", "help"}


def test_text_that_is_not_a_help_page_gives_none():
    assert parse_help("codex", "") is None
    assert parse_help("codex", "error: unexpected argument '--help'\n") is None
    assert parse_help("codex", "Options:\n  nothing that looks like an option\n") is None
