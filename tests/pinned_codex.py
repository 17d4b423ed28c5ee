"""The real Codex releases `make codex` installs side by side (package.json's npm aliases): the newest
tested, which node_modules/.bin/codex runs, and the oldest supported. The e2e suite runs against the
one `pytest --codex=newest|oldest` names; everything else uses the newest."""

from __future__ import annotations

import json
import re
from pathlib import Path

from supervisor.adapters.codex_binary import resolve_native

REPO = Path(__file__).resolve().parents[1]
NODE_MODULES = REPO / "node_modules"
PINNED = ("newest", "oldest")  # the newest first: the order `make test` runs the e2e suite in
_ALIAS = re.compile(r"^npm:@openai/codex@(\d+\.\d+\.\d+)$")


def alias(name: str) -> str:
    return f"codex-{name}"


def pinned_version(name: str) -> str:
    """The release package.json pins under the alias ``codex-<name>``."""
    spec = json.loads((REPO / "package.json").read_text(encoding="utf-8"))["dependencies"][alias(name)]
    match = _ALIAS.match(spec)
    assert match, f"package.json: {alias(name)} = {spec!r} is not an exact npm:@openai/codex@X.Y.Z alias"
    return match.group(1)


def launcher(name: str) -> Path:
    """npm's launcher (bin/codex.js) of the pinned release ``name``."""
    path = NODE_MODULES / alias(name) / "bin" / "codex.js"
    assert path.is_file(), f"the pinned Codex ({alias(name)}) is missing at {path}: run `make codex` (npm ci)"
    return path


def native_binary(name: str) -> Path:
    """The native Codex binary of the pinned release ``name``, as its launcher would run it."""
    path = resolve_native(launcher(name)).path
    assert path.name == "codex" and path.is_file(), f"no native Codex binary found behind {launcher(name)}"
    return path
