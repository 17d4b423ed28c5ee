"""What the loop publishes for the status line: labels, the running account's windows, the last move."""

from __future__ import annotations

from supervisor.composition import _LabelledStatus
from supervisor.core.context import SessionContext
from supervisor.core.quota import LimitFamily, QuotaSnapshot, QuotaWindow
from supervisor.core.settings import SessionSettings


class RecordingStatus:
    def __init__(self) -> None:
        self.published: list[tuple] = []

    def publish(self, state, label, session_id, now, extras) -> None:
        self.published.append((state, label, session_id, now, extras))


def snapshot(used: float, at: float) -> QuotaSnapshot:
    spark = LimitFamily("codex_bengalfox", "GPT-5.3-Codex-Spark", (QuotaWindow(90.0, 300, None),))
    return QuotaSnapshot((QuotaWindow(used, 300, 5000.0),), observed_at=at, families=(spark,))


def test_a_move_is_published_with_the_old_label_and_the_old_windows_are_dropped():
    sink = RecordingStatus()
    status = _LabelledStatus(sink, {"a1": "work-1", "a2": "work-2"}.get)
    ctx = SessionContext(SessionSettings(), account="a1", last_snapshot=snapshot(20.0, 10.0))
    status.publish("running", ctx, 11.0)
    *_, extras = sink.published[-1]
    assert sink.published[-1][1] == "work-1" and extras.moved_from is None
    assert extras.windows == ({"used_percent": 20.0, "window_minutes": 300, "resets_at": 5000.0},)
    ctx.account = "a2"  # the context still holds work-1's figures right after the move
    status.publish("resuming", ctx, 30.0)
    *_, extras = sink.published[-1]
    assert (extras.moved_from, extras.moved_at, extras.windows) == ("work-1", 30.0, ())
    ctx.last_snapshot = snapshot(5.0, 31.0)
    status.publish("running", ctx, 31.0)
    *_, extras = sink.published[-1]
    assert (extras.moved_from, extras.moved_at) == ("work-1", 30.0)
    assert extras.windows[0]["used_percent"] == 5.0


def test_the_windows_are_the_family_of_the_sessions_model():
    sink = RecordingStatus()
    ctx = SessionContext(SessionSettings(), account="a1", model="gpt-5.3-codex-spark",
                         last_snapshot=snapshot(20.0, 10.0))
    _LabelledStatus(sink, lambda account: "work-1").publish("running", ctx, 11.0)
    assert sink.published[-1][-1].windows == ({"used_percent": 90.0, "window_minutes": 300, "resets_at": None},)
