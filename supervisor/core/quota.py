"""Quota figures and the pure pressure policy.

Windows are classified by their length, never by their slot: Codex calls them "primary" and
"secondary", but which one is the 5-hour window is a property of its duration (reference §9 item 21).
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
    return number / 1000.0 if number >= _MILLISECONDS_FLOOR else number


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
        if self.resets_at is not None and (math.isnan(self.resets_at) or math.isinf(self.resets_at)):
            object.__setattr__(self, "resets_at", None)

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

    def exhausted_at(self, now: float) -> bool:
        if self.limit_reached and (self.soonest_reset_after(now) is not None or not self.windows):
            return True
        return any(w.remaining_at(now) <= 0.0 for w in self.windows)

    def soonest_reset_after(self, now: float) -> float | None:
        resets = [w.resets_at for w in self.windows if w.resets_at is not None and w.resets_at > now]
        return min(resets) if resets else None

    def blocking_reset(self, now: float, floors: "Thresholds") -> float | None:
        """When the window that blocks use resets (the weekly one if that is the blocker)."""
        blockers = [
            w for w in self.windows
            if w.resets_at is not None and w.resets_at > now
            and w.remaining_at(now) <= floors.rotate_for(w.kind)
        ]
        if not blockers:
            return None
        return max(w.resets_at for w in blockers if w.resets_at is not None)


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


def pressure(snapshot: QuotaSnapshot | None, thresholds: Thresholds, now: float) -> Pressure:
    """How close an account is to its limit: rotate, prewarm a successor, or nothing."""
    if snapshot is None:
        return Pressure.NONE
    if snapshot.exhausted_at(now):
        return Pressure.ROTATE
    result = Pressure.NONE
    for w in snapshot.windows:
        remaining = w.remaining_at(now)
        if remaining <= thresholds.rotate_for(w.kind) or remaining <= 0.0:
            return Pressure.ROTATE
        if remaining <= thresholds.prewarm_for(w.kind):
            result = Pressure.PREWARM
    return result


def has_headroom(snapshot: QuotaSnapshot | None, thresholds: Thresholds, now: float) -> bool:
    """Usable now: above the rotate floor on every window (a reset window counts as fresh)."""
    if snapshot is None:
        return False
    return pressure(snapshot, thresholds, now) is not Pressure.ROTATE
