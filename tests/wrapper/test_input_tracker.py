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
