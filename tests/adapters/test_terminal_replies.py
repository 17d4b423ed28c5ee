"""The terminal's replies on stdin are told from the user's keys, however the reads cut them."""

from __future__ import annotations

import pytest

from supervisor.adapters.input_tracker import InputTracker
from supervisor.adapters.terminal_replies import CPR_ANSWER_WAIT_S, ESCAPE_WAIT_S, AskedQueries, InputSplitter

# What terminals answer to the queries Codex sends when it starts and when it exits.
REPLIES = {
    "cpr (asked)": b"\x1b[12;1R",
    "decxcpr": b"\x1b[?12;1R",
    "da1": b"\x1b[?64;1;2;6;9;15;16;17;18;21;22;28c",
    "da2": b"\x1b[>41;390;0c",
    "dsr": b"\x1b[0n",
    "osc 11 (ST)": b"\x1b]11;rgb:1e1e/1e1e/2e2e\x1b\\",
    "osc 10 (BEL)": b"\x1b]10;rgb:ffff/ffff/ffff\x07",
    "osc 4": b"\x1b]4;1;rgb:cdcd/0000/0000\x1b\\",
    "kitty flags": b"\x1b[?0u",
    "xtversion": b"\x1bP>|WezTerm 20240203\x1b\\",
    "decrqm (dec)": b"\x1b[?2026;2$y",
    "decrqm (ansi)": b"\x1b[4;2$y",
    "focus in": b"\x1b[I",
}


def _splitter(cpr_asked: int = 0, at: float = 0.0) -> InputSplitter:
    asked = AskedQueries()
    asked.saw_output(b"\x1b[6n" * cpr_asked, at)
    return InputSplitter(asked)


def _route(splitter: InputSplitter, tracker: InputTracker, chunks: list[bytes], at: float = 1.0) -> list[bytes]:
    """Feed the chunks (one read each); keys go to the tracker; returns the replies found."""
    replies = []
    for i, chunk in enumerate(chunks):
        for part in splitter.feed(chunk, at + i * 0.001):
            if part.is_reply:
                replies.append(part.data)
            else:
                tracker.note(part.data, part.at)
    return replies


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_a_reply_between_keys_is_not_part_of_the_draft(name):
    tracker = InputTracker()
    reply = REPLIES[name]
    replies = _route(_splitter(cpr_asked=1), tracker, [b"half ", reply, b"typed"])
    assert replies == [reply]
    assert tracker.take_draft() == b"half typed"


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_a_reply_cut_into_single_bytes_is_found_once_and_the_keys_around_it_still_count(name):
    tracker = InputTracker()
    reply = REPLIES[name]
    data = b"ab" + reply + b"cd"
    replies = _route(_splitter(cpr_asked=1), tracker, [data[i:i + 1] for i in range(len(data))])
    assert replies == [reply]
    assert tracker.take_draft() == b"abcd"


def test_replies_alone_never_move_the_idle_clock():
    tracker = InputTracker()
    tracker.note(b"x", 1.0)
    _route(_splitter(cpr_asked=1, at=50.0), tracker, list(REPLIES.values()), at=50.0)
    assert tracker.last_input_at == 1.0
    assert tracker.take_draft() == b"x"


def test_keys_in_the_same_read_as_a_reply_count_in_order():
    tracker = InputTracker()
    splitter = _splitter()
    parts = splitter.feed(b"a\x1b[?62;22cb\x1b]11;rgb:0/0/0\x07c", 7.0)
    assert [(p.data, p.is_reply) for p in parts] == [
        (b"a", False), (b"\x1b[?62;22c", True), (b"b", False), (b"\x1b]11;rgb:0/0/0\x07", True), (b"c", False)]
    for part in parts:
        if not part.is_reply:
            tracker.note(part.data, part.at)
    assert tracker.take_draft() == b"abc" and tracker.last_input_at == 7.0


def test_a_position_report_nobody_asked_for_is_a_key():
    """``CSI 1 ; 5 R`` is also Ctrl-F3 in some terminals: without a pending query it stays a key."""
    tracker = InputTracker()
    assert _route(_splitter(cpr_asked=0), tracker, [b"ab", b"\x1b[1;5R"]) == []
    assert not tracker.has_draft  # an unmodelled key, as before


def test_each_asked_position_is_answered_once_and_an_old_query_expires():
    asked = AskedQueries()
    asked.saw_output(b"\x1b[", 0.0)
    asked.saw_output(b"6n", 0.0)  # a query cut by the output chunking
    splitter = InputSplitter(asked)
    assert [p.is_reply for p in splitter.feed(b"\x1b[3;4R", 1.0)] == [True]
    assert [p.is_reply for p in splitter.feed(b"\x1b[3;4R", 1.1)] == [False]
    asked.saw_output(b"\x1b[6n", 2.0)
    assert [p.is_reply for p in splitter.feed(b"\x1b[3;4R", 2.0 + CPR_ANSWER_WAIT_S + 1)] == [False]


def test_a_lone_esc_is_the_esc_key_once_nothing_followed_it():
    splitter = _splitter()
    assert [(p.data, p.is_reply) for p in splitter.feed(b"ab\x1b", 1.0)] == [(b"ab", False)]  # Esc waits
    later = 1.0 + ESCAPE_WAIT_S + 0.01
    assert [(p.data, p.is_reply, p.at) for p in splitter.feed(b"c", later)] == [
        (b"\x1b", False, 1.0), (b"c", False, later)]


def test_an_esc_followed_at_once_by_the_rest_of_a_reply_is_the_reply():
    splitter = _splitter()
    assert splitter.feed(b"\x1b", 1.0) == []
    assert [(p.data, p.is_reply) for p in splitter.feed(b"[?0u", 1.01)] == [(b"\x1b[?0u", True)]


def test_a_paste_end_cut_by_a_read_still_ends_the_paste():
    tracker = InputTracker()
    replies = _route(_splitter(), tracker, [b"\x1b[200~one\ntwo\x1b[2", b"01~", b"\x1b[?0u", b"!"])
    assert replies == [b"\x1b[?0u"]
    assert tracker.take_draft() == b"one\ntwo!"


def test_alt_shift_p_is_a_key_not_a_dcs_string():
    parts = _splitter().feed(b"\x1bPx", 1.0)
    assert [p.is_reply for p in parts] == [False]
    assert b"".join(p.data for p in parts) == b"\x1bPx"
