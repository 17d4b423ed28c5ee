"""The reader's events, in the order a real rollout yields them, are accepted by the session core."""

from __future__ import annotations

from pathlib import Path

from supervisor.adapters.rollout import RolloutReader
from supervisor.core import commands as cmd
from tests.core.helpers import ALPHA, reach

from ..fakes import quota as fakes

NOW = 1795561614.0


def drive(path: Path, *lines: bytes):
    session = reach("running")
    with open(path, "ab") as handle:
        handle.writelines(lines)
    records = [session.handle(event) for event in RolloutReader(path).poll(NOW)]
    return session, records


def test_a_usage_limit_turn_stops_the_child_and_benches_until_the_reset(tmp_path: Path) -> None:
    session, records = drive(tmp_path / "r.jsonl", fakes.session_meta(), fakes.task_started(),
                             fakes.user_message("do it"), fakes.token_count(100.0, 7.0, primary_reset=NOW + 1800),
                             fakes.task_complete("usage_limit_exceeded"))
    assert session.state == "restarting"
    assert session.context.usage_limit_resets_at == NOW + 1800
    assert any(isinstance(c, cmd.StopChild) for record in records for c in record.commands)


def test_quota_at_the_prewarm_floor_starts_looking_for_a_successor(tmp_path: Path) -> None:
    session, records = drive(tmp_path / "r.jsonl", fakes.task_started(),
                             fakes.token_count(91.0, 7.0, primary_reset=NOW + 3600), fakes.task_complete())
    assert session.state == "prewarming" and session.context.account == ALPHA
    assert any(isinstance(c, cmd.LeaseCandidate) and c.purpose == "successor"
               for record in records for c in record.commands)


def test_a_healthy_turn_keeps_running(tmp_path: Path) -> None:
    session, _ = drive(tmp_path / "r.jsonl", fakes.task_started(), fakes.token_count(42.0, 7.0,
                       primary_reset=NOW + 3600, secondary_reset=NOW + 86400), fakes.task_complete())
    assert session.state == "running"
