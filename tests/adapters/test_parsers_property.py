"""Property tests: a rollout line, a usage payload and usage headers of any shape give events/snapshots,
nothing, or a codex-fsm error; never another exception."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.adapters.rollout import RolloutReader, snapshot_from_rate_limits
from supervisor.adapters.usage_probe import (MalformedUsage, parse_retry_after, parse_usage_payload,
                                             snapshot_from_headers)
from supervisor.core.quota import QuotaSnapshot
from supervisor.errors import CodexFsmError

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(["type", "payload", "rate_limits", "primary", "secondary",
                                                       "used_percent", "window_minutes", "resets_at", "rate_limit",
                                                       "primary_window", "limit_reached", "info", "x"]), inner,
                                      max_size=5), max_leaves=16)
LINES = st.binary(max_size=80) | JSON.map(lambda value: json.dumps(value).encode())


@settings(derandomize=True, deadline=None, max_examples=300)
@given(st.lists(LINES, max_size=5))
def test_any_rollout_lines_give_events_or_nothing_and_the_file_is_unchanged(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("rollout") / "rollout.jsonl"
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(data)
    reader = RolloutReader(path)
    try:
        events = reader.poll(1000.0)
    finally:
        reader.close()
    assert isinstance(events, list)
    assert path.read_bytes() == data


@settings(derandomize=True, deadline=None, max_examples=300)
@given(JSON)
def test_any_usage_payload_is_a_snapshot_or_a_codex_fsm_error(payload):
    try:  # MalformedUsage is the probe's own signal, which it turns into a failed probe
        assert isinstance(parse_usage_payload(payload, 1000.0), QuotaSnapshot)
    except (CodexFsmError, MalformedUsage):
        pass
    snapshot = snapshot_from_rate_limits(payload, 1000.0)
    assert snapshot is None or isinstance(snapshot, QuotaSnapshot)


@settings(derandomize=True, deadline=None, max_examples=300)
@given(st.dictionaries(st.sampled_from(["x-codex-primary-used-percent", "x-codex-primary-reset-at",
                                        "x-codex-primary-window-minutes", "x-codex-secondary-used-percent",
                                        "retry-after"]), st.text(max_size=12), max_size=5))
def test_any_usage_headers_give_windows_or_a_codex_fsm_error(headers):
    try:
        assert isinstance(snapshot_from_headers(headers, 1000.0), list)
        parse_retry_after(headers.get("retry-after"))
    except CodexFsmError:
        pass
