"""Codex's own quota snapshot (what it sends codex-fsm's status-line provider) as a quota source: a changed
record of the current child becomes one QuotaObserved; another child's, a garbage or a missing record none."""

from __future__ import annotations

import json
import os

from supervisor.adapters.codex_limits import POLL_S, CodexLimitsSource, snapshot_of_codex_limits
from supervisor.core.events import QuotaObserved
from supervisor.core.quota import WindowKind

NOW = 1795562000.0
LIMITS = [{"limit_id": "codex", "limit_name": None,
           "primary_limit": {"used_percent": 42.0, "window_minutes": 300, "resets_at": NOW + 3600},
           "secondary_limit": {"used_percent": 7.0, "window_minutes": 10080, "resets_at": NOW + 86400}},
          {"limit_id": "codex_bengalfox", "limit_name": "GPT-5.3-Codex-Spark",
           "primary_limit": {"used_percent": 100.0, "window_minutes": 300, "resets_at": NOW + 600},
           "secondary_limit": None}]


def _write(path, codex_pid, limits=LIMITS, stamp=0):
    path.write_text(json.dumps({"codex_pid": codex_pid, "thread_id": "t", "observed_at": NOW, "rate_limits": limits}))
    os.utime(path, ns=(stamp, stamp))


def test_a_record_reads_as_every_family_with_the_main_one_in_front():
    snapshot = snapshot_of_codex_limits({"rate_limits": LIMITS}, NOW)
    assert snapshot.window(WindowKind.FIVE_HOUR).used_percent == 42.0
    assert snapshot.family("codex_bengalfox").windows[0].used_percent == 100.0
    assert snapshot_of_codex_limits({"rate_limits": "nope"}, NOW) is None
    assert snapshot_of_codex_limits([], NOW) is None


def test_only_a_changed_record_of_the_current_child_is_an_event(tmp_path):
    path = tmp_path / "123.codex-limits"
    child = {"pid": 4242}
    source = CodexLimitsSource(path, lambda: child["pid"])
    source.start(NOW)
    assert source.poll(NOW + POLL_S) == []  # no record yet
    _write(path, 4242, stamp=1_000)
    assert source.poll(NOW + POLL_S / 2 + POLL_S) == []  # not due yet
    [event] = source.poll(NOW + 2 * POLL_S)
    assert isinstance(event, QuotaObserved) and event.snapshot.window(WindowKind.FIVE_HOUR).used_percent == 42.0
    assert source.poll(NOW + 3 * POLL_S) == []  # unchanged
    child["pid"] = 5151  # a rotation: the old child's record is not the new account's
    _write(path, 4242, stamp=2_000)
    assert source.poll(NOW + 4 * POLL_S) == []
    _write(path, 5151, stamp=3_000)
    assert len(source.poll(NOW + 5 * POLL_S)) == 1
    path.write_text("{garbage")
    os.utime(path, ns=(4_000, 4_000))
    assert source.poll(NOW + 6 * POLL_S) == []
    child["pid"] = None  # no child runs
    _write(path, 5151, limits=LIMITS[:1], stamp=5_000)
    assert source.poll(NOW + 7 * POLL_S) == []
