"""Headless Codex command lines: what a run is, how it continues on another account, which session
``exec resume --last`` means, and the option tables against the pinned Codex's own --help of each
subcommand (run offline: `unshare -n` plus the dead-proxy variables)."""

from __future__ import annotations

import re
import time

import pytest

from supervisor.adapters import exec_args
from supervisor.adapters.codex_args import NO_DAEMON_ARGS, classify, forward_args
from supervisor.adapters.exec_args import headless_launch_args, parse_headless, resolve_last, take_max_wait
from supervisor.errors import ConfigError

from ..fakes.rollouts import session_id, write_rollout
from ..pinned_codex import PINNED
from .test_codex_args import _codex_help

OLD = "01a20fd6-0841-7b11-bef0-67e429d6e15c"
NEW = "01a20fe2-fcf0-7000-8000-000000000001"
CONTINUE = "Please continue where you left off."
NOW = time.time()


def run_of(*argv: str):
    return parse_headless(classify(list(argv)))


def continuation(*argv: str) -> list[str]:
    built = headless_launch_args(run_of(*argv), NEW, CONTINUE)
    assert built[:len(NO_DAEMON_ARGS)] == list(NO_DAEMON_ARGS)
    assert built[-3:] == ["--", NEW, CONTINUE]
    return built[len(NO_DAEMON_ARGS):-3]


# ---- what a run is ------------------------------------------------------------------------------------


def test_plain_exec_with_its_outputs_and_folder():
    run = run_of("-m", "o3", "exec", "--json", "-o", "last.txt", "-C", "sub", "fix the bug")
    assert (run.form, run.json_events, run.last_message_file, run.cd) == ("exec", True, "last.txt", "sub")
    assert (run.resume_id, run.resume_name, run.resume_last, run.prompt_from_stdin) == (None, None, False, False)
    assert not run.ephemeral and not run.shows_help


@pytest.mark.parametrize("argv, from_stdin", [
    (("exec",), True),
    (("exec", "-"), True),
    (("exec", "a prompt"), False),
    (("e", "--", "-starts with a dash"), False),
    (("exec", "resume", OLD), True),
    (("exec", "resume", OLD, "-"), True),
    (("exec", "resume", OLD, "next"), False),
    (("exec", "resume", "--last"), True),
    (("exec", "resume", "--last", "next"), False),
    (("exec", "the prompt", "resume", "--last"), False),  # Codex falls back to the exec-level prompt
    (("exec", "review"), False),  # a review without instructions reviews its target; no stdin read
    (("exec", "review", "-"), True),
    (("review", "--uncommitted"), False),
    (("review", "-"), True),
])
def test_when_codex_reads_the_prompt_from_stdin(argv, from_stdin):
    assert run_of(*argv).prompt_from_stdin is from_stdin


def test_inline_and_attached_values_and_options_after_the_prompt():
    run = run_of("exec", "do it", "--output-last-message=out.txt", "-Cwork", "--experimental-json")
    assert (run.last_message_file, run.cd, run.json_events) == ("out.txt", "work", True)
    assert run_of("exec", "-o=eq.txt", "x").last_message_file == "eq.txt"


def test_the_exec_level_image_option_takes_every_value_up_to_the_next_option():
    # Codex's `-i <FILE>...`: the prompt after an image is a second image, so stdin is read.
    assert run_of("exec", "-i", "a.png", "the prompt").prompt_from_stdin
    assert not run_of("exec", "-i", "a.png", "b.png", "--", "the prompt").prompt_from_stdin
    assert run_of("exec", "-i", "a.png", "-").prompt_from_stdin
    # `exec resume`'s own -i takes one value.
    assert not run_of("exec", "resume", OLD, "-i", "a.png", "next").prompt_from_stdin


def test_resume_forms():
    assert run_of("exec", "resume", OLD, "next").resume_id == OLD
    by_name = run_of("exec", "resume", "my-thread", "next")
    assert (by_name.resume_id, by_name.resume_name) == (None, "my-thread")
    last = run_of("exec", "--json", "resume", "--last", "--all", OLD)  # with --last a lone positional is the prompt
    assert (last.form, last.resume_last, last.resume_all, last.resume_id, last.prompt_from_stdin) == (
        "exec resume", True, True, None, False)
    # Neither an id nor --last is no error for Codex: it starts a new thread (prompt from stdin).
    bare = run_of("exec", "resume")
    assert (bare.resume_id, bare.resume_last, bare.prompt_from_stdin) == (None, False, True)


def test_review_forms_globals_and_ephemeral():
    assert run_of("exec", "review", "--base", "main", "--json", "-o", "r.txt").form == "exec review"
    review = run_of("-C", "repo", "review", "--commit", "abc", "--title", "t")
    assert (review.form, review.cd, review.json_events) == ("review", "repo", False)
    assert run_of("exec", "--ephemeral", "x").ephemeral
    assert run_of("exec", "--help").shows_help and run_of("exec", "help").shows_help
    assert run_of("exec", "resume", "-h").shows_help


@pytest.mark.parametrize("argv, named", [
    (("exec", "one", "two"), "'two'"),
    (("exec", "resume", OLD, "next", "extra"), "'extra'"),
    (("exec", "review", "a", "b"), "'b'"),
    (("exec", "-m"), "-m"),
    (("exec", "resume", OLD, "-o"), "-o"),
    (("exec", "fork", OLD), "exec fork"),
    (("login",), "login"),
])
def test_what_codex_would_reject_is_a_clear_error(argv, named):
    with pytest.raises(ConfigError) as raised:
        run_of(*argv)
    assert named in str(raised.value)


# ---- continuing on another account --------------------------------------------------------------------


def test_without_a_session_the_users_command_runs_unchanged_daemon_off():
    argv = ["-m", "o3", "exec", "--json", "do it", "-i", "a.png"]
    run = run_of(*argv)
    assert headless_launch_args(run, None, CONTINUE) == forward_args(run.invocation) == [*NO_DAEMON_ARGS, *argv]


def test_exec_keeps_every_option_at_its_level_and_drops_prompt_and_images():
    assert continuation("-c", "r=1", "-s", "read-only", "exec", "-m", "o3", "-s", "workspace-write", "-C", "w",
                        "--json", "-o", "o.txt", "--output-schema", "s.json", "--skip-git-repo-check",
                        "-c", "a=1", "--enable", "f1", "--disable", "f2", "-p", "dev", "--color", "never",
                        "-i", "a.png", "b.png", "--add-dir", "d", "--", "the prompt") == [
        "-c", "r=1", "-s", "read-only", "exec", "-m", "o3", "-s", "workspace-write", "-C", "w", "--json",
        "-o", "o.txt", "--output-schema", "s.json", "--skip-git-repo-check", "-c", "a=1", "--enable", "f1",
        "--disable", "f2", "-p", "dev", "--color", "never", "--add-dir", "d", "resume"]


def test_inline_forms_and_options_after_the_prompt_are_kept_as_written():
    assert continuation("exec", "do it", "-mo3", "--sandbox=read-only", "--json") == [
        "exec", "-mo3", "--sandbox=read-only", "--json", "resume"]
    assert continuation("-i", "shot.png", "-m", "o3", "exec", "-", "--ephemeral") == [
        "-m", "o3", "exec", "--ephemeral", "resume"]


def test_exec_resume_drops_the_old_id_the_picker_and_its_images():
    assert continuation("exec", "-C", "w", "resume", OLD, "next", "--json", "-i", "a.png", "-m", "o3") == [
        "exec", "-C", "w", "resume", "--json", "-m", "o3"]
    assert continuation("exec", "the prompt", "resume", "--last", "--all", "-o", "o.txt") == [
        "exec", "resume", "-o", "o.txt"]


def test_review_forms_become_a_plain_exec_resume_without_review_options():
    assert continuation("exec", "--skip-git-repo-check", "review", "--base", "main", "--json", "-o", "r.txt",
                        "-m", "o3", "look here") == [
        "exec", "--skip-git-repo-check", "resume", "--json", "-o", "r.txt", "-m", "o3"]
    assert continuation("-m", "o3", "review", "--commit", "abc", "--title", "t", "-c", "x=1", "--trust",
                        "--enable", "f") == ["-m", "o3", "exec", "resume", "-c", "x=1", "--trust", "--enable", "f"]
    assert continuation("review", "--uncommitted") == ["exec", "resume"]


def test_a_continuation_needs_a_session_id():
    with pytest.raises(ConfigError, match="not a session id"):
        headless_launch_args(run_of("exec", "x"), "--last", CONTINUE)


# ---- exec resume --last -------------------------------------------------------------------------------


def test_last_is_the_newest_thread_of_any_source_in_the_runs_folder(tmp_path):
    home, work, other = tmp_path / "codex", tmp_path / "work", tmp_path / "other"
    work.mkdir()
    other.mkdir()
    sessions = home / "sessions"
    write_rollout(sessions, session_id(1), str(work), NOW - 300, source="cli")
    write_rollout(sessions, session_id(2), str(work), NOW - 200, source="exec")
    write_rollout(sessions, session_id(3), str(other), NOW - 100, source="exec")
    resolved = resolve_last(run_of("exec", "--json", "resume", "--last", "next", "-m", "o3"), home, str(work))
    assert (resolved.resume_id, resolved.resume_last, resolved.prompt_from_stdin) == (session_id(2), False, False)
    assert list(resolved.invocation.argv) == ["exec", "--json", "resume", "-m", "o3", "--", session_id(2), "next"]
    everywhere = resolve_last(run_of("exec", "resume", "--last", "--all"), home, str(work))
    assert list(everywhere.invocation.argv) == ["exec", "resume", "--", session_id(3)]
    assert everywhere.prompt_from_stdin
    from_cd = resolve_last(run_of("exec", "-C", "../other", "resume", "--last", "x"), home, str(work))
    assert from_cd.resume_id == session_id(3)


def test_last_with_nothing_to_resume_or_an_explicit_id_is_unchanged(tmp_path):
    run = run_of("exec", "resume", "--last", "next")
    assert resolve_last(run, tmp_path / "empty-home", str(tmp_path)) is run
    explicit = run_of("exec", "resume", OLD, "next")
    assert resolve_last(explicit, tmp_path, str(tmp_path)) is explicit


# ---- the tables against the pinned Codex ----------------------------------------------------------------


def _table_of(help_text: str) -> tuple[set[str], set[str], set[str]]:
    """(value options, flags, options taking several values) as --help lists them."""
    values: set[str] = set()
    flags: set[str] = set()
    multi: set[str] = set()
    for match in re.finditer(r"^\s+(?:(-\w), )?(--[\w-]+)( <[^>]+>)?(\.\.\.)?", help_text, re.MULTILINE):
        names = {n for n in match.group(1, 2) if n}
        (values if match.group(3) else flags).update(names)
        if match.group(4):
            multi.update(names)
    return values, flags, multi


@pytest.mark.parametrize("subcommand, table", [
    (("exec",), exec_args.EXEC),
    (("exec", "resume"), exec_args.EXEC_RESUME),
    (("exec", "review"), exec_args.EXEC_REVIEW),
    (("review",), exec_args.REVIEW),
])
def test_the_fallback_tables_match_every_pinned_codex_help(subcommand, table):
    """Each table is the union of what the pinned releases list (hidden aliases aside): nothing a release
    lists is missing or of the other kind, and nothing is in the table that no release lists."""
    listed = {release: _table_of(_codex_help(*subcommand, release=release)) for release in PINNED}
    for release, (values, flags, multi) in listed.items():
        assert values <= table.values and flags <= table.flags and multi <= table.multi_values, release
    assert table.values == set().union(*(values for values, _, _ in listed.values()))
    assert table.flags - exec_args.HIDDEN_FLAGS == set().union(*(flags for _, flags, _ in listed.values()))
    assert table.multi_values == set().union(*(multi for _, _, multi in listed.values()))


@pytest.mark.parametrize("release", PINNED)
def test_the_root_image_option_takes_several_values_too(release):
    assert _table_of(_codex_help(release=release))[2] == exec_args.ROOT.multi_values


@pytest.mark.parametrize("release", PINNED)
def test_exec_subcommands_match_every_pinned_codex_help(release):
    listed = _codex_help("exec", release=release).split("Commands:")[1].split("Arguments:")[0]
    assert set(re.findall(r"^  ([a-z][\w-]+)\s", listed, re.MULTILINE)) == exec_args.EXEC_SUBCOMMANDS


# ---- codex-fsm's own --max-wait -------------------------------------------------------------------------


@pytest.mark.parametrize("args, seconds", [
    (["exec", "--max-wait", "600", "do it"], 600.0), (["exec", "--max-wait=90s", "do it"], 90.0),
    (["exec", "--json", "--max-wait", "10m", "do it"], 600.0), (["review", "--max-wait", "2h"], 7200.0),
    (["-m", "o3", "exec", "do it", "--max-wait", "0"], 0.0),
])
def test_max_wait_is_taken_out_and_the_rest_reaches_codex_unchanged(args, seconds):
    invocation, found = take_max_wait(classify(args))
    assert found == seconds
    assert "--max-wait" not in " ".join(invocation.argv)
    assert [a for a in invocation.argv] == [a for a in args if not a.startswith("--max-wait")
                                            and a not in ("600", "10m", "2h", "0")]


def test_max_wait_after_a_separator_is_the_prompt_and_without_it_nothing_changes():
    invocation = classify(["exec", "--", "--max-wait"])
    assert take_max_wait(invocation) == (invocation, None)
    plain = classify(["exec", "do it"])
    assert take_max_wait(plain) == (plain, None)


@pytest.mark.parametrize("value", ["soon", "-5", "10d", "inf", "nan", "", "\x1b[2J"])
def test_a_bad_max_wait_is_a_clear_error_naming_it(value):
    with pytest.raises(ConfigError, match="--max-wait") as raised:
        take_max_wait(classify(["exec", f"--max-wait={value}", "do it"]))
    assert "\x1b" not in str(raised.value)


def test_max_wait_without_a_value_says_what_it_needs():
    with pytest.raises(ConfigError, match="needs a duration"):
        take_max_wait(classify(["exec", "--max-wait"]))
