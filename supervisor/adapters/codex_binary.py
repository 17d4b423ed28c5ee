"""Finding the real Codex binary and building the child's environment.

The binary comes from ``$CODEX_FSM_CODEX_BIN`` (or the config's value), else ``PATH`` — skipping
codex-fsm itself, so that ``alias codex=codex-fsm`` (or a ``codex`` shim that runs codex-fsm) cannot
recurse. When that leads to npm's launcher ``bin/codex.js``, the native binary it would run is
spawned directly: it saves Node's start-up and makes the child's pid the Codex process itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..errors import ChildSpawnError

BIN_ENV = "CODEX_FSM_CODEX_BIN"
OWN_ENV_PREFIX = "CODEX_FSM_"
_NATIVE_TRIPLES = {
    ("Linux", "x86_64"): ("codex-linux-x64", "x86_64-unknown-linux-musl"),
    ("Linux", "aarch64"): ("codex-linux-arm64", "aarch64-unknown-linux-musl"),
    ("Darwin", "x86_64"): ("codex-darwin-x64", "x86_64-apple-darwin"),
    ("Darwin", "arm64"): ("codex-darwin-arm64", "aarch64-apple-darwin"),
}
# What pip writes into codex-fsm's console script (and any shim that runs it).
_SELF_MARKER = b"supervisor.cli"


@dataclass(frozen=True, slots=True)
class CodexBinary:
    """What to exec: ``path`` (native when found) plus the variables the npm launcher would set."""

    path: Path
    extra_env: dict[str, str] = field(default_factory=dict)


def find_codex_binary(env: Mapping[str, str], configured: str | None = None) -> CodexBinary:
    explicit = env.get(BIN_ENV, "").strip() or (configured or "").strip()
    if explicit:
        path = Path(explicit).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            source = f"${BIN_ENV}" if env.get(BIN_ENV, "").strip() else "config codex_bin"
            raise ChildSpawnError(f"{source} = {explicit}: not an executable file")
        if _is_codex_fsm(path):
            raise ChildSpawnError(f"{explicit} is codex-fsm itself; point it at the real Codex binary")
        return resolve_native(path)
    for directory in env.get("PATH", "").split(os.pathsep):
        if not directory:
            continue
        candidate = Path(directory) / "codex"
        if candidate.is_file() and os.access(candidate, os.X_OK) and not _is_codex_fsm(candidate):
            return resolve_native(candidate)
    raise ChildSpawnError(
        f"the real Codex CLI was not found on PATH; install @openai/codex or set ${BIN_ENV}")


def _is_codex_fsm(path: Path) -> bool:
    """A ``codex`` that is our own entry point (a small text script) rather than Codex."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(2048)
    except OSError:
        return False
    if not head.startswith(b"#!"):
        return False
    return _SELF_MARKER in head


def resolve_native(path: Path) -> CodexBinary:
    """npm's ``bin/codex.js`` → its native binary (with the launcher's variables); else ``path``."""
    real = path.resolve()
    if real.name != "codex.js" or real.parent.name != "bin":
        return CodexBinary(real)
    package_root = real.parent.parent
    system = os.uname()
    key = (system.sysname, system.machine)
    if key not in _NATIVE_TRIPLES:
        return CodexBinary(real)
    package, triple = _NATIVE_TRIPLES[key]
    for vendor in (*(folder / "@openai" / package / "vendor" for folder in _node_module_folders(package_root)),
                   package_root / "vendor"):
        native = vendor / triple / "bin" / "codex"
        if native.is_file() and os.access(native, os.X_OK):
            return CodexBinary(native, {"CODEX_MANAGED_PACKAGE_ROOT": str(package_root),
                                        "CODEX_MANAGED_BY_NPM": "1"})
    return CodexBinary(real)


def _node_module_folders(package_root: Path) -> list[Path]:
    """Where Node's ``require.resolve`` (which the launcher uses) looks for the platform package, nearest
    first: ``node_modules`` in the package and in each folder above it. npm nests the platform package
    inside the package when another version sits at the top, as when two Codex releases are installed
    side by side under aliases."""
    folders = [package_root / "node_modules"]
    for parent in package_root.parents:
        if parent.name != "node_modules":
            folders.append(parent / "node_modules")
    return folders


def child_env(base: Mapping[str, str], binary: CodexBinary, codex_home: Path | None) -> dict[str, str]:
    """The child's environment: the user's, minus codex-fsm's own variables, on ``codex_home``."""
    env = {k: v for k, v in base.items() if not k.upper().startswith(OWN_ENV_PREFIX)}
    env.update(binary.extra_env)
    if codex_home is not None:
        env["CODEX_HOME"] = str(codex_home)
    return env
