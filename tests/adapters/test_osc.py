"""The OSC 7501 scanner finds each state once, however the stream is chunked."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.adapters.osc import OscScanner, TurnSignals
from supervisor.core import events as ev

IDLE = b"\x1b]7501;state=idle:app=codex\x1b\\"
WORKING = b"\x1b]7501;state=working:app=codex\x1b\\"
DONE = b"\x1b]7501;state=done:app=codex\x1b\\"
CLEAR = b"\x1b]7501;state=clear\x1b\\"
STREAM = (b"\x1b[?1049h composer \x1b]0;title\x07" + IDLE + b"typed" + WORKING + b"\x1b[31manswer\x1b[0m"
          + DONE + b"Worked for 0s" + IDLE + b"\x1b]7501;" + b"x" * 300 + CLEAR + b"Token usage")
EXPECTED = ["idle", "working", "done", "idle", "clear"]


def _scan(chunks) -> list[str]:
    scanner = OscScanner()
    found: list[str] = []
    for chunk in chunks:
        found += scanner.feed(chunk)
    return found


def test_whole_stream():
    assert _scan([STREAM]) == EXPECTED


def test_byte_by_byte():
    assert _scan([STREAM[i:i + 1] for i in range(len(STREAM))]) == EXPECTED


def test_with_trailing_bytes_and_bel_terminator():
    assert _scan([b"\x1b]7501;state=done:app=codex\x07", b"tail \x1b]75"]) == ["done"]


@settings(derandomize=True, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM) - 1), max_size=20))
def test_any_split(cuts):
    points = [0, *sorted(set(cuts)), len(STREAM)]
    assert _scan([STREAM[a:b] for a, b in zip(points, points[1:], strict=False)]) == EXPECTED


def test_turn_signals_map_states_to_events_and_only_first_idle_is_ready():
    signals = TurnSignals(lambda: 41.0)
    found = signals.feed(IDLE + WORKING + DONE + IDLE, at=42.0)
    assert found == [ev.ChildReady(at=42.0), ev.TurnStarted(at=42.0), ev.TurnFinished(at=42.0, last_input_at=41.0)]
    signals.reset()
    assert signals.feed(IDLE, at=43.0) == [ev.ChildReady(at=43.0)]


def test_a_failed_turn_ends_the_turn_too():
    """Codex 0.169 ends a turn that failed (usage limit, stream error) with state=error and no done."""
    signals = TurnSignals(lambda: 41.0)
    found = signals.feed(IDLE + WORKING + b"\x1b]7501;state=error:app=codex\x1b\\", at=42.0)
    assert found == [ev.ChildReady(at=42.0), ev.TurnStarted(at=42.0), ev.TurnFinished(at=42.0, last_input_at=41.0)]
