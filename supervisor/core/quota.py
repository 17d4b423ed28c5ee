"""Quota figures and the pure pressure policy.

Windows are classified by their length, never by their slot: Codex calls them "primary" and
"secondary", but which one is the 5-hour window is a property of its duration. A plan may have only
one of them (a weekly-only plan has no 5-hour window): that is a plan, not missing data.
Times are unix epoch seconds and always come from the caller.

Limit families. Codex meters some models separately from the account's main limit. Every model
response carries one header family per limit (``x-codex-*`` is the main family, limit id ``codex``;
``x-codex-bengalfox-*`` is the family ``codex_bengalfox``, named "GPT-5.3-Codex-Spark"), and Codex
writes one rollout ``token_count`` per family, each ``rate_limits`` naming its ``limit_id`` (missing
means ``codex``) and, for the extra families, a ``limit_name``. The usage endpoint reports the main
family as ``rate_limit`` and the others as ``additional_rate_limits[]`` (``metered_feature`` is the
limit id, ``limit_name`` the display name). A family's ``limit_name`` names the model it meters, so
a session's family is the one whose name is its model (see ``family_for``); every other model uses
the main family. A snapshot carries every family it saw; only the session's family decides.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

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


# The main limit family: what the account's plan allows for every model not metered separately.
MAIN_FAMILY = "codex"
# Codex's ``rate_limit_reached_type`` values that stop a whole workspace (its owner's spend cap or
# credits), not one seat: every account of that workspace is exhausted with it.
WORKSPACE_REACHED_PREFIX = "workspace_"


def _folded(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def same_model_name(a: str | None, b: str | None) -> bool:
    """Whether a limit's display name ("GPT-5.3-Codex-Spark") names a model ("gpt-5.3-codex-spark")."""
    return bool(a) and bool(b) and _folded(a or "") == _folded(b or "")


@dataclass(frozen=True, slots=True)
class LimitFamily:
    """One extra limit family of an account (not the main ``codex`` one): its windows and flags.

    ``allowed``: the usage endpoint's own verdict on ordinary use (None where the source gives none).
    ``reached_type``: Codex's ``rate_limit_reached_type`` (``rate_limit_reached``, ``workspace_*``).
    """

    limit_id: str
    limit_name: str | None = None
    windows: tuple[QuotaWindow, ...] = ()
    limit_reached: bool = False
    allowed: bool | None = None
    reached_type: str | None = None


@dataclass(frozen=True, slots=True)
class QuotaSnapshot:
    """The windows of one account at one moment, from a probe or from the rollout.

    ``windows``, ``limit_reached``, ``allowed`` and ``reached_type`` describe the main family
    (``codex``); ``families`` the others the source reported. Pure functions below look at the
    main fields only: ask ``for_model`` for the view of the family a session's model uses.
    """

    windows: tuple[QuotaWindow, ...] = ()
    observed_at: float = 0.0
    limit_reached: bool = False
    allowed: bool | None = None
    reached_type: str | None = None
    families: tuple[LimitFamily, ...] = ()

    def family(self, limit_id: str) -> LimitFamily | None:
        for f in self.families:
            if f.limit_id == limit_id:
                return f
        return None

    def family_for(self, model: str | None) -> str:
        """The limit id that meters ``model``: the family named after it, else the main family."""
        for f in self.families:
            if same_model_name(f.limit_name, model):
                return f.limit_id
        return MAIN_FAMILY

    @property
    def workspace_limit(self) -> str | None:
        """The ``workspace_*`` reached type when the account's workspace as a whole is stopped."""
        for reached in (self.reached_type, *(f.reached_type for f in self.families)):
            if reached and reached.startswith(WORKSPACE_REACHED_PREFIX):
                return reached
        return None

    def view(self, limit_id: str) -> "QuotaSnapshot":
        """The family ``limit_id`` as a plain snapshot (its windows in the main fields, no others).

        A family the source did not report shows no windows: nothing proves it exhausted. A
        workspace-wide stop holds for every family.
        """
        workspace = self.workspace_limit
        if limit_id == MAIN_FAMILY:
            if not self.families and (workspace is None or self.limit_reached):
                return self
            return QuotaSnapshot(self.windows, self.observed_at, self.limit_reached or workspace is not None,
                                 self.allowed, self.reached_type or workspace)
        f = self.family(limit_id)
        if f is None:
            return QuotaSnapshot((), self.observed_at, workspace is not None, None, workspace)
        return QuotaSnapshot(f.windows, self.observed_at, f.limit_reached or workspace is not None,
                             f.allowed, f.reached_type or workspace)

    def for_model(self, model: str | None) -> "QuotaSnapshot":
        return self.view(self.family_for(model))

    def with_names_from(self, older: "QuotaSnapshot | None") -> "QuotaSnapshot":
        """Keep the display names an older snapshot knew for families this one reports unnamed
        (Codex's headers name a family only sometimes; the usage endpoint always does)."""
        if older is None or not any(f.limit_name is None for f in self.families):
            return self
        named = {f.limit_id: f.limit_name for f in older.families if f.limit_name}
        families = tuple(replace(f, limit_name=named.get(f.limit_id)) if f.limit_name is None else f
                         for f in self.families)
        return replace(self, families=families)

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
    - The source's own verdict wins over the percentages: ``allowed`` true (and no limit reached)
      does not block whatever the windows say (credits, say, keep ordinary use going); ``allowed``
      false blocks like ``limit_reached``.
    The result does not depend on the time it is asked at; it is a fixed moment of the snapshot.
    Only the main fields count: pass ``snapshot.for_model(model)`` for another family.
    """
    if snapshot is None:
        return None
    refused = snapshot.limit_reached or snapshot.allowed is False
    if snapshot.allowed is True and not refused:
        return None
    blockers = [w for w in snapshot.windows if _at_floor(w, thresholds)]
    if blockers:
        if any(w.resets_at is None for w in blockers):
            return UNKNOWN_END
        return max(w.resets_at for w in blockers if w.resets_at is not None)
    if refused:
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
