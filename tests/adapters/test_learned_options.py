"""The option tables of the installed Codex: learned from its --help, cached per release, the fallback
whenever they cannot be had, and what a newer Codex's new value option changes for classify."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from supervisor.adapters.codex_args import classify, resume_args
from supervisor.adapters.codex_options import FALLBACK
from supervisor.adapters.exec_args import headless_launch_args, parse_headless
from supervisor.adapters.learned_options import INDEX_FILE, learned_options, options_file
from supervisor.errors import ConfigError

from ..fakes.codex_help import fake_codex, pages_of, with_new_value_option
from ..pinned_codex import PINNED, native_binary, pinned_version

ENV = {"PATH": "/usr/bin:/bin"}
SID = "01a20fe2-fcf0-7000-8000-000000000001"


def calls_of(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def newer(tmp_path):
    """A Codex 9.9.9 whose root, resume and exec levels take a new value option, --tunnel <URL>."""
    options = with_new_value_option("--tunnel", "root", "resume", "fork", "exec", "exec_resume")
    calls = tmp_path / "calls.txt"
    return fake_codex(tmp_path / "bin", pages=pages_of(options), calls=calls), calls


def test_a_newer_codexs_new_value_option_is_never_taken_for_the_prompt(newer, tmp_path):
    binary, _ = newer
    options = learned_options(binary, ENV, tmp_path / "cache")
    assert options.version == "9.9.9" and "--tunnel" in options.root.values

    tui = classify(["--tunnel", "wss://relay", "fix the bug"], options)
    assert (tui.command, tui.interactive, tui.rest) == (None, True, ("fix the bug",))
    # With the fallback tables the URL would have been the prompt.
    assert classify(["--tunnel", "wss://relay", "fix the bug"]).rest == ("wss://relay", "fix the bug")

    resumed = classify(["resume", "--tunnel", "wss://relay", SID], options)
    assert resumed.resume_id == SID
    assert resume_args(resumed, SID) == ["resume", SID, "--tunnel", "wss://relay"]

    run = parse_headless(classify(["exec", "--tunnel", "wss://relay", "fix it"], options))
    assert not run.prompt_from_stdin
    assert headless_launch_args(run, SID, "go on")[-7:] == ["exec", "--tunnel", "wss://relay", "resume", "--", SID,
                                                            "go on"]
    with pytest.raises(ConfigError, match="unexpected argument 'fix it'"):
        parse_headless(classify(["exec", "--tunnel", "wss://relay", "fix it"]))  # the fallback's reading


def test_the_tables_are_learned_once_per_release_and_then_read_from_the_cache(newer, tmp_path):
    binary, calls = newer
    cache = tmp_path / "cache"
    first = learned_options(binary, ENV, cache)
    assert calls_of(calls)[0] == "--version" and len(calls_of(calls)) == 8  # --version and seven --help
    assert options_file(cache, "9.9.9").is_file() and (cache / INDEX_FILE).is_file()
    assert learned_options(binary, ENV, cache) == first
    assert len(calls_of(calls)) == 8, "a cached start runs no Codex"

    # The binary changes (an upgrade in place): its version is asked again; the same release reuses the tables.
    os.utime(binary, ns=(1, 1))
    assert learned_options(binary, ENV, cache) == first
    assert calls_of(calls)[8:] == ["--version"]


def test_without_a_cache_folder_nothing_is_kept(newer, tmp_path):
    binary, calls = newer
    assert "--tunnel" in learned_options(binary, ENV, None).exec.values
    assert list(tmp_path.glob("**/codex-options-*")) == []


@pytest.mark.parametrize("make", [
    lambda folder: folder / "absent-codex",
    lambda folder: fake_codex(folder, version="no version here"),
    lambda folder: fake_codex(folder, pages={(): "Usage: codex\n\nsomething else entirely\n"}),
    lambda folder: fake_codex(folder, pages={words: "Options:\n  nothing an option\n" for words in
                                             pages_of(FALLBACK)}),
], ids=["no binary", "no version", "a help page missing (exit 2)", "help without options"])
def test_what_cannot_be_learned_gives_the_fallback_tables(tmp_path, make):
    binary = make(tmp_path / "bin")
    assert learned_options(binary, ENV, tmp_path / "cache") is FALLBACK
    assert not options_file(tmp_path / "cache", "9.9.9").exists()


@pytest.mark.parametrize("damage", ["{not json", json.dumps({"schema": 1, "version": "9.9.9", "tables": []}),
                                    json.dumps({"schema": 99}), ""])
def test_a_cache_that_does_not_parse_gives_the_fallback_and_is_left_as_it_is(newer, tmp_path, damage):
    binary, calls = newer
    cache = tmp_path / "cache"
    learned_options(binary, ENV, cache)
    options_file(cache, "9.9.9").write_text(damage)
    assert learned_options(binary, ENV, cache) is FALLBACK
    assert options_file(cache, "9.9.9").read_text() == damage
    (cache / INDEX_FILE).write_text("[]")  # a damaged index only costs a --version
    assert learned_options(binary, ENV, cache) is FALLBACK
    assert options_file(cache, "9.9.9").read_text() == damage


@pytest.mark.parametrize("release", PINNED)
def test_each_pinned_codex_teaches_its_own_tables(release, tmp_path):
    """The newest pinned release lists everything the fallback knows; the oldest lacks what 0.171 added."""
    options = learned_options(native_binary(release), {**os.environ, **ENV}, tmp_path / "cache")
    assert options.version == pinned_version(release)
    added_in_0_171 = {"--remote", "--remote-auth-token-env"}
    for name in ("root", "resume", "fork", "review"):
        assert getattr(options, name).values == getattr(FALLBACK, name).values, name
        assert getattr(options, name).flags == getattr(FALLBACK, name).flags, name
    for name in ("exec", "exec_resume", "exec_review"):
        expected = getattr(FALLBACK, name).values - (added_in_0_171 if release == "oldest" else set())
        assert getattr(options, name).values == expected, name
        assert getattr(options, name).flags == getattr(FALLBACK, name).flags, name
    assert options.subcommands == FALLBACK.subcommands and options.exec_subcommands == FALLBACK.exec_subcommands
    assert options.exec.multi_values == options.root.multi_values == {"-i", "--image"}


def test_a_codex_that_answers_with_no_help_is_asked_once_and_one_that_timed_out_again(tmp_path):
    calls = tmp_path / "calls.txt"
    binary = fake_codex(tmp_path / "bin", pages={(): "no help here\n"}, calls=calls)
    cache = tmp_path / "cache"
    assert learned_options(binary, ENV, cache) is FALLBACK
    asked = len(calls_of(calls))
    assert asked == 8
    assert learned_options(binary, ENV, cache) is FALLBACK
    assert len(calls_of(calls)) == asked, "remembered: the same binary is not asked again"
    os.utime(binary, ns=(2, 2))
    learned_options(binary, ENV, cache)
    assert len(calls_of(calls)) == 2 * asked, "a changed binary is asked again"

    runs = []

    def timing_out(commands):
        runs.append(commands)
        return ["codex-cli 9.9.9"] if commands == [["--version"]] else [None] * len(commands)

    other = tmp_path / "cache-2"
    assert learned_options(binary, ENV, other, run=timing_out) is FALLBACK
    assert learned_options(binary, ENV, other, run=timing_out) is FALLBACK
    assert len(runs) == 4, "no answer in time: asked again at the next start"
