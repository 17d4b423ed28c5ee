"""Codex argument handling: classification, resume arguments, and the fallback option tables against
every pinned Codex's own --help (run offline: `unshare -n` plus the dead-proxy variables)."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from supervisor.adapters import codex_args
from supervisor.adapters.codex_args import classify, launch_args, resume_args
from supervisor.adapters.codex_args import NO_DAEMON_ARGS
from supervisor.adapters.codex_options import FALLBACK

from ..pinned_codex import PINNED, launcher

SID = "01a20fd6-0841-7b11-bef0-67e429d6e15c"
NEW = "01a20fe2-fcf0-7000-8000-000000000001"


@pytest.mark.parametrize("argv, interactive, command", [
    ([], True, None),
    (["-m", "o3"], True, None),
    (["--model", "o3"], True, None),
    (["--model=o3", "fix the bug"], True, None),
    (["fix the bug"], True, None),
    (["-c", "model=o3", "-C", "/tmp", "resume", SID], True, "resume"),
    (["fork", "--last"], True, "fork"),
    (["exec", "do it"], False, "exec"),
    (["-m", "o3", "exec", "do it"], False, "exec"),
    (["login"], False, "login"),
    (["mcp", "list"], False, "mcp"),
    (["--help"], False, None),
    (["-m", "o3", "--version"], False, None),
    (["resume", "--help"], False, "resume"),
    (["--", "exec"], True, None),
])
def test_classify(argv, interactive, command):
    invocation = classify(argv)
    assert (invocation.interactive, invocation.command) == (interactive, command)


def test_resume_id_and_cd():
    invocation = classify(["-C", "sub", "resume", SID, "-m", "o3"])
    assert invocation.resume_id == SID
    assert invocation.cd == "sub"
    assert classify(["resume", "--last"]).resume_id is None


@pytest.mark.parametrize("argv, expected", [
    ([], ["resume", NEW]),
    (["-m", "o3", "fix the bug", "--search"], ["-m", "o3", "resume", NEW, "--search"]),
    (["-c", "a=1", "resume", SID, "follow up", "-c", "b=2"], ["-c", "a=1", "resume", NEW, "-c", "b=2"]),
    (["resume", "--last", "--all", "-s", "read-only"], ["resume", NEW, "-s", "read-only"]),
    (["fork", SID, "-p", "dev"], ["resume", NEW, "-p", "dev"]),
    (["-i", "shot.png", "--model=o3", "describe"], ["--model=o3", "resume", NEW]),
])
def test_resume_args_keep_options_drop_prompts_ids_and_images(argv, expected):
    assert resume_args(classify(argv), NEW) == expected


def test_every_launch_turns_the_daemon_off_and_reads_the_account_homes_auth_json():
    assert NO_DAEMON_ARGS == ("-c", "features.daemon_auto_start=false", "-c", 'cli_auth_credentials_store="file"')
    assert launch_args(classify(["-m", "o3"]), None) == [*NO_DAEMON_ARGS, "-m", "o3"]
    assert launch_args(classify([]), SID)[:4] == list(NO_DAEMON_ARGS)


def _codex_help(*args: str, release: str = "newest") -> str:
    """``codex ARGS --help`` of a pinned release, run offline through its npm launcher."""
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           "NO_PROXY": "127.0.0.1,localhost", "CODEX_HOME": "/nonexistent-codex-fsm-help"}
    script = 'ip link set lo up 2>/dev/null; exec node "$0" "$@"'
    # Root gets a plain network namespace; anyone else an unprivileged user namespace around it.
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    result = subprocess.run([*unshare, "sh", "-c", script, str(launcher(release)), *args, "--help"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _options(help_text: str) -> tuple[set[str], set[str]]:
    with_value: set[str] = set()
    flags: set[str] = set()
    for match in re.finditer(r"^\s+(?:(-\w), )?(--[\w-]+)( <[^>]+>)?", help_text, re.MULTILINE):
        names = {n for n in match.group(1, 2) if n}
        (with_value if match.group(3) else flags).update(names)
    return with_value, flags


def _fits_every_pinned_release(listed: dict[str, tuple[set[str], set[str]]], values: frozenset[str],
                               flags: frozenset[str]) -> None:
    """The fallback table is the union of the pinned releases: each lists nothing the table lacks or
    files under the other kind, and every entry of the table is listed by at least one of them."""
    for release, (with_value, without) in listed.items():
        assert with_value <= values, f"{release}: value options missing from the fallback table"
        assert without <= flags, f"{release}: flags missing from the fallback table"
    assert values == set().union(*(v for v, _ in listed.values()))
    assert flags == set().union(*(f for _, f in listed.values()))


def test_the_fallback_root_table_matches_every_pinned_codex_help():
    listed = {release: _options(_codex_help(release=release)) for release in PINNED}
    _fits_every_pinned_release(listed, codex_args.VALUE_OPTIONS, codex_args.FLAG_OPTIONS)
    for release in PINNED:
        root = _codex_help(release=release)
        commands = set(re.findall(r"^  ([a-z][\w-]+)\s", root.split("Commands:")[1].split("Arguments:")[0],
                                  re.MULTILINE))
        aliases = set(re.findall(r"\[aliases: (\w+)\]", root))
        assert commands | aliases <= codex_args.SUBCOMMANDS, release


@pytest.mark.parametrize("command, table", [("resume", FALLBACK.resume), ("fork", FALLBACK.fork)])
def test_the_fallback_resume_and_fork_tables_match_every_pinned_codex_help(command, table):
    listed = {release: _options(_codex_help(command, release=release)) for release in PINNED}
    _fits_every_pinned_release(listed, table.values, table.flags)
    assert table.values == codex_args.VALUE_OPTIONS
    assert codex_args.FLAG_OPTIONS < table.flags <= codex_args.FLAG_OPTIONS | codex_args.SESSION_PICKER_FLAGS
