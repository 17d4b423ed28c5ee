"""A supervised start-up validates the chart once per chart text and version, then reads it back from
the cache; a cache it cannot trust is ignored, never believed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from supervisor.chartfile import cache_key, default_chart_path, load_chart_cached, load_chart_file
from supervisor.errors import ChartError


def cached_files(cache):
    return sorted(cache.glob("chart-*.json"))


def test_the_second_start_reads_the_validated_chart_back(tmp_path):
    cache = tmp_path / "cache"
    first = load_chart_cached(default_chart_path(), cache)
    (saved,) = cached_files(cache)
    assert saved.name == f"chart-{cache_key(default_chart_path().read_text())[:32]}.json"
    second = load_chart_cached(default_chart_path(), cache)
    assert second == first == load_chart_file(default_chart_path())
    assert oct(cache.stat().st_mode & 0o777) == "0o700"


def test_a_cached_start_does_not_import_the_schema_library(tmp_path):
    cache = tmp_path / "cache"
    load_chart_cached(default_chart_path(), cache)
    code = ("import sys; from pathlib import Path; from supervisor.chartfile import load_chart_cached, "
            "default_chart_path; load_chart_cached(default_chart_path(), Path(sys.argv[1])); "
            "print('marshmallow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(cache)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("damage", [
    "not json", "[]", json.dumps({"rows": [["x"]]}),
])
def test_a_damaged_cache_is_validated_anew_and_replaced(tmp_path, damage):
    cache = tmp_path / "cache"
    good = load_chart_cached(default_chart_path(), cache)
    (saved,) = cached_files(cache)
    saved.write_text(damage)
    assert load_chart_cached(default_chart_path(), cache) == good
    assert json.loads(saved.read_text())["sha256"] == good.sha256


def test_a_cached_row_naming_an_unknown_action_is_not_believed(tmp_path):
    cache = tmp_path / "cache"
    good = load_chart_cached(default_chart_path(), cache)
    (saved,) = cached_files(cache)
    data = json.loads(saved.read_text())
    data["rows"][0][10] = ["os.system"]
    saved.write_text(json.dumps(data))
    assert load_chart_cached(default_chart_path(), cache) == good


def test_an_edited_chart_is_validated_again_and_refused_when_unsound(tmp_path):
    cache = tmp_path / "cache"
    chart_file = tmp_path / "session.json"
    document = json.loads(default_chart_path().read_text())
    chart_file.write_text(json.dumps(document))
    load_chart_cached(chart_file, cache)
    document["transitions"][0]["dest"] = "limbo"
    chart_file.write_text(json.dumps(document))
    with pytest.raises(ChartError, match="unknown destination state 'limbo'"):
        load_chart_cached(chart_file, cache)


def test_an_unwritable_cache_only_costs_a_validation(tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the folder would go")
    assert load_chart_cached(default_chart_path(), blocker) == load_chart_file(default_chart_path())


def test_the_cache_never_creates_the_codex_fsm_home_open_to_others(tmp_path):
    """The chart cache may be the first thing to create $CODEX_FSM_HOME: every folder it makes is 0700."""
    from supervisor.chartfile import load_session_chart

    old = os.umask(0o022)
    try:
        home = tmp_path / "not" / "yet" / "fsm-home"
        load_session_chart({"CODEX_FSM_HOME": str(home)})
    finally:
        os.umask(old)
    for folder in (tmp_path / "not", tmp_path / "not" / "yet", home, home / "cache"):
        assert oct(folder.stat().st_mode & 0o777) == "0o700", folder
