"""`codex features list` as codex-fsm reads it, and when the status-line provider is there."""

from __future__ import annotations

import os

import pytest

from supervisor.adapters.codex_features import Feature, parse_features, status_line_available
from supervisor.adapters.codex_release import parse_version

from ..pinned_codex import native_binary, pinned_version

LISTED = """WARNING: proceeding, even though we could not create PATH aliases
tui_app_server                           removed            true
tui_extensions_statusline                experimental       false
tui_multi_backend                        under development  false
tui_workspace                            stable             true
"""


def test_each_listed_feature_has_its_stage_and_state_and_other_lines_are_skipped():
    features = parse_features(LISTED)
    assert set(features) == {"tui_app_server", "tui_extensions_statusline", "tui_multi_backend", "tui_workspace"}
    assert features["tui_multi_backend"] == Feature("tui_multi_backend", "under development", False)
    assert features["tui_workspace"].enabled


@pytest.mark.parametrize("version, stage, available", [
    ((0, 171, 0), "experimental", True),
    ((0, 172, 0), "stable", True),
    ((0, 171, 0), "under development", False),
    ((0, 169, 0), "experimental", False),
    ((0, 171, 0), "removed", False),
])
def test_the_status_line_needs_0_171_and_a_usable_stage(version, stage, available):
    features = {"tui_extensions_statusline": Feature("tui_extensions_statusline", stage, False)}
    assert status_line_available(version, features) is available
    assert not status_line_available(version, {})


@pytest.mark.parametrize("release, available", [("newest", True), ("oldest", False)])
def test_the_pinned_releases_list_the_status_line_feature_at_their_own_stage(release, available, tmp_path):
    import subprocess

    (tmp_path / "home").mkdir()
    env = {**os.environ, "CODEX_HOME": str(tmp_path / "home"), "HTTPS_PROXY": "http://127.0.0.1:9"}
    listed = subprocess.run([str(native_binary(release)), "features", "list"], env=env, capture_output=True,
                            text=True, timeout=60, cwd=tmp_path, check=True).stdout
    features = parse_features(listed)
    assert "tui_extensions_statusline" in features
    assert status_line_available(parse_version(pinned_version(release)), features) is available
