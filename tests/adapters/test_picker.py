"""The numbered-list picker, driven with a fake terminal."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from supervisor.adapters.picker import choose_session, render_sessions
from supervisor.adapters.session_catalog import SessionSummary
from supervisor.errors import TerminalError

from ..fakes.rollouts import session_id


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Interrupting(FakeTty):
    def readline(self, *args) -> str:
        raise KeyboardInterrupt


def summary(n: int, title: str | None, cwd: str = "/srv/project") -> SessionSummary:
    return SessionSummary(session_id=session_id(n), cwd=cwd, started_at=1795560000.0 + n,
                          updated_at=1795562000.0 + n, title_hint=title, rollout_path=Path(f"/x/{n}.jsonl"))


SESSIONS = [summary(1, "fix the flaky test"), summary(2, None), summary(3, "\x1b[2Jclear\x07 screen")]


def test_a_number_picks_that_session():
    stdout = io.StringIO()
    assert choose_session(SESSIONS, FakeTty("2\n"), stdout) is SESSIONS[1]
    shown = stdout.getvalue()
    assert "  1  " in shown and "fix the flaky test" in shown and "(no prompt yet)" in shown
    assert "/srv/project" in shown and "Resume which session? [1-3, q to cancel]: " in shown


def test_wrong_answers_ask_again():
    stdout = io.StringIO()
    assert choose_session(SESSIONS, FakeTty("0\nabc\n\n4\n 3 \n"), stdout) is SESSIONS[2]
    assert stdout.getvalue().count("type a number from 1 to 3, or q to cancel") == 4


@pytest.mark.parametrize("typed", ["q\n", "Q\n", "quit\n", "", "7\n"])
def test_cancel_by_q_or_end_of_input(typed):
    assert choose_session(SESSIONS, FakeTty(typed), io.StringIO()) is None


def test_ctrl_c_cancels():
    assert choose_session(SESSIONS, Interrupting(), io.StringIO()) is None


def test_not_a_terminal_asks_for_an_id():
    stdout = io.StringIO()
    with pytest.raises(TerminalError) as caught:
        choose_session(SESSIONS, io.StringIO("1\n"), stdout)
    assert "codex-fsm resume <session-id>" in str(caught.value)
    assert stdout.getvalue() == ""


def test_titles_and_folders_cannot_drive_the_terminal():
    shown = render_sessions([*SESSIONS, summary(4, "ok", cwd="/tmp/\x1b]0;evil\x07dir")])
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b[2Jclear" in shown and "\\x1b]0;evil\\x07dir" in shown  # visible, not obeyed


def test_home_is_shortened(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    shown = render_sessions([summary(1, "t", cwd=str(tmp_path / "proj"))])
    assert "~/proj" in shown and str(tmp_path) not in shown
