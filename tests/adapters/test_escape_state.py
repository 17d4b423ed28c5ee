"""EscapeState: where the child's output stands between reads, whatever the reads' boundaries."""

from __future__ import annotations

import pytest

from supervisor.adapters.escape_state import EscapeState

# Each one complete: at its end the stream is at a boundary again, and at no byte before it.
SEQUENCES = {
    "sgr": b"\x1b[38;5;208m",
    "private mode": b"\x1b[?2004h",
    "csi with intermediate": b"\x1b[2 q",
    "csi with a carriage return inside": b"\x1b[3\r1m",
    "osc title, BEL": b"\x1b]0;a title\x07",
    "osc hyperlink, ST": b"\x1b]8;;https://example.invalid/\x1b\\",
    "osc 7501": b"\x1b]7501;state=idle:app=codex\x1b\\",
    "dcs with a BEL in its payload": b"\x1bP>|xterm\x07(390)\x1b\\",
    "apc kitty graphics": b"\x1b_Ga=T,f=100;AAAA\x1b\\",
    "pm": b"\x1b^private\x1b\\",
    "sos": b"\x1bXstring\x1b\\",
    "charset": b"\x1b(B",
    "single shift": b"\x1bOP",
    "two-byte utf-8": "é".encode(),
    "three-byte utf-8": "✓".encode(),
    "four-byte utf-8": "🙂".encode(),
    "keypad mode": b"\x1b=",
}


@pytest.mark.parametrize("sequence", SEQUENCES.values(), ids=SEQUENCES.keys())
def test_a_sequence_split_at_any_byte_is_open_until_its_last_byte(sequence: bytes) -> None:
    for cut in range(1, len(sequence)):
        state = EscapeState()
        state.feed(b"text " + sequence[:cut])
        assert not state.at_boundary, (sequence, cut)
        state.feed(sequence[cut:])
        assert state.at_boundary, (sequence, cut)


@pytest.mark.parametrize("sequence", SEQUENCES.values(), ids=SEQUENCES.keys())
def test_byte_by_byte_the_boundary_comes_only_at_the_end(sequence: bytes) -> None:
    state = EscapeState()
    seen = []
    for byte in sequence:
        state.feed(bytes([byte]))
        seen.append(state.at_boundary)
    assert seen == [False] * (len(sequence) - 1) + [True]


def test_a_whole_frame_split_everywhere_ends_at_a_boundary() -> None:
    frame = b"".join(SEQUENCES.values()) + b"plain\r\n"
    for cut in range(len(frame) + 1):
        state = EscapeState()
        state.feed(frame[:cut])
        state.feed(frame[cut:])
        assert state.at_boundary


def test_plain_text_and_c0_controls_are_boundaries() -> None:
    state = EscapeState()
    for chunk in (b"hello", b"\r\n", b"\x07", b"\x08", b"\t"):
        state.feed(chunk)
        assert state.at_boundary


def test_can_and_sub_abort_an_open_sequence() -> None:
    for abort in (b"\x18", b"\x1a"):
        state = EscapeState()
        state.feed(b"\x1b]0;half a tit")
        state.feed(abort)
        assert state.at_boundary


def test_an_esc_inside_a_string_ends_it_and_starts_a_new_sequence() -> None:
    state = EscapeState()
    state.feed(b"\x1b]0;cut short\x1b[")
    assert not state.at_boundary  # now inside the CSI
    state.feed(b"0m")
    assert state.at_boundary


def test_a_bel_does_not_end_a_dcs_but_ends_an_osc() -> None:
    dcs, osc = EscapeState(), EscapeState()
    dcs.feed(b"\x1bPpayload\x07")
    osc.feed(b"\x1b]2;payload\x07")
    assert not dcs.at_boundary
    assert osc.at_boundary


def test_8_bit_c1_bytes_are_utf_8_continuations_not_controls() -> None:
    state = EscapeState()
    state.feed("Û›".encode())  # c3 9b, e2 80 ba: 0x9b would be an 8-bit CSI
    assert state.at_boundary


@pytest.mark.parametrize("mode", [b"1049", b"1047", b"47"])
def test_the_alternate_screen_is_followed_through_split_mode_switches(mode: bytes) -> None:
    enter, leave = b"\x1b[?" + mode + b"h", b"\x1b[?" + mode + b"l"
    for cut in range(1, len(enter)):
        state = EscapeState()
        state.feed(enter[:cut])
        assert not state.alternate_screen
        state.feed(enter[cut:])
        assert state.alternate_screen
        state.feed(b"frame" + leave)
        assert not state.alternate_screen


def test_other_modes_in_the_same_sequence_do_not_hide_the_alternate_screen() -> None:
    state = EscapeState()
    state.feed(b"\x1b[?1049;2004h")
    assert state.alternate_screen
    state.feed(b"\x1b[?2004l\x1b[1049l")  # not DEC private: another mode altogether
    assert state.alternate_screen


def test_reset_returns_to_ground() -> None:
    state = EscapeState()
    state.feed(b"\x1b[38;5")
    state.reset()
    assert state.at_boundary
