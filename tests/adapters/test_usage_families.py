"""The usage payload's families, flags and reached types (shapes as the endpoint sends them)."""

from __future__ import annotations

from supervisor.adapters.usage_probe import parse_usage_payload
from supervisor.core.quota import Thresholds, WindowKind, has_headroom

NOW = 1776100000.0
SPARK = "codex_bengalfox"


def _window(used: float, seconds: int, reset: float) -> dict:
    return {"used_percent": used, "limit_window_seconds": seconds, "reset_after_seconds": 0, "reset_at": reset}


def _payload(**extra) -> dict:
    body = {"plan_type": "pro",
            "rate_limit": {"allowed": True, "limit_reached": False,
                           "primary_window": _window(12, 18000, NOW + 8000),
                           "secondary_window": _window(2, 604800, NOW + 500000)},
            "additional_rate_limits": [
                {"limit_name": "GPT-5.3-Codex-Spark", "metered_feature": SPARK,
                 "rate_limit": {"allowed": False, "limit_reached": True,
                                "primary_window": _window(100, 18000, NOW + 3600),
                                "secondary_window": _window(40, 604800, NOW + 600000)}}],
            "credits": {"has_credits": False, "unlimited": False, "balance": "0"}}
    body.update(extra)
    return body


def test_the_additional_families_are_kept_by_their_metered_feature() -> None:
    snapshot = parse_usage_payload(_payload(), NOW)
    spark = snapshot.family(SPARK)
    assert spark is not None and spark.limit_name == "GPT-5.3-Codex-Spark"
    assert spark.limit_reached and spark.allowed is False
    assert snapshot.allowed is True and not snapshot.limit_reached


def test_an_exhausted_spark_family_leaves_the_main_model_its_headroom() -> None:
    snapshot = parse_usage_payload(_payload(), NOW)
    assert has_headroom(snapshot.for_model("gpt-5.5"), Thresholds(), NOW)
    assert not has_headroom(snapshot.for_model("gpt-5.3-codex-spark"), Thresholds(), NOW)


def test_allowed_wins_over_full_windows() -> None:
    body = _payload()
    body["rate_limit"]["primary_window"] = _window(100, 18000, NOW + 3600)
    assert has_headroom(parse_usage_payload(body, NOW), Thresholds(), NOW)
    body["rate_limit"]["allowed"] = False
    body["rate_limit"]["primary_window"] = _window(3, 18000, NOW + 3600)
    assert not has_headroom(parse_usage_payload(body, NOW), Thresholds(), NOW)


def test_a_weekly_only_plan_has_headroom_from_its_weekly_window() -> None:
    body = {"plan_type": "plus", "rate_limit": {"allowed": True, "limit_reached": False,
                                                 "primary_window": _window(30, 604800, NOW + 400000),
                                                 "secondary_window": None}}
    snapshot = parse_usage_payload(body, NOW)
    assert [w.kind for w in snapshot.windows] == [WindowKind.WEEKLY]
    assert snapshot.remaining(WindowKind.FIVE_HOUR, NOW) is None
    assert has_headroom(snapshot, Thresholds(), NOW)


def test_a_workspace_reached_type_stops_every_family() -> None:
    snapshot = parse_usage_payload(_payload(rate_limit_reached_type={"type": "workspace_member_usage_limit_reached"}),
                                   NOW)
    assert snapshot.workspace_limit == "workspace_member_usage_limit_reached"
    assert not has_headroom(snapshot.for_model("gpt-5.5"), Thresholds(), NOW)


def test_an_unknown_reached_type_and_odd_entries_are_ignored() -> None:
    body = _payload(rate_limit_reached_type={"type": "unknown"},
                    additional_rate_limits=[{"metered_feature": 7}, {"metered_feature": "codex_x", "rate_limit": None}])
    snapshot = parse_usage_payload(body, NOW)
    assert snapshot.reached_type is None and snapshot.workspace_limit is None
    assert [f.limit_id for f in snapshot.families] == ["codex_x"]
