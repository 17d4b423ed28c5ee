"""Quota figures and the pure pressure policy.

Windows are classified by their length, never by their slot: Codex calls them "primary" and
"secondary", but which one is the 5-hour window is a property of its duration.
Times are unix epoch seconds and always come from the caller.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

FIVE_HOUR_MINUTES = 300
WEEKLY_MINUTES = 10080
# Windows whose length is within this factor of a known one are classified as that one.
_CLASSIFY_TOLERANCE = 0.25


# Epoch values at or above this are milliseconds (year 5138 in seconds), normalised to seconds.
_MILLISECONDS_FLOOR = 1e11
# The last second a calendar (datetime, time.localtime) can show: anything later is a broken value.
_LATEST_EPOCH_S = 253402300799.0


def finite_number(value: object) -> float | None:
    """A real, finite number from decoded JSON or a header (booleans and strings are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def epoch_seconds(value: object) -> float | None:
    """A positive epoch time in seconds; milliseconds are scaled down, anything else is None."""
    number = finite_number(value)
    if number is None or number <= 0:
        return None
    seconds = number / 1000.0 if number >= _MILLISECONDS_FLOOR else number
    return seconds if seconds <= _LATEST_EPOCH_S else None


# No usage window is longer than a week: a reset further ahead than this is a broken value, not a plan.
MAX_RESET_AHEAD_S = 31 * 24 * 3600.0


def plausible_reset(value: object, now: float) -> float | None:
    """A reset moment still ahead of ``now`` and within MAX_RESET_AHEAD_S; None for anything else
    (a past time, NaN, a string, a year-3000 value)."""
    moment = epoch_seconds(value)
    if moment is None or not now < moment <= now + MAX_RESET_AHEAD_S:
        return None
    return moment


def reset_named_by(error: object, now: float) -> float | None:
    """The reset a usage-limit error names: ``resets_at`` (epoch) or else ``resets_in_seconds``.

    Both Codex's 429 body (``error.resets_at``, ``error.resets_in_seconds``) and anything shaped like it
    are read; a value that is not a plausible future moment (negative, NaN, a string, centuries away)
    is ignored, never raised on.
    """
    if not isinstance(error, dict):
        return None
    at = plausible_reset(error.get("resets_at"), now)
    if at is not None:
        return at
    seconds = finite_number(error.get("resets_in_seconds"))
    if seconds is None or not 0 < seconds <= MAX_RESET_AHEAD_S:
        return None
    return plausible_reset(now + seconds, now)


class WindowKind(str, enum.Enum):
    FIVE_HOUR = "5h"
    WEEKLY = "weekly"
    OTHER = "other"


def classify_window(window_minutes: int | None) -> WindowKind:
    """Name a window by its length (5 h ≈ 300 min, weekly ≈ 10080 min)."""
    if not window_minutes or window_minutes <= 0:
        return WindowKind.OTHER
    for minutes, kind in ((FIVE_HOUR_MINUTES, WindowKind.FIVE_HOUR), (WEEKLY_MINUTES, WindowKind.WEEKLY)):
        if abs(window_minutes - minutes) <= minutes * _CLASSIFY_TOLERANCE:
            return kind
    return WindowKind.OTHER


@dataclass(frozen=True, slots=True)
class QuotaWindow:
    """One rate-limit window: how much is used, how long it is, when it resets."""

    used_percent: float
    window_minutes: int
    resets_at: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.used_percent, (int, float)) or math.isnan(self.used_percent):
            raise ValueError(f"used_percent must be a number, got {self.used_percent!r}")
        # Out-of-range figures from odd headers are clamped, not trusted.
        object.__setattr__(self, "used_percent", min(100.0, max(0.0, float(self.used_percent))))
        if self.resets_at is not None and epoch_seconds(self.resets_at) != self.resets_at:
            object.__setattr__(self, "resets_at", None)  # NaN, infinite, negative or past any calendar

    @property
    def kind(self) -> WindowKind:
        return classify_window(self.window_minutes)

    def used_at(self, now: float) -> float:
        """Used percent at ``now``; a window whose reset time has passed counts as reset."""
        if self.resets_at is not None and self.resets_at <= now:
            return 0.0
        return self.used_percent

    def remaining_at(self, now: float) -> float:
        return 100.0 - self.used_at(now)


@dataclass(frozen=True, slots=True)
class QuotaSnapshot:
    """The windows of one account at one moment, from a probe or from the rollout."""

    windows: tuple[QuotaWindow, ...] = ()
    observed_at: float = 0.0
    limit_reached: bool = False

    def window(self, kind: WindowKind) -> QuotaWindow | None:
        for w in self.windows:
            if w.kind is kind:
                return w
        return None

    def remaining(self, kind: WindowKind, now: float) -> float | None:
        w = self.window(kind)
        return None if w is None else w.remaining_at(now)

    def soonest_reset_after(self, moment: float) -> float | None:
        resets = [w.resets_at for w in self.windows if w.resets_at is not None and w.resets_at > moment]
        return min(resets) if resets else None

    def reset_since_observed(self, now: float) -> bool:
        """A window reset between the observation and ``now``: the figures no longer describe the account."""
        return any(w.resets_at is not None and self.observed_at < w.resets_at <= now for w in self.windows)

    def current_at(self, now: float, max_age_s: float) -> bool:
        """Young enough to stand in for a probe, and no reset since it was taken."""
        return 0.0 <= now - self.observed_at <= max_age_s and not self.reset_since_observed(now)


class Pressure(str, enum.Enum):
    NONE = "none"
    PREWARM = "prewarm"
    ROTATE = "rotate"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Remaining-percent floors: rotate at ``rotate_*``, prewarm at ``rotate_* + margin_*``."""

    rotate_5h: float = 5.0
    rotate_weekly: float = 5.0
    margin_5h: float = 5.0
    margin_weekly: float = 3.0

    def rotate_for(self, kind: WindowKind) -> float:
        if kind is WindowKind.FIVE_HOUR:
            return self.rotate_5h
        if kind is WindowKind.WEEKLY:
            return self.rotate_weekly
        return 0.0

    def prewarm_for(self, kind: WindowKind) -> float:
        if kind is WindowKind.FIVE_HOUR:
            return min(100.0, self.rotate_5h + self.margin_5h)
        if kind is WindowKind.WEEKLY:
            return min(100.0, self.rotate_weekly + self.margin_weekly)
        return 0.0


# The end of a block that no reset time bounds: "blocked, nobody said until when".
UNKNOWN_END = math.inf


def _at_floor(window: QuotaWindow, thresholds: Thresholds) -> bool:
    remaining = 100.0 - window.used_percent
    return remaining <= thresholds.rotate_for(window.kind) or remaining <= 0.0


def blocked_until(snapshot: QuotaSnapshot | None, thresholds: Thresholds) -> float | None:
    """Until when ``snapshot`` proves its account unusable: None when it does not block at all.

    This one function decides both "usable at t" (``blocked_until(...) <= t``) and "when does it
    become usable", so a wait can never name a moment at which the account is still refused.
    - Windows at or below their rotate floor block until the latest of their resets (all must clear);
      one of them without a reset time blocks with no known end (``UNKNOWN_END``).
    - ``limit_reached`` with no window at its floor ("blocked now", not until when) blocks until the
      soonest reset after the observation: after that moment the snapshot proves nothing.
    - ``limit_reached`` with no reset after the observation blocks with no known end.
    The result does not depend on the time it is asked at; it is a fixed moment of the snapshot.
    """
    if snapshot is None:
        return None
    blockers = [w for w in snapshot.windows if _at_floor(w, thresholds)]
    if blockers:
        if any(w.resets_at is None for w in blockers):
            return UNKNOWN_END
        return max(w.resets_at for w in blockers if w.resets_at is not None)
    if snapshot.limit_reached:
        soonest = snapshot.soonest_reset_after(snapshot.observed_at)
        return UNKNOWN_END if soonest is None else soonest
    return None


def blocks_at(snapshot: QuotaSnapshot | None, thresholds: Thresholds, now: float) -> bool:
    until = blocked_until(snapshot, thresholds)
    return until is not None and until > now


def pressure(snapshot: QuotaSnapshot | None, thresholds: Thresholds, now: float) -> Pressure:
    """How close an account is to its limit: rotate, prewarm a successor, or nothing."""
    if snapshot is None:
        return Pressure.NONE
    if blocks_at(snapshot, thresholds, now):
        return Pressure.ROTATE
    result = Pressure.NONE
    for w in snapshot.windows:
        if w.remaining_at(now) <= thresholds.prewarm_for(w.kind):
            result = Pressure.PREWARM
    return result


def has_headroom(snapshot: QuotaSnapshot | None, thresholds: Thresholds, now: float) -> bool:
    """Usable now: no window at its rotate floor and no usage limit in force (a passed reset counts as fresh)."""
    if snapshot is None:
        return False
    return not blocks_at(snapshot, thresholds, now)
