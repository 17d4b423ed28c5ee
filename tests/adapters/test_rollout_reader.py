"""RolloutReader: rollout lines -> core events, incrementally and robustly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from supervisor.adapters import rollout as rollout_module
from supervisor.adapters.rollout import RolloutReader, read_session_meta
from supervisor.core.events import QuotaObserved, TurnFinished, TurnStarted, UsageLimitHit
from supervisor.core.quota import WindowKind
from supervisor.errors import RolloutError

from ..fakes import quota as fakes

NOW = 1795561614.0


def append(path: Path, *chunks: bytes) -> None:
    with open(path, "ab") as handle:
        for chunk in chunks:
            handle.write(chunk)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "rollout-2026-11-24T23-13-34-01a20fd6-0841-7b11-bef0-67e429d6e15c.jsonl"


def test_a_normal_turn_becomes_turn_started_quota_observed_turn_finished(path: Path) -> None:
    append(path, fakes.session_meta(), fakes.task_started(), fakes.user_message("fix the bug"),
           fakes.assistant_message("done"), fakes.token_count(42.0, 7.0), fakes.task_complete())
    reader = RolloutReader(path)
    events = reader.poll(NOW)
    assert [type(e) for e in events] == [TurnStarted, QuotaObserved, TurnFinished]
    assert all(e.at == NOW for e in events)
    snapshot = events[1].snapshot
    assert snapshot.observed_at == NOW
    assert snapshot.window(WindowKind.FIVE_HOUR).used_percent == 42.0
    assert snapshot.window(WindowKind.WEEKLY).resets_at == 1795994015
    assert reader.last_snapshot == snapshot
    assert reader.poll(NOW + 1) == []


def test_windows_are_classified_by_length_not_slot(path: Path) -> None:
    append(path, fakes.token_count(10.0, 90.0, primary_minutes=10080, secondary_minutes=300))
    [event] = RolloutReader(path).poll(NOW)
    assert event.snapshot.window(WindowKind.WEEKLY).used_percent == 10.0
    assert event.snapshot.window(WindowKind.FIVE_HOUR).used_percent == 90.0


def test_usage_limit_takes_its_reset_from_the_preceding_full_window(path: Path) -> None:
    append(path, fakes.task_started(), fakes.token_count(100.0, 7.0, primary_reset=NOW + 1800),
           fakes.task_complete("usage_limit_exceeded"))
    events = RolloutReader(path).poll(NOW)
    assert [type(e) for e in events] == [TurnStarted, QuotaObserved, UsageLimitHit]
    assert events[2].resets_at == NOW + 1800


def test_usage_limit_without_a_full_window_has_no_reset(path: Path) -> None:
    append(path, fakes.task_started(), fakes.token_count(40.0, 7.0), fakes.task_complete("usage_limit_exceeded"))
    events = RolloutReader(path).poll(NOW)
    assert isinstance(events[-1], UsageLimitHit) and events[-1].resets_at is None


def test_a_full_window_from_an_earlier_turn_does_not_date_a_later_limit(path: Path) -> None:
    append(path, fakes.task_started(), fakes.token_count(100.0, 7.0, primary_reset=NOW + 60), fakes.task_complete(),
           fakes.task_started(), fakes.task_complete("usage_limit_exceeded"))
    events = RolloutReader(path).poll(NOW)
    assert isinstance(events[-1], UsageLimitHit) and events[-1].resets_at is None


def test_a_tagged_usage_limit_error_is_recognised(path: Path) -> None:
    append(path, fakes.task_started(), fakes.task_complete({"usage_limit_exceeded": {"plan": "plus"}}))
    assert [type(e) for e in RolloutReader(path).poll(NOW)] == [TurnStarted, UsageLimitHit]


def test_an_aborted_turn_finishes_it(path: Path) -> None:
    append(path, fakes.task_started(), fakes.line({"type": "event_msg", "payload": {"type": "turn_aborted",
                                                                                    "reason": "interrupted"}}))
    assert [type(e) for e in RolloutReader(path).poll(NOW)] == [TurnStarted, TurnFinished]


def test_other_turn_errors_finish_the_turn(path: Path) -> None:
    append(path, fakes.task_started(), fakes.task_complete("internal_server_error"))
    assert [type(e) for e in RolloutReader(path).poll(NOW)] == [TurnStarted, TurnFinished]


def test_only_new_bytes_are_read_on_each_poll(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    append(path, fakes.session_meta(), *(fakes.token_count(float(i % 90), 5.0) for i in range(500)))
    reader = RolloutReader(path)
    reader.poll(NOW)
    read_sizes: list[int] = []
    real_pread = os.pread

    def counting_pread(fd: int, size: int, offset: int) -> bytes:
        data = real_pread(fd, size, offset)
        read_sizes.append(len(data))
        return data

    monkeypatch.setattr(rollout_module.os, "pread", counting_pread)
    new = fakes.token_count(91.0, 5.0)
    append(path, new)
    events = reader.poll(NOW + 1)
    assert sum(read_sizes) == len(new)
    assert events[0].snapshot.window(WindowKind.FIVE_HOUR).used_percent == 91.0


def test_a_partial_last_line_is_held_until_it_completes(path: Path) -> None:
    whole = fakes.token_count(55.0, 5.0)
    append(path, whole[:40])
    reader = RolloutReader(path)
    assert reader.poll(NOW) == []
    append(path, whole[40:-1])
    assert reader.poll(NOW + 1) == []
    append(path, whole[-1:])
    [event] = reader.poll(NOW + 2)
    assert event.at == NOW + 2 and event.snapshot.windows[0].used_percent == 55.0
    assert reader.stats.malformed == 0


def test_garbage_lines_are_skipped_and_counted(path: Path) -> None:
    append(path, b"not json at all\n", b'{"type": "event_msg", "payload": {"type": "token_count", \n',
           b"\x00\xff\xfe garbage\n", b"[1, 2, 3]\n", b'{"type":"event_msg","payload":"task_started"}\n',
           fakes.token_count(60.0, 5.0))
    reader = RolloutReader(path)
    events = reader.poll(NOW)
    assert [type(e) for e in events] == [QuotaObserved]
    assert reader.stats.malformed == 4
    assert reader.stats.lines == 6


def test_consecutive_snapshots_in_one_poll_collapse_to_the_newest(path: Path) -> None:
    append(path, fakes.token_count(10.0, 5.0), fakes.token_count(20.0, 5.0), fakes.task_started(),
           fakes.token_count(30.0, 5.0))
    events = RolloutReader(path).poll(NOW)
    assert [type(e) for e in events] == [QuotaObserved, TurnStarted, QuotaObserved]
    assert [e.snapshot.windows[0].used_percent for e in events if isinstance(e, QuotaObserved)] == [20.0, 30.0]


def test_a_run_of_snapshots_keeps_the_newest_usable_one(path: Path) -> None:
    append(path, fakes.token_count(10.0, 5.0), fakes.token_count(20.0, 5.0), fakes.token_count(None, None),
           b'{"type":"event_msg","payload":{"type":"token_count","rate_limits": broken}\n')
    reader = RolloutReader(path)
    [event] = reader.poll(NOW)
    assert event.snapshot.windows[0].used_percent == 20.0
    assert reader.stats.malformed == 1


def test_lines_in_another_json_layout_are_read_too(path: Path) -> None:
    append(path, fakes.spaced(fakes.task_started()), fakes.spaced(fakes.token_count(100.0, 5.0, primary_reset=NOW + 9)),
           fakes.spaced(fakes.task_complete("usage_limit_exceeded")), fakes.spaced(fakes.user_message("spaced")))
    reader = RolloutReader(path)
    events = reader.poll(NOW)
    assert [type(e) for e in events] == [TurnStarted, QuotaObserved, UsageLimitHit]
    assert events[2].resets_at == NOW + 9 and reader.last_prompt == "spaced"


def test_empty_rate_limits_are_ignored(path: Path) -> None:
    append(path, fakes.token_count(None, None), fakes.token_count(None, None, limit_id="codex_other"))
    assert RolloutReader(path).poll(NOW) == []


def test_start_at_end_skips_the_previous_accounts_figures(path: Path) -> None:
    append(path, fakes.session_meta(), fakes.token_count(97.0, 5.0), fakes.task_complete())
    reader = RolloutReader(path, start_at_end=True)
    assert reader.poll(NOW) == []
    append(path, fakes.task_started(), fakes.token_count(3.0, 1.0))
    events = reader.poll(NOW + 1)
    assert [type(e) for e in events] == [TurnStarted, QuotaObserved]
    assert events[1].snapshot.windows[0].used_percent == 3.0


def test_start_at_end_keeps_a_trailing_partial_line(path: Path) -> None:
    whole = fakes.token_count(33.0, 5.0)
    append(path, fakes.token_count(97.0, 5.0), whole[:25])
    reader = RolloutReader(path, start_at_end=True)
    assert reader.poll(NOW) == []
    append(path, whole[25:])
    [event] = reader.poll(NOW + 1)
    assert event.snapshot.windows[0].used_percent == 33.0


def test_start_at_end_does_not_apply_to_a_file_created_later(path: Path) -> None:
    reader = RolloutReader(path, start_at_end=True)
    assert reader.poll(NOW) == [] and reader.stats.missing
    append(path, fakes.session_meta(), fakes.token_count(12.0, 5.0))
    [event] = reader.poll(NOW + 1)
    assert event.snapshot.windows[0].used_percent == 12.0 and not reader.stats.missing


def test_a_replaced_file_is_drained_then_read_from_its_start(path: Path) -> None:
    append(path, fakes.token_count(10.0, 5.0))
    reader = RolloutReader(path)
    reader.poll(NOW)
    append(path, fakes.token_count(20.0, 5.0), fakes.task_complete())  # written before the rotation
    os.rename(path, path.with_suffix(".old"))
    append(path, fakes.token_count(30.0, 5.0))
    events = reader.poll(NOW + 1)
    assert [type(e) for e in events] == [QuotaObserved, TurnFinished, QuotaObserved]
    assert [e.snapshot.windows[0].used_percent for e in events if isinstance(e, QuotaObserved)] == [20.0, 30.0]
    assert reader.stats.replaced == 1


def test_a_deleted_file_is_drained_and_reported_missing(path: Path) -> None:
    append(path, fakes.token_count(10.0, 5.0))
    reader = RolloutReader(path)
    reader.poll(NOW)
    append(path, fakes.task_started())
    path.unlink()
    events = reader.poll(NOW + 1)
    assert [type(e) for e in events] == [TurnStarted]
    assert reader.stats.missing
    assert reader.poll(NOW + 2) == []
    append(path, fakes.token_count(44.0, 5.0))
    [event] = reader.poll(NOW + 3)
    assert event.snapshot.windows[0].used_percent == 44.0 and not reader.stats.missing


def test_a_truncated_file_is_read_again_from_its_start(path: Path) -> None:
    append(path, fakes.session_meta(), fakes.token_count(10.0, 5.0))
    reader = RolloutReader(path)
    reader.poll(NOW)
    with open(path, "wb") as handle:
        handle.write(fakes.token_count(70.0, 5.0))
    [event] = reader.poll(NOW + 1)
    assert event.snapshot.windows[0].used_percent == 70.0
    assert reader.stats.truncated == 1


def test_an_oversized_line_is_skipped_without_buffering_it(path: Path) -> None:
    reader = RolloutReader(path, max_line_bytes=4096)
    append(path, b'{"type":"response_item","payload":{"text":"' + b"x" * 3000)
    assert reader.poll(NOW) == []
    append(path, b"y" * 3000)
    assert reader.poll(NOW + 1) == []
    append(path, b'"}}\n', fakes.token_count(50.0, 5.0))
    [event] = reader.poll(NOW + 2)
    assert event.snapshot.windows[0].used_percent == 50.0
    assert reader.stats.oversized == 1


def test_the_last_user_prompt_is_kept_in_memory_only(path: Path) -> None:
    append(path, fakes.user_message("<environment_context>cwd</environment_context>"),
           fakes.user_message("first prompt"), fakes.assistant_message("answer"),
           fakes.user_message("second prompt"), fakes.user_message("<environment_context>x</environment_context>"))
    reader = RolloutReader(path)
    events = reader.poll(NOW)
    assert reader.last_prompt == "second prompt"
    assert events == []
    assert "second prompt" not in repr(reader)


def test_an_unreadable_file_is_a_rollout_error_naming_it(path: Path) -> None:
    path.mkdir()  # a directory where the rollout should be
    with pytest.raises(RolloutError, match=str(path)):
        RolloutReader(path).poll(NOW)


def test_session_meta_gives_id_cwd_and_start(path: Path) -> None:
    append(path, fakes.session_meta(cwd="/home/user/project"), fakes.task_started())
    meta = read_session_meta(path)
    assert meta.session_id == fakes.SESSION_ID
    assert meta.cwd == "/home/user/project"
    assert meta.started_at == pytest.approx(1795562014.795)


def test_session_meta_waits_for_a_complete_first_line(path: Path) -> None:
    assert read_session_meta(path) is None
    append(path, fakes.session_meta()[:100])
    assert read_session_meta(path) is None


def test_a_first_line_that_is_not_session_meta_is_an_error(path: Path) -> None:
    append(path, fakes.task_started())
    with pytest.raises(RolloutError, match="session_meta"):
        read_session_meta(path)


def test_a_file_that_vanishes_between_stat_and_open_is_missing(path: Path, monkeypatch) -> None:
    append(path, fakes.token_count(10.0, 5.0))
    reader = RolloutReader(path)
    real_open = os.open

    def vanishing_open(name, flags, *args):
        if Path(name) == path:
            raise FileNotFoundError(name)
        return real_open(name, flags, *args)

    monkeypatch.setattr(rollout_module.os, "open", vanishing_open)
    assert reader.poll(NOW) == [] and reader.stats.missing
    monkeypatch.setattr(rollout_module.os, "open", real_open)
    [event] = reader.poll(NOW + 1)
    assert event.snapshot.windows[0].used_percent == 10.0


def _later(chunk: bytes) -> bytes:
    """The same line, written seventeen minutes later."""
    return chunk.replace(b'"timestamp":"2026-11-24T23:13:', b'"timestamp":"2026-11-24T23:30:')


def test_lines_written_before_not_before_are_history_and_report_nothing(path: Path) -> None:
    """A thread resumed by id or name whose file is found after the child wrote to it: the limit an
    earlier run hit (and its quota and prompt) are not this child's, what it wrote since is."""
    from supervisor.adapters.rollout import parse_iso_timestamp

    append(path, fakes.session_meta(), fakes.task_started(), fakes.user_message("old request"),
           fakes.token_count(100.0, 7.0), fakes.task_complete("usage_limit_exceeded"))
    append(path, _later(fakes.task_started()), _later(fakes.user_message("new request")))
    spawned = parse_iso_timestamp("2026-11-24T23:20:00.000Z")
    reader = RolloutReader(path, not_before=spawned)
    assert [type(e) for e in reader.poll(NOW)] == [TurnStarted]
    assert reader.last_prompt == "new request" and reader.last_snapshot is None
    append(path, _later(fakes.token_count(100.0, 7.0)), _later(fakes.task_complete("usage_limit_exceeded")))
    assert [type(e) for e in reader.poll(NOW)] == [QuotaObserved, UsageLimitHit]


def test_a_line_without_a_readable_time_is_taken_as_new(path: Path) -> None:
    append(path, fakes.task_started().replace(b'"timestamp":"2026-11-24T23:13:35.000Z",', b''))
    assert [type(e) for e in RolloutReader(path, not_before=NOW).poll(NOW)] == [TurnStarted]
