"""The supported range of Codex releases, in step with the releases package.json pins for the tests."""

from __future__ import annotations

import pytest

from supervisor.adapters.codex_release import (NEWEST_TESTED, OLDEST_SUPPORTED, format_version, parse_version,
                                               support)

from ..pinned_codex import pinned_version


def test_the_range_is_the_two_pinned_releases():
    assert format_version(NEWEST_TESTED) == pinned_version("newest")
    assert format_version(OLDEST_SUPPORTED) == pinned_version("oldest")
    assert OLDEST_SUPPORTED <= NEWEST_TESTED


@pytest.mark.parametrize("text, version, side", [
    ("codex-cli 0.169.0", (0, 169, 0), "tested"),
    ("codex-cli 0.170.3\n", (0, 170, 3), "tested"),
    ("codex-cli 0.171.0", (0, 171, 0), "tested"),
    ("codex-cli 0.168.12", (0, 168, 12), "older"),
    ("codex-cli 0.171.1", (0, 171, 1), "newer"),
    ("codex-cli 1.0.0-alpha.3", (1, 0, 0), "newer"),
])
def test_a_version_is_read_and_placed_against_the_range(text, version, side):
    assert parse_version(text) == version
    assert support(version) == side


def test_text_without_a_version_gives_none():
    assert parse_version("codex-cli") is None
