"""Per-account quota state of the fake backend: two rate-limit windows and scripted exhaustion.

Plain data plus the rules that move it; the server holds the lock and passes the clock reading in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

PRIMARY_WINDOW_MINUTES = 300
SECONDARY_WINDOW_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class Window:
    used_percent: float
    window_minutes: int
    resets_at: int

    def rolled_over(self, now: float) -> Window:
        """The window as it stands at `now`: usage drops to zero once its reset time has passed."""
        if now < self.resets_at:
            return self
        period = self.window_minutes * 60
        resets_at = self.resets_at
        while resets_at <= now:
            resets_at += period
        return replace(self, used_percent=0.0, resets_at=resets_at)


@dataclass(frozen=True)
class AccountState:
    """What the backend reports for one `chatgpt-account-id`.

    `turns_until_exhausted`: answered turns left before every further turn gets a usage-limit 429 (None: no
    limit). `next_turn_used_percent`: the next answered turn reports this primary usage in its headers, and it
    stays (the turn "used" the quota). `used_percent_step`: every answered turn adds this much primary usage
    (capped at 100). The first two are cleared when the primary window resets.
    """

    primary: Window
    secondary: Window
    plan_type: str = "plus"
    turns_until_exhausted: int | None = None
    next_turn_used_percent: float | None = None
    used_percent_step: float = 0.0
    turns_answered: int = field(default=0)

    @classmethod
    def fresh(cls, now: float, primary_used_percent: float = 10.0, secondary_used_percent: float = 5.0) -> AccountState:
        return cls(
            primary=Window(primary_used_percent, PRIMARY_WINDOW_MINUTES, int(now) + 3600),
            secondary=Window(secondary_used_percent, SECONDARY_WINDOW_MINUTES, int(now) + 5 * 86400),
        )

    def at(self, now: float) -> AccountState:
        primary = self.primary.rolled_over(now)
        secondary = self.secondary.rolled_over(now)
        if primary is self.primary and secondary is self.secondary:
            return self
        if primary is not self.primary:
            return replace(self, primary=primary, secondary=secondary, turns_until_exhausted=None,
                           next_turn_used_percent=None)
        return replace(self, secondary=secondary)

    @property
    def exhausted(self) -> bool:
        return (self.turns_until_exhausted == 0 or self.primary.used_percent >= 100.0
                or self.secondary.used_percent >= 100.0)

    def after_answered_turn(self) -> AccountState:
        primary = replace(self.primary, used_percent=min(self.primary.used_percent + self.used_percent_step, 100.0))
        if self.next_turn_used_percent is not None:
            primary = replace(primary, used_percent=self.next_turn_used_percent)
        remaining = None if self.turns_until_exhausted is None else max(self.turns_until_exhausted - 1, 0)
        return replace(self, primary=primary, next_turn_used_percent=None, turns_until_exhausted=remaining,
                       turns_answered=self.turns_answered + 1)

    def limit_resets_at(self) -> int:
        """When a usage-limit 429 tells Codex to try again: the latest reset among the full windows."""
        if self.secondary.used_percent >= 100.0:
            return max(self.primary.resets_at, self.secondary.resets_at)
        return self.primary.resets_at
