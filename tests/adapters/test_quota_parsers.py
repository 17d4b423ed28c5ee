"""Property tests of every parser that reads quota figures from outside: rollout lines, the usage
payload, rate-limit headers, Retry-After. Whatever arrives, each yields a defined value or a defined
error, never a crash, and never a percentage outside 0..100."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from supervisor.adapters.rollout import RolloutReader, snapshot_from_rate_limits
from supervisor.adapters.usage_probe import (
    MalformedUsage,
    exhausted_snapshot,
    parse_retry_after,
    parse_usage_payload,
    snapshot_from_headers,
)
from supervisor.core.events import QuotaObserved, TurnFinished, TurnStarted, UsageLimitHit
from supervisor.core.quota import QuotaSnapshot, Thresholds, WindowKind, blocks_at

from ..fakes import quota as fakes

NOW = 1795561614.0
# The same examples on every run: a failure here always reproduces.
DETERMINISTIC = settings(derandomize=True, deadline=None)

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20))
odd_values = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8), st.lists(st.integers(), max_size=2),
                       st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=10)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=10), inner, max_size=3)),
                           max_leaves=12)


def check_snapshot(snapshot: QuotaSnapshot) -> None:
    for window in snapshot.windows:
        assert 0.0 <= window.used_percent <= 100.0
        assert window.resets_at is None or (math.isfinite(window.resets_at) and window.resets_at > 0)
        assert window.window_minutes >= 0


# -- rollout --------------------------------------------------------------------------------------

rollout_window = st.fixed_dictionaries({}, optional={"used_percent": odd_values, "window_minutes": odd_values,
                                                     "resets_at": odd_values})


@DETERMINISTIC
@given(st.one_of(odd_values, st.fixed_dictionaries(
    {}, optional={"limit_id": st.sampled_from([None, "codex", "codex_x", 3]),
                  "primary": st.one_of(odd_values, rollout_window),
                  "secondary": st.one_of(odd_values, rollout_window)})))
@example({"primary": {"used_percent": float("nan"), "window_minutes": 300, "resets_at": 1}})
@example({"primary": {"used_percent": -5, "window_minutes": 300, "resets_at": NOW - 10}})
@example({"primary": {"used_percent": 1e308, "window_minutes": 1e308, "resets_at": 1e308}})
def test_rate_limits_parse_to_a_sane_snapshot_or_none(rate_limits) -> None:
    snapshot = snapshot_from_rate_limits(rate_limits, NOW)
    if snapshot is not None:
        assert snapshot.windows and snapshot.observed_at == NOW
        check_snapshot(snapshot)


def test_a_window_reset_in_the_past_counts_as_fresh() -> None:
    snapshot = snapshot_from_rate_limits(
        {"primary": {"used_percent": 100.0, "window_minutes": 300, "resets_at": NOW - 1}}, NOW)
    assert snapshot.remaining(WindowKind.FIVE_HOUR, NOW) == 100.0
    assert not blocks_at(snapshot, Thresholds(), NOW)


def test_negative_and_huge_percentages_are_clamped() -> None:
    snapshot = snapshot_from_rate_limits(
        {"primary": {"used_percent": -20, "window_minutes": 300, "resets_at": None},
         "secondary": {"used_percent": 1e12, "window_minutes": 10080, "resets_at": None}}, NOW)
    assert [w.used_percent for w in snapshot.windows] == [0.0, 100.0]


def test_millisecond_resets_are_read_as_seconds() -> None:
    snapshot = snapshot_from_rate_limits(
        {"primary": {"used_percent": 5, "window_minutes": 300, "resets_at": (NOW + 60) * 1000}}, NOW)
    assert snapshot.windows[0].resets_at == NOW + 60


meaningful_lines = st.sampled_from([
    fakes.token_count(42.0, 7.0), fakes.token_count(100.0, 7.0, primary_reset=NOW + 900), fakes.task_started(),
    fakes.task_complete(), fakes.task_complete("usage_limit_exceeded"), fakes.user_message("hi"),
    fakes.assistant_message("hello"), fakes.session_meta(),
])
garbage_lines = st.binary(max_size=80).map(lambda b: b.replace(b"\n", b" ") + b"\n")


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(meaningful_lines, garbage_lines), max_size=25), st.data())
def test_reader_events_do_not_depend_on_how_the_bytes_arrive(lines, data) -> None:
    """Feeding the same bytes whole or in random pieces gives the same turns, limits and quota."""
    content = b"".join(lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(content)), max_size=8)))
    with tempfile.TemporaryDirectory() as tmp:
        whole_path, pieces_path = Path(tmp) / "whole.jsonl", Path(tmp) / "pieces.jsonl"
        whole_path.write_bytes(content)
        whole = RolloutReader(whole_path)
        whole_events = whole.poll(NOW)
        pieces = RolloutReader(pieces_path)
        piece_events = []
        start = 0
        for cut in [*cuts, len(content)]:
            with open(pieces_path, "ab") as handle:
                handle.write(content[start:cut])
            start = cut
            piece_events += pieces.poll(NOW)
        assert _essential(piece_events) == _essential(whole_events)
        assert pieces.last_snapshot == whole.last_snapshot
        assert pieces.last_prompt == whole.last_prompt
        assert pieces.stats.malformed == whole.stats.malformed
        for event in whole_events:
            if isinstance(event, QuotaObserved):
                check_snapshot(event.snapshot)


def _essential(events):
    """Events other than snapshots (those may be merged within one poll)."""
    return [e for e in events if isinstance(e, (TurnStarted, TurnFinished, UsageLimitHit))]


@settings(max_examples=80, deadline=None, derandomize=True)
@given(json_values)
def test_any_json_line_is_handled(value) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.jsonl"
        path.write_bytes(json.dumps({"type": "event_msg", "payload": value}).encode() + b"\n"
                         + json.dumps(value).encode() + b"\n")
        reader = RolloutReader(path)
        for event in reader.poll(NOW):
            assert event.at == NOW


# -- usage payload ---------------------------------------------------------------------------------

usage_window = st.fixed_dictionaries({}, optional={
    "used_percent": odd_values, "limit_window_seconds": odd_values,
    "reset_after_seconds": odd_values, "reset_at": odd_values})


@DETERMINISTIC
@given(st.one_of(json_values, st.fixed_dictionaries({"rate_limit": st.one_of(odd_values, st.fixed_dictionaries(
    {}, optional={"primary_window": st.one_of(st.none(), odd_values, usage_window),
                  "secondary_window": st.one_of(st.none(), odd_values, usage_window),
                  "limit_reached": odd_values, "allowed": odd_values}))})))
@example({"rate_limit": {"primary_window": {"used_percent": float("nan")}}})
@example({"rate_limit": {"primary_window": {"used_percent": -1, "reset_at": NOW - 100}}})
def test_usage_payload_parses_or_is_malformed(payload) -> None:
    try:
        snapshot = parse_usage_payload(payload, NOW)
    except MalformedUsage as exc:
        assert str(exc)
        return
    check_snapshot(snapshot)
    assert snapshot.observed_at == NOW


def test_usage_payload_from_real_codex() -> None:
    snapshot = parse_usage_payload(json.loads(fakes.usage_body(42, 7, now=NOW)), NOW)
    assert snapshot.window(WindowKind.FIVE_HOUR).used_percent == 42
    assert snapshot.window(WindowKind.FIVE_HOUR).resets_at == NOW + 3600
    assert snapshot.window(WindowKind.WEEKLY).used_percent == 7
    assert not snapshot.limit_reached


def test_usage_windows_are_classified_by_duration_not_slot() -> None:
    payload = {"rate_limit": {
        "primary_window": {"used_percent": 3, "limit_window_seconds": 604800, "reset_at": NOW + 5},
        "secondary_window": {"used_percent": 60, "limit_window_seconds": 18000, "reset_after_seconds": 100}}}
    snapshot = parse_usage_payload(payload, NOW)
    assert snapshot.window(WindowKind.WEEKLY).used_percent == 3
    assert snapshot.window(WindowKind.FIVE_HOUR).used_percent == 60
    assert snapshot.window(WindowKind.FIVE_HOUR).resets_at == NOW + 100


def test_no_rate_limit_means_nothing_known_but_a_missing_field_is_malformed() -> None:
    assert parse_usage_payload({"rate_limit": None}, NOW).windows == ()
    for payload in ({}, [], "x", {"rate_limit": 5}, {"rate_limit": {"primary_window": {"used_percent": "42"}}}):
        try:
            parse_usage_payload(payload, NOW)
        except MalformedUsage:
            continue
        raise AssertionError(f"{payload!r} was accepted")


def test_limit_reached_without_reset_is_exhausted_until_probed_again() -> None:
    snapshot = parse_usage_payload({"rate_limit": {"limit_reached": True, "primary_window": {
        "used_percent": 80, "limit_window_seconds": 18000}}}, NOW)
    assert snapshot.limit_reached and blocks_at(snapshot, Thresholds(), NOW)


# -- headers ---------------------------------------------------------------------------------------

header_text = st.one_of(st.none(), st.text(max_size=12), st.floats().map(str), st.integers().map(str))


@DETERMINISTIC
@given(st.fixed_dictionaries({}, optional={
    f"x-codex-{slot}-{field}": header_text for slot in ("primary", "secondary")
    for field in ("used-percent", "window-minutes", "reset-at", "reset-after-seconds")}))
@example({"x-codex-primary-used-percent": "nan", "x-codex-primary-window-minutes": "300"})
@example({"x-codex-primary-used-percent": "-3", "x-codex-primary-reset-at": "-1"})
def test_headers_parse_to_sane_windows(headers) -> None:
    headers = {k: v for k, v in headers.items() if v is not None}
    windows = snapshot_from_headers(headers, NOW)
    check_snapshot(QuotaSnapshot(windows=tuple(windows)))
    assert len(windows) <= 2


def test_headers_from_a_real_429() -> None:
    windows = snapshot_from_headers({"x-codex-primary-used-percent": "100.0", "x-codex-primary-window-minutes": "300",
                                     "x-codex-primary-reset-at": str(int(NOW + 600))}, NOW)
    assert [(w.kind, w.used_percent, w.resets_at) for w in windows] == [(WindowKind.FIVE_HOUR, 100.0, NOW + 600)]


@DETERMINISTIC
@given(header_text)
@example("Wed, 21 Oct 2015 07:28:00 GMT")
def test_retry_after_is_bounded_or_none(value) -> None:
    result = parse_retry_after(value)
    assert result is None or 1.0 <= result <= 3600.0


def test_an_exhausted_snapshot_blocks_until_the_named_reset() -> None:
    snapshot = exhausted_snapshot([], NOW + 300, NOW)
    assert blocks_at(snapshot, Thresholds(), NOW) and snapshot.soonest_reset_after(NOW) == NOW + 300
    assert not blocks_at(snapshot, Thresholds(), NOW + 301)


def test_an_exhausted_snapshot_with_a_past_reset_stays_exhausted() -> None:
    snapshot = exhausted_snapshot([], NOW - 5, NOW)
    assert snapshot.windows == () and blocks_at(snapshot, Thresholds(), NOW)
