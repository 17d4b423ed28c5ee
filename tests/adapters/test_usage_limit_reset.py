"""A usage limit benches its account until the reset it names, not for the unknown-reset default.

Regression: the reset a usage-limit error carries (``resets_at`` / ``resets_in_seconds`` in Codex's 429
body, "try again at 3:05 PM" in the message Codex writes to the rollout and shows in the TUI) was
ignored, so the account was benched for 900 s instead of until that time.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from supervisor.adapters.rollout import RolloutReader, reset_from_message, usage_limit_reset
from supervisor.core import commands as cmd
from supervisor.core import events as ev
from supervisor.core.quota import MAX_RESET_AHEAD_S, QuotaSnapshot, QuotaWindow, Thresholds, blocks_at

from ..core.helpers import ALPHA, T, reach
from ..fakes import quota as fakes
from .test_usage_probe import ACCOUNT, client_for

NOW = 1795561614.0  # 2026-11-24 23:06:54 UTC


def usage_limit_complete(message: str, **fields: object) -> bytes:
    error = {"message": message, "codex_error_info": "usage_limit_exceeded", **fields}
    return fakes.line({"timestamp": "2026-11-24T23:13:35.931Z", "type": "event_msg",
                       "payload": {"type": "task_complete", "turn_id": "t1", "last_agent_message": None,
                                   "error": error}})


def local_text(moment: float) -> str:
    """How Codex writes a reset on another day, in the local zone (the reader's default)."""
    local = datetime.fromtimestamp(moment)
    return local.strftime("%b %-d") + "th, " + local.strftime("%Y %-I:%M %p")


# -- the rollout ----------------------------------------------------------------------------------


def test_the_rollout_message_names_the_reset_when_no_full_window_was_recorded(tmp_path: Path) -> None:
    path = tmp_path / "rollout.jsonl"
    reset = NOW + 2 * 3600
    path.write_bytes(fakes.task_started() + fakes.token_count(40.0, 7.0) + usage_limit_complete(
        f"You've hit your usage limit. Upgrade to Pro (https://example.invalid/pro) or try again at "
        f"{local_text(reset)}."))
    [*_, hit] = RolloutReader(path).poll(NOW)
    assert isinstance(hit, ev.UsageLimitHit)
    shown = reset - reset % 60
    assert hit.resets_at == shown + 60  # the minute shown is cut down: wait out all of it


def test_the_errors_own_reset_fields_win_over_the_message(tmp_path: Path) -> None:
    path = tmp_path / "rollout.jsonl"
    path.write_bytes(fakes.task_started() + usage_limit_complete("You've hit your usage limit. Try again later.",
                                                                 resets_in_seconds=1234))
    [*_, hit] = RolloutReader(path).poll(NOW)
    assert hit.resets_at == NOW + 1234


def test_todays_short_form_is_read_in_the_given_zone() -> None:
    assert reset_from_message("You've hit your usage limit. Try again at 11:35 PM.", NOW, timezone.utc) \
        == datetime(2026, 11, 24, 23, 36, tzinfo=timezone.utc).timestamp()
    assert reset_from_message("... try again at Dec 2nd, 2026 3:05 AM.", NOW, timezone.utc) \
        == datetime(2026, 12, 2, 3, 6, tzinfo=timezone.utc).timestamp()
    assert reset_from_message("Try again later.", NOW, timezone.utc) is None
    assert reset_from_message("Try again at 9:05 AM.", NOW, timezone.utc) is None  # already past: no reset


junk = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                 st.lists(st.integers(), max_size=2))


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(junk, junk, st.one_of(junk, st.text(alphabet="tryagin 0123456789:APMDecNov,stndh", max_size=60)))
@example(-5, float("nan"), "try again at 99:99 PM")
@example(1e300, 1e300, "try again at Feb 31st, 2026 3:05 PM")
@example("1795565615", "60", "try again at Dec 2nd, 99999 3:05 PM")
@example(float("inf"), -1, "try again at Xyz 2nd, 2026 3:05 PM")
def test_bad_reset_values_are_ignored_never_raised_on(resets_at, resets_in, message) -> None:
    result = usage_limit_reset({"resets_at": resets_at, "resets_in_seconds": resets_in, "message": message,
                                "codex_error_info": "usage_limit_exceeded"}, NOW, timezone.utc)
    assert result is None or NOW < result <= NOW + MAX_RESET_AHEAD_S


# -- the usage probe's 429 ------------------------------------------------------------------------


def test_the_probes_429_reads_resets_in_seconds() -> None:
    body = json.dumps({"error": {"type": "usage_limit_reached", "resets_in_seconds": 1800}}).encode()
    client, _, _, clock = client_for(lambda request: (429, {}, body))
    event = client.probe(ACCOUNT)
    assert blocks_at(event.snapshot, Thresholds(), clock.now + 1799)
    assert not blocks_at(event.snapshot, Thresholds(), clock.now + 1800)


def test_the_probes_429_ignores_a_broken_resets_at() -> None:
    body = json.dumps({"error": {"type": "usage_limit_reached", "resets_at": 1e300,
                                 "resets_in_seconds": "soon"}}).encode()
    client, _, _, clock = client_for(lambda request: (429, {"Retry-After": "120"}, body))
    event = client.probe(ACCOUNT)
    assert blocks_at(event.snapshot, Thresholds(), clock.now + 119)
    assert not blocks_at(event.snapshot, Thresholds(), clock.now + 120)


# -- the core's bench -----------------------------------------------------------------------------


def test_a_probed_usage_limit_benches_until_the_probes_reset_when_that_is_all_there_is() -> None:
    """allowed: false with no window at its floor: the soonest reset is the only end there is."""
    session = reach("probing")
    blocked = QuotaSnapshot(windows=(QuotaWindow(60.0, 300, T + 1800), QuotaWindow(20.0, 10080, T + 400000)),
                            observed_at=T, limit_reached=True)
    record = session.handle(ev.QuotaProbed(at=T, account=ALPHA, snapshot=blocked))
    assert cmd.CoolDown(account=ALPHA, until=T + 1800, reason="quota below floor", family="codex") in record.commands


def test_a_usage_limit_hit_benches_the_account_until_the_reset_it_named() -> None:
    session = reach("running")
    session.handle(ev.UsageLimitHit(at=T, resets_at=T + 7200))
    record = session.handle(ev.ChildExited(at=T + 1, code=0))
    assert cmd.CoolDown(account=ALPHA, until=T + 7200, reason="usage_limit", family="codex") in record.commands


def test_a_broken_usage_limit_reset_falls_back_to_the_default() -> None:
    session = reach("running")
    session.handle(ev.UsageLimitHit(at=T, resets_at=float("nan")))
    record = session.handle(ev.ChildExited(at=T + 1, code=0))
    [cooldown] = [c for c in record.commands if isinstance(c, cmd.CoolDown)]
    assert cooldown.until == T + 1 + 900
