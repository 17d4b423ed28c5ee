"""The input tracker keeps the unsent draft and the last prompt exactly, or admits it does not know."""

from __future__ import annotations

from supervisor.adapters.input_tracker import InputTracker


def _typed(*chunks: bytes) -> InputTracker:
    tracker = InputTracker()
    for i, chunk in enumerate(chunks):
        tracker.note(chunk, at=float(i))
    return tracker


def test_draft_with_backspace_and_utf8():
    tracker = _typed(b"h\xc3\xa9llo", b"\x7f\x7f", b"p")
    assert tracker.take_draft() == "hélp".encode()
    assert tracker.take_draft() == b""
    assert tracker.last_input_at == 2.0


def test_enter_submits_and_remembers_the_prompt():
    tracker = _typed(b"fix it\r", b"next")
    assert tracker.last_prompt() == b"fix it"
    assert tracker.take_draft() == b"next"


def test_bracketed_paste_across_chunks_keeps_newlines():
    tracker = _typed(b"a\x1b[200~line1\nli", b"ne2\x1b[201~b")
    assert tracker.take_draft() == b"aline1\nline2b"


def test_ctrl_c_and_ctrl_u_clear_kitty_keys_type():
    assert _typed(b"abc\x03").take_draft() == b""
    assert _typed(b"abc\x15d").take_draft() == b"d"
    assert _typed(b"a\x1b[98u\x1b[99;5uz").take_draft() == b"z"
    assert _typed(b"a\x1b[13;2ub").take_draft() == b"a\nb"


def test_cursor_movement_makes_the_draft_unknown_and_nothing_is_retyped():
    tracker = _typed(b"abc\x1b[Dx")
    assert not tracker.has_draft
    assert tracker.take_draft() == b""
    tracker.note(b"\r", 5.0)
    assert tracker.last_prompt() is None


def test_repr_never_shows_keystrokes():
    assert "secret" not in repr(_typed(b"secret"))


def test_quit_keys_are_reported_and_q_only_on_an_empty_draft():
    assert InputTracker().note(b"\x03", 1.0) == "ctrl-c"
    assert InputTracker().note(b"\x04", 1.0) == "ctrl-d"
    assert InputTracker().note(b"q", 1.0) == "q"
    assert InputTracker().note(b"\x1b[99;5u", 1.0) == "ctrl-c"  # kitty keyboard protocol
    assert InputTracker().note(b"\x1b[100;5u", 1.0) == "ctrl-d"
    tracker = _typed(b"se")
    assert tracker.note(b"quence", 2.0) is None  # a q inside a word is a letter
    assert tracker.take_draft() == b"sequence"
    assert InputTracker().note(b"\x1b[200~q\x1b[201~", 1.0) is None  # nor is a pasted q


def test_the_draft_remembered_at_the_stop_survives_later_keys_that_spoil_it():
    tracker = _typed(b"half typed")
    tracker.remember_draft()
    tracker.note(b"\x1b[D", 5.0)  # an arrow into a Codex that is already leaving
    assert tracker.take_draft() == b"half typed"
    assert tracker.take_draft() == b""


def test_keys_typed_after_the_stop_still_extend_the_draft():
    tracker = _typed(b"half")
    tracker.remember_draft()
    tracker.note(b" typed", 5.0)  # typed while no child runs
    assert tracker.take_draft() == b"half typed"


def test_kitty_key_releases_do_not_count_twice():
    # Codex pushes kitty flags 7 (with event types): Ctrl-C and Shift-Enter come with their release.
    assert _typed(b"ab\x1b[13;2u\x1b[13;2:3uc").take_draft() == b"ab\nc"
    tracker = _typed(b"x\x1b[99;5u\x1b[99;5:3u")
    assert tracker.take_draft() == b""
    assert tracker.note(b"\x1b[99;5:3u", 3.0) is None  # a release alone is no quit
