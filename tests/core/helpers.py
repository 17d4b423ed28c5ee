"""Drive a fresh core into any state with real events, for the table tests."""

from __future__ import annotations

from supervisor.chartfile import load_default_chart
from supervisor.core import events as ev
from supervisor.core.quota import QuotaSnapshot, QuotaWindow
from supervisor.core.session import Session
from supervisor.core.settings import SessionSettings

ALPHA, BRAVO, CHARLIE = "a-alpha00001", "a-bravo00002", "a-charlie0003"
SID = "01a20fd6-0841-7b11-bef0-67e429d6e15c"
T = 100.0


def snap(used_5h: float, used_weekly: float, at: float, reset_5h: float | None = None) -> QuotaSnapshot:
    return QuotaSnapshot(windows=(QuotaWindow(used_5h, 300, reset_5h if reset_5h is not None else at + 7200),
                                  QuotaWindow(used_weekly, 10080, at + 400000)), observed_at=at)


def healthy(at: float) -> QuotaSnapshot:
    return snap(20, 10, at)


def near_prewarm(at: float) -> QuotaSnapshot:
    return snap(92, 10, at)  # 8 % left: at the prewarm floor (5 + 5), above the rotate floor


def near_rotate(at: float) -> QuotaSnapshot:
    return snap(97, 10, at, reset_5h=at + 400)  # 3 % left: below the rotate floor


# The events that lead from a fresh session to each state (times 1..5, all before T).
PATHS: dict[str, list[ev.Event]] = {
    "fresh": [],
    "acquiring": [ev.SessionStarted(at=1)],
    "probing": [ev.SessionStarted(at=1), ev.AccountLeased(at=2, account=ALPHA)],
}
PATHS["running"] = PATHS["probing"] + [ev.QuotaProbed(at=3, account=ALPHA, snapshot=healthy(3)),
                                       ev.SessionBound(at=4, session_id=SID)]
PATHS["prewarming"] = PATHS["running"] + [ev.QuotaObserved(at=5, snapshot=near_prewarm(5))]
PATHS["restarting"] = PATHS["running"] + [ev.UsageLimitHit(at=5, resets_at=5000)]
PATHS["resuming"] = PATHS["running"] + [ev.ChildExited(at=5, signal=11)]
PATHS["exited"] = PATHS["running"] + [ev.ChildExited(at=5, code=0)]


def reach(state: str, settings: SessionSettings | None = None, **context) -> Session:
    session = Session(load_default_chart(), settings)
    for event in PATHS[state]:
        session.handle(event)
    expected = "acquiring" if state == "fresh" else state
    assert session.state == expected, f"path to {state} ended in {session.state}"
    for name, value in context.items():
        assert hasattr(session.context, name), name
        setattr(session.context, name, value)
    return session
