"""``codex-fsm resume --last`` / ``resume`` (picker) become ``resume <id>`` across every account."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from supervisor.adapters.codex_args import classify
from supervisor.errors import SessionNotFound
from supervisor.resume_request import rewrite_resume_args

from .fakes.rollouts import session_id, write_rollout

NOW = time.time()
A_OLD, A_EXEC, B_NEW, ELSEWHERE = session_id(1), session_id(2), session_id(3), session_id(4)


class Chooser:
    """Records what the picker was offered and answers with a fixed pick."""

    def __init__(self, pick: int | None = 0) -> None:
        self.pick = pick
        self.offered: list[str] | None = None

    def __call__(self, sessions):
        self.offered = [s.session_id for s in sessions]
        return None if self.pick is None else sessions[self.pick]


def never_called(sessions):
    raise AssertionError("the picker must not be shown")


@pytest.fixture
def tree(tmp_path: Path):
    """Sessions created by two accounts in one folder, an exec run, and one in another folder."""
    home, work, other = tmp_path / "codex", tmp_path / "work", tmp_path / "other"
    for folder in (home, work, other, work / "sub"):
        folder.mkdir()
    sessions = home / "sessions"
    write_rollout(sessions, A_OLD, str(work), NOW - 900, account="acct-A")
    write_rollout(sessions, A_EXEC, str(work), NOW - 600, source="exec", account="acct-A")
    write_rollout(sessions, B_NEW, str(work), NOW - 300, account="acct-B")
    write_rollout(sessions, ELSEWHERE, str(other), NOW - 100, account="acct-A")
    return home, str(work)


def test_last_becomes_an_explicit_id_keeping_every_other_option(tree):
    home, work = tree
    argv = ["-m", "o3", "resume", "--last", "-s", "read-only", "-c", "x=1"]
    assert rewrite_resume_args(argv, home, work, never_called) == [
        "-m", "o3", "resume", B_NEW, "-s", "read-only", "-c", "x=1"]
    assert classify(rewrite_resume_args(argv, home, work, never_called)).resume_id == B_NEW


def test_last_honours_all_and_include_non_interactive(tree):
    home, work = tree
    assert rewrite_resume_args(["resume", "--last", "--all"], home, work, never_called) == ["resume", ELSEWHERE]
    assert rewrite_resume_args(["resume", "--include-non-interactive", "--last"], home, work, never_called) == [
        "resume", B_NEW]
    write_rollout(home / "sessions", session_id(5), work, NOW - 50, source="exec")
    assert rewrite_resume_args(["resume", "--last", "--include-non-interactive"], home, work, never_called) == [
        "resume", session_id(5)]


def test_last_with_a_prompt_resumes_and_sends_it(tree):
    home, work = tree
    assert rewrite_resume_args(["resume", "--last", "continue please"], home, work, never_called) == [
        "resume", B_NEW, "continue please"]
    assert rewrite_resume_args(["resume", "--last", "--", "-v is the flag"], home, work, never_called) == [
        "resume", B_NEW, "--", "-v is the flag"]


def test_last_follows_cd(tree, tmp_path):
    home, work = tree
    write_rollout(home / "sessions", session_id(6), str(Path(work) / "sub"), NOW - 10)
    assert rewrite_resume_args(["-C", "sub", "resume", "--last"], home, work, never_called) == [
        "-C", "sub", "resume", session_id(6)]
    assert rewrite_resume_args(["resume", "--cd", "../other", "--last"], home, work, never_called) == [
        "resume", ELSEWHERE, "--cd", "../other"]


def test_last_with_nothing_to_resume_starts_a_new_session_like_codex(tree, tmp_path):
    home, _ = tree
    empty = tmp_path / "empty"
    empty.mkdir()
    assert rewrite_resume_args(["-m", "o3", "resume", "--last", "hi"], home, str(empty), never_called) == [
        "-m", "o3", "hi"]


def test_picker_offers_this_folders_interactive_sessions_of_every_account(tree):
    home, work = tree
    chooser = Chooser(pick=1)
    assert rewrite_resume_args(["resume", "-m", "o3"], home, work, chooser) == ["resume", A_OLD, "-m", "o3"]
    assert chooser.offered == [B_NEW, A_OLD]
    chooser = Chooser(pick=0)
    assert rewrite_resume_args(["resume", "--all", "--include-non-interactive"], home, work, chooser) == [
        "resume", ELSEWHERE]
    assert chooser.offered == [ELSEWHERE, B_NEW, A_EXEC, A_OLD]


def test_picker_cancelled_returns_none(tree):
    home, work = tree
    assert rewrite_resume_args(["resume"], home, work, Chooser(pick=None)) is None


def test_picker_with_nothing_to_offer_says_where_it_looked(tree, tmp_path):
    home, _ = tree
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SessionNotFound) as caught:
        rewrite_resume_args(["resume"], home, str(empty), never_called)
    assert str(empty) in str(caught.value) and "--all" in str(caught.value)
    assert str(home / "sessions") in str(caught.value)


def test_fork_last_and_fork_picker(tree):
    home, work = tree
    assert rewrite_resume_args(["fork", "--last"], home, work, never_called) == ["fork", B_NEW]
    assert rewrite_resume_args(["fork"], home, work, Chooser(pick=1)) == ["fork", A_OLD]


@pytest.mark.parametrize("argv", [
    ["resume", A_OLD],
    ["resume", "--last", A_OLD],  # an explicit id wins over --last, as in Codex
    ["resume", "my named session"],
    ["resume", "--help"],
    ["-m", "o3"],
    ["fix the --last bug"],
    ["exec", "--last"],
    ["exec", "resume", "--last"],
    ["resume", "--", "--last"],  # after --, a session name
    [],
])
def test_everything_else_is_unchanged(tree, argv):
    home, work = tree
    assert rewrite_resume_args(argv, home, work, never_called) == argv


def test_an_option_value_is_not_a_picker_flag_or_a_session(tree):
    home, work = tree
    chooser = Chooser(pick=0)
    assert rewrite_resume_args(["resume", "-m", "--last", "-c", "x=1"], home, work, chooser) == [
        "resume", B_NEW, "-m", "--last", "-c", "x=1"]
    assert chooser.offered == [B_NEW, A_OLD]
