"""Whether the installed Codex can show codex-fsm's status line, and the ``-c`` overrides that add it.

The provider is an experimental Codex feature: ``tui_extensions_statusline`` (listed by ``codex features
list``; "under development", i.e. inert, in 0.169, "experimental" from 0.171) with the setting
``tui.status_line_provider = {server = "<mcp server>", tool = "<tool>"}``. codex-fsm adds its MCP server
(``statusline_mcp``), switches the feature on and names the provider for its own child only, on the
command line: the user's config.toml is never written.

Asking Codex costs two short runs (``--version``, ``features list``, about 0.2 s): the answer is cached
per binary (path, size, modification time) in ``$CODEX_FSM_HOME/cache``, so a start pays one ``stat``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Callable, Mapping, Sequence

from .codex_features import STATUS_LINE_FEATURE, parse_features, status_line_available
from .codex_release import parse_version
from .statusline_mcp import SERVER_NAME, TOOL_NAME, server_args

FEATURE = STATUS_LINE_FEATURE
CACHE_NAME = "statusline-support.json"
_ASK_TIMEOUT_S = 10.0

Runner = Callable[[Sequence[str]], str | None]


def supported(version_text: str | None, features_text: str | None) -> bool:
    """What ``codex --version`` and ``codex features list`` printed say about the provider (doctor reads
    the same answers through ``codex_features``)."""
    version = parse_version(version_text or "")
    return version is not None and status_line_available(version, parse_features(features_text or ""))


def _run(argv: Sequence[str], env: Mapping[str, str]) -> str | None:
    try:
        done = subprocess.run(list(argv), env=dict(env), stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=_ASK_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None


def _binary_key(binary: Path) -> str | None:
    try:
        st = binary.stat()
    except OSError:
        return None
    return f"{binary.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def statusline_supported(binary: Path, env: Mapping[str, str], cache_dir: Path,
                         run: Runner | None = None) -> bool:
    """Whether the Codex at ``binary`` takes a status-line provider; asked once per binary, then cached.
    Anything unexpected (Codex fails to answer, an unreadable cache) means no: the session runs
    without the line, never fails for it."""
    key = _binary_key(binary)
    if key is None:
        return False
    cache = cache_dir / CACHE_NAME
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if isinstance(cached, dict) and isinstance(cached.get(key), bool):
            return cached[key]
    except (OSError, ValueError):
        pass
    ask = run if run is not None else (lambda argv: _run(argv, env))
    version_text = ask([str(binary), "--version"])
    answer = supported(version_text, ask([str(binary), "features", "list"]) if version_text else None)
    try:
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        temp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps({key: answer}), encoding="utf-8")  # one binary at a time is enough
        os.replace(temp, cache)
    except OSError:
        pass
    return answer


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string (ASCII, escaped) is a TOML basic string


def provider_overrides(python: str, package_root: Path, status_path: Path, snapshot_path: Path) -> list[str]:
    """The ``-c`` overrides that run codex-fsm's provider for one Codex child: the MCP server (this
    interpreter, this checkout, the session's status file), the feature, and the provider setting.
    Codex hands an MCP server only a few variables of its own environment, so PYTHONPATH is given."""
    server = f"mcp_servers.{SERVER_NAME}"
    args = ", ".join(_toml_string(arg) for arg in server_args(status_path, snapshot_path))
    return ["-c", f"{server}.command={_toml_string(python)}",
            "-c", f"{server}.args=[{args}]",
            "-c", f"{server}.env={{PYTHONPATH = {_toml_string(str(package_root))}}}",
            "-c", f"features.{FEATURE}=true",
            "-c", f"tui.status_line_provider={{server = {_toml_string(SERVER_NAME)}, "
                  f"tool = {_toml_string(TOOL_NAME)}}}"]
