"""The data one supervised session carries between events (the machine's extended state).

Only the policy's actions write it; guards and deadlines only read it. Everything in it can be
rebuilt by replaying the events, which is why it holds no clock, no handles and no secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .quota import QuotaSnapshot
from .settings import SessionSettings


@dataclass(slots=True)
class SessionContext:
    settings: SessionSettings
    # The account the child runs (or last ran) on, and the candidate being leased/probed.
    account: str | None = None
    candidate: str | None = None
    # A prewarmed, probed and still leased next account.
    successor: str | None = None
    session_id: str | None = None
    # The model the session runs (the user's choice, then what Codex's rollout says it ran): it picks
    # the limit family that decides pressure, headroom and cooldowns (``QuotaSnapshot.for_model``).
    model: str | None = None
    # A headless run (``codex exec``): known from the start, never changes.
    headless: bool = False
    # True once a child of this session has run: the next spawn resumes instead of starting fresh.
    child_has_run: bool = False
    restarts: int = 0
    # The account the session left at its last rotation and its last figures (for the notice of the move).
    retired_account: str | None = None
    retired_snapshot: QuotaSnapshot | None = None
    rotation_times: list[float] = field(default_factory=list)
    # Why the current account must be left at the next quiet moment ("quota", "usage_limit", ...).
    rotation_reason: str | None = None
    rotation_suspended: bool = False
    turn_active: bool = False
    last_input_at: float | None = None
    last_snapshot: QuotaSnapshot | None = None
    usage_limit_resets_at: float | None = None
    resubmit_pending: bool = False
    # Stop ladder position and when the current rung gives up.
    stop_step: int = -1
    stop_deadline: float | None = None
    quit_signal: int | None = None
    # Whole-pool-exhausted wait.
    wait_started_at: float | None = None
    wait_until: float | None = None
    next_countdown_at: float | None = None
    prewarm_retry_at: float | None = None
    ready_deadline: float | None = None
    exit_status: int | None = None
    last_exit_status: int | None = None
