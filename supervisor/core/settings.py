"""The settings the session core reads. Frozen, hashable, recorded in every transition log header.

The user-facing config loader (``supervisor.config``) builds one of these; replay rebuilds it from a
log header, so every field must round-trip through ``to_dict``/``from_dict``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

from .quota import Thresholds


@dataclass(frozen=True, slots=True)
class SessionSettings:
    # Quota floors (remaining percent) and prewarm margins; per-account overrides by opaque id.
    thresholds: Thresholds = field(default_factory=Thresholds)
    account_thresholds: tuple[tuple[str, Thresholds], ...] = ()
    # Restart budget: relaunches (rotations and crash resumes) allowed in one supervised session.
    max_restarts: int = 16
    # Thrash guard: this many rotations within the window stop further rotation.
    thrash_rotations: int = 3
    thrash_window_s: float = 600.0
    # The user must have been away from the keyboard this long before a rotation.
    idle_before_rotate_s: float = 1.5
    # Stop ladder: Codex's own exit (Ctrl-C twice), then SIGTERM, then SIGKILL, each bounded.
    stop_interrupt_s: float = 3.0
    stop_terminate_s: float = 2.0
    stop_kill_s: float = 2.0
    # Whole pool exhausted: wait for the soonest reset, but never longer than this in total.
    max_pool_wait_s: float = 3600.0
    # ...and never retry sooner than this, even when the pool names a reset that is due already.
    min_pool_retry_s: float = 10.0
    countdown_every_s: float = 60.0
    # Cooldowns for a benched candidate.
    probe_failure_cooldown_s: float = 60.0
    unknown_reset_cooldown_s: float = 900.0
    # A successor search that found nothing is retried this often while the child runs.
    prewarm_retry_s: float = 300.0
    # A resumed child that never signals readiness is treated as ready after this long.
    resume_ready_timeout_s: float = 15.0
    # After a launch, learn the headroom of at most this many never-probed accounts in the background
    # (off the start path), so later starts choose a known account and need no probe.
    background_probes: int = 2
    # Re-submit the prompt a usage-limit error interrupted, once, after resuming.
    resubmit_interrupted_prompt: bool = True

    def thresholds_for(self, account: str | None) -> Thresholds:
        for account_id, override in self.account_thresholds:
            if account_id == account:
                return override
        return self.thresholds

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["account_thresholds"] = [[a, asdict(t)] for a, t in self.account_thresholds]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SessionSettings":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown session settings: {', '.join(unknown)}")
        values = dict(data)
        if "thresholds" in values:
            values["thresholds"] = Thresholds(**values["thresholds"])
        if "account_thresholds" in values:
            values["account_thresholds"] = tuple(
                (str(a), Thresholds(**t)) for a, t in values["account_thresholds"]
            )
        return cls(**values)
