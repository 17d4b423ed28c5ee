"""The Codex features codex-fsm builds on, as the installed Codex reports them.

``codex features list`` prints one feature a line: its name, its stage (``under development``,
``experimental``, ``beta``, ``stable``, ``deprecated``, ``removed``) and whether it is on. The status-line
provider (``tui.status_line_provider``) is the feature ``tui_extensions_statusline``: listed as under
development in 0.169, usable (experimental) from 0.171. Terminal notifications are Codex's
``tui.notifications`` setting, which every supported release has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .codex_release import Version

STATUS_LINE_FEATURE = "tui_extensions_statusline"
STATUS_LINE_SINCE: Version = (0, 171, 0)
NOTIFICATIONS_SETTING = "tui.notifications"
# Stages at which a feature can be switched on and does something; `under development` ones are inert.
USABLE_STAGES = frozenset({"experimental", "beta", "stable", "deprecated"})
_LINE = re.compile(r"^([a-z][a-z0-9_]*)\s+([a-z][a-z ]*?)\s+(true|false)\s*$")


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    stage: str
    enabled: bool  # the effective state where it was listed (the default, without the user's config)


def parse_features(text: str) -> dict[str, Feature]:
    """The features ``codex features list`` printed; lines of any other shape are skipped."""
    features: dict[str, Feature] = {}
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match:
            name, stage, enabled = match.groups()
            features[name] = Feature(name, stage, enabled == "true")
    return features


def status_line_available(version: Version, features: dict[str, Feature]) -> bool:
    """The installed Codex can take its status line from a provider (codex-fsm's, where configured)."""
    feature = features.get(STATUS_LINE_FEATURE)
    return version >= STATUS_LINE_SINCE and feature is not None and feature.stage in USABLE_STAGES
