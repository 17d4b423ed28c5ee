"""The rollout reader keeps every limit family Codex records, and the model each turn runs on."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor.adapters.rollout import RolloutReader, family_from_rate_limits
from supervisor.core.events import QuotaObserved
from supervisor.core.quota import MAIN_FAMILY, WindowKind

from ..fakes import quota as fakes
from .test_rollout_reader import append

NOW = 1795562000.0
SPARK = "codex_bengalfox"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "rollout.jsonl"


def _observed(events: list) -> QuotaObserved:
    quota = [e for e in events if isinstance(e, QuotaObserved)]
    assert len(quota) == 1
    return quota[0]


def test_each_family_of_one_response_lands_in_one_snapshot(path: Path) -> None:
    append(path, fakes.turn_context("gpt-5.3-codex-spark"), fakes.token_count(20.0, 10.0),
           fakes.token_count(97.0, 40.0, limit_id=SPARK, limit_name="GPT-5.3-Codex-Spark"))
    observed = _observed(RolloutReader(path).poll(NOW))
    snapshot = observed.snapshot
    assert snapshot.window(WindowKind.FIVE_HOUR).used_percent == 20.0
    spark = snapshot.family(SPARK)
    assert spark is not None and spark.limit_name == "GPT-5.3-Codex-Spark"
    assert spark.windows[0].used_percent == 97.0
    assert observed.model == "gpt-5.3-codex-spark"
    assert snapshot.family_for(observed.model) == SPARK


def test_a_family_seen_earlier_is_still_reported_when_only_another_one_changes(path: Path) -> None:
    reader = RolloutReader(path)
    append(path, fakes.token_count(20.0, 10.0), fakes.token_count(50.0, 5.0, limit_id=SPARK))
    reader.poll(NOW)
    append(path, fakes.token_count(30.0, 11.0))
    snapshot = _observed(reader.poll(NOW + 5)).snapshot
    assert snapshot.windows[0].used_percent == 30.0
    assert snapshot.family(SPARK).windows[0].used_percent == 50.0


def test_the_newest_reading_of_a_family_wins(path: Path) -> None:
    append(path, fakes.token_count(10.0, 10.0, limit_id=SPARK), fakes.token_count(20.0, 10.0),
           fakes.token_count(60.0, 10.0, limit_id=SPARK))
    snapshot = _observed(RolloutReader(path).poll(NOW)).snapshot
    assert snapshot.family(SPARK).windows[0].used_percent == 60.0
    assert snapshot.windows[0].used_percent == 20.0


def test_a_weekly_only_plan_is_one_weekly_window(path: Path) -> None:
    append(path, fakes.token_count(35.0, None, primary_minutes=10080))
    snapshot = _observed(RolloutReader(path).poll(NOW)).snapshot
    assert [w.kind for w in snapshot.windows] == [WindowKind.WEEKLY]


def test_a_reached_type_marks_the_family_refused_and_a_workspace_one_the_workspace(path: Path) -> None:
    append(path, fakes.token_count(40.0, 10.0, reached_type="workspace_owner_usage_limit_reached"))
    snapshot = _observed(RolloutReader(path).poll(NOW)).snapshot
    assert snapshot.limit_reached
    assert snapshot.workspace_limit == "workspace_owner_usage_limit_reached"


def test_a_missing_limit_id_is_the_main_family() -> None:
    family = family_from_rate_limits({"primary": {"used_percent": 5.0, "window_minutes": 300}})
    assert family is not None and family.limit_id == MAIN_FAMILY


@pytest.mark.parametrize("limit_id", [3, "", "Codex Spark!", "x" * 80])
def test_an_implausible_limit_id_is_no_family(limit_id: object) -> None:
    assert family_from_rate_limits({"limit_id": limit_id, "primary": {"used_percent": 5.0}}) is None
