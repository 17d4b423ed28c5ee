"""The session core performs no I/O: walk the imports of every module in supervisor/core."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "supervisor" / "core"
ALLOWED = {"__future__", "dataclasses", "typing", "enum", "math", "hashlib", "json", "collections",
           "itertools", "functools", "re", "marshmallow", "transitions",
           "typing_extensions"}  # typing_extensions: only under TYPE_CHECKING (core/frozen.py), for the type checker
# What the check must catch (also documents why each is banned).
FORBIDDEN = {"os", "sys", "io", "time", "datetime", "socket", "subprocess", "threading", "select", "signal",
             "pathlib", "shutil", "tempfile", "random", "requests", "pexpect", "portalocker", "fcntl", "urllib", "http",
             "asyncio", "logging", "sqlite3", "platformdirs"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names.add((node.module or "").split(".")[0])
            elif node.level == 2 and node.module not in ("errors",):
                names.add(f"supervisor.{node.module}")
    return names


def test_core_imports_only_pure_modules():
    offenders = {}
    for path in sorted(CORE.glob("*.py")):
        bad = imported_modules(path) - ALLOWED
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}


def test_the_check_catches_io_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom time import monotonic\nfrom ..adapters import pty_child\nfrom .quota import x\n")
    found = imported_modules(sample)
    assert {"os", "time", "supervisor.adapters"} <= found
    assert FORBIDDEN.isdisjoint(ALLOWED)
