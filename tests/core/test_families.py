"""Limit families in the core: the session's model picks the family that decides; the others never do."""

from __future__ import annotations

from supervisor.chartfile import load_default_chart
from supervisor.core import commands as cmd
from supervisor.core import events as ev
from supervisor.core.quota import (MAIN_FAMILY, LimitFamily, QuotaSnapshot, QuotaWindow, Thresholds, blocked_until,
                                   has_headroom, same_model_name)
from supervisor.core.ranking import CandidateView, rank_candidates
from supervisor.core.session import Session
from supervisor.core.settings import SessionSettings

from .helpers import ALPHA, BRAVO, T, reach

SPARK = "codex_bengalfox"
SPARK_MODEL = "gpt-5.3-codex-spark"


def _snapshot(main_used: float, spark_used: float, at: float = T, *, spark_reached: bool = False) -> QuotaSnapshot:
    spark = LimitFamily(SPARK, "GPT-5.3-Codex-Spark", (QuotaWindow(spark_used, 300, at + 3600),),
                        limit_reached=spark_reached)
    return QuotaSnapshot((QuotaWindow(main_used, 300, at + 1800), QuotaWindow(10.0, 10080, at + 86400)), at,
                         families=(spark,))


def test_a_family_is_named_after_the_model_it_meters() -> None:
    snapshot = _snapshot(10, 10)
    assert same_model_name("GPT-5.3-Codex-Spark", SPARK_MODEL)
    assert snapshot.family_for(SPARK_MODEL) == SPARK
    assert snapshot.family_for("gpt-5.5") == MAIN_FAMILY and snapshot.family_for(None) == MAIN_FAMILY


def test_an_exhausted_spark_family_does_not_rotate_a_session_on_the_main_model() -> None:
    session = reach("running")
    record = session.handle(ev.QuotaObserved(at=T, model="gpt-5.5", snapshot=_snapshot(20, 100, spark_reached=True)))
    assert session.state == "running" and record.dest == "running"


def test_an_exhausted_main_family_does_not_rotate_a_spark_session_but_spark_does() -> None:
    session = reach("running")
    session.handle(ev.QuotaObserved(at=T, model=SPARK_MODEL, snapshot=_snapshot(100, 20)))
    assert session.state == "running"
    record = session.handle(ev.QuotaObserved(at=T + 1, snapshot=_snapshot(100, 99)))  # the model is remembered
    assert record.dest == "prewarming"
    assert any(isinstance(c, cmd.LeaseCandidate) and c.model == SPARK_MODEL for c in record.commands)


def test_the_users_model_counts_from_the_start() -> None:
    fresh = Session(load_default_chart(), SessionSettings())
    record = fresh.handle(ev.SessionStarted(at=T, model=SPARK_MODEL))
    assert record.commands == (cmd.LeaseCandidate(purpose="session", model=SPARK_MODEL),)
    assert fresh.context.model == SPARK_MODEL


def test_a_spark_candidate_is_benched_for_spark_only() -> None:
    session = reach("probing")
    session.context.model = SPARK_MODEL
    record = session.handle(ev.QuotaProbed(at=T, account=ALPHA, snapshot=_snapshot(10, 100)))
    benches = [c for c in record.commands if isinstance(c, cmd.CoolDown)]
    assert [(c.family, c.workspace) for c in benches] == [(SPARK, False)]


def test_a_workspace_stop_benches_the_workspace() -> None:
    session = reach("probing")
    stopped = QuotaSnapshot((QuotaWindow(10.0, 300, T + 1800),), T, limit_reached=True,
                            reached_type="workspace_owner_usage_limit_reached")
    record = session.handle(ev.QuotaProbed(at=T, account=ALPHA, snapshot=stopped))
    benches = [c for c in record.commands if isinstance(c, cmd.CoolDown)]
    assert len(benches) == 1 and benches[0].workspace and benches[0].family is None
    assert "workspace_owner_usage_limit_reached" in benches[0].reason


def test_a_weekly_only_plan_is_usable_and_blocks_only_at_its_floor() -> None:
    weekly = QuotaSnapshot((QuotaWindow(60.0, 10080, T + 86400),), T)
    assert has_headroom(weekly, Thresholds(), T) and blocked_until(weekly, Thresholds()) is None
    spent = QuotaSnapshot((QuotaWindow(97.0, 10080, T + 86400),), T)
    assert blocked_until(spent, Thresholds()) == T + 86400


def test_the_allowed_flag_wins_over_the_percentages() -> None:
    full = (QuotaWindow(100.0, 300, T + 1800),)
    assert blocked_until(QuotaSnapshot(full, T, allowed=True), Thresholds()) is None
    assert blocked_until(QuotaSnapshot((QuotaWindow(5.0, 300, T + 1800),), T, allowed=False), Thresholds()) == T + 1800
    assert blocked_until(QuotaSnapshot(full, T, limit_reached=True, allowed=True), Thresholds()) == T + 1800


def test_ranking_judges_each_account_on_the_sessions_family() -> None:
    views = [CandidateView(ALPHA, snapshot=_snapshot(10, 90)), CandidateView(BRAVO, snapshot=_snapshot(60, 5))]
    assert rank_candidates(views, T, lambda a: Thresholds()) == [ALPHA, BRAVO]
    assert rank_candidates(views, T, lambda a: Thresholds(), model=SPARK_MODEL) == [BRAVO, ALPHA]
    benched = [CandidateView(ALPHA, snapshot=_snapshot(10, 10), cooldown_until=T + 600, cooldown_set_at=T,
                             cooldown_family=SPARK)]
    assert rank_candidates(benched, T, lambda a: Thresholds()) == [ALPHA]
    assert rank_candidates(benched, T, lambda a: Thresholds(), model=SPARK_MODEL) == []
