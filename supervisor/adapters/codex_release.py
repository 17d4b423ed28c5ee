"""Which Codex releases codex-fsm supports: from the oldest it still runs against to the newest it was
tested with (package.json pins both for the tests; tests/adapters/test_codex_release.py keeps these in
step with it). A release outside that range may still work; ``codex-fsm doctor`` says which side it is on.
"""

from __future__ import annotations

import re

Version = tuple[int, int, int]

OLDEST_SUPPORTED: Version = (0, 169, 0)
NEWEST_TESTED: Version = (0, 171, 0)
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> Version | None:
    """The first ``X.Y.Z`` in ``text`` (``codex-cli 0.171.0`` → (0, 171, 0)), None without one."""
    match = _VERSION.search(text)
    if match is None:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def format_version(version: Version) -> str:
    return ".".join(map(str, version))


def support(version: Version) -> str:
    """``"older"`` than the oldest supported, ``"newer"`` than the newest tested, else ``"tested"``."""
    if version < OLDEST_SUPPORTED:
        return "older"
    if version > NEWEST_TESTED:
        return "newer"
    return "tested"
