"""The layering table in README's "Architecture" section is the rule: every import under supervisor/ obeys it.

The table is read from README.md itself, so the text a person reads and the rule checked here are one thing.
Its first column names a layer (the first backticked word), the second lists the files and folders of that
layer (backticked paths), the third the layers it may import (backticked names). A module belongs to the row
whose path names it most precisely; imports within one layer are free. Imports are read with ``ast``, function-
level and ``TYPE_CHECKING`` ones included, plus ``import_module("...")`` calls with a literal name.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PACKAGE = "supervisor"
FORBIDDEN_ROOTS = ("tools", "tests")

# Files allowed to import tools/ or tests/: none (the demo's fake backend and terminal model live in
# supervisor/demo/). Kept as a named, empty set so an exception would have to be written down here.
KNOWN_TOOLS_IMPORTS: set[str] = set()

BACKTICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Layer:
    name: str
    paths: tuple[str, ...]
    may_import: tuple[str, ...]


@dataclass(frozen=True)
class Import:
    source: str  # the importing file, relative to the repository root
    line: int
    module: str  # dotted name of the module imported


def architecture_table(readme: str) -> list[Layer]:
    """The layers of the first ``layer | where | may import`` table under the ``## Architecture`` heading."""
    section = re.search(r"^## Architecture\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert section, "README.md has no '## Architecture' section"
    rows = [line for line in section.group(1).splitlines() if line.startswith("|")]
    assert rows and [cell.strip() for cell in rows[0].strip("|").split("|")] == ["layer", "where", "may import"], (
        "README's architecture section must start with a 'layer | where | may import' table")
    layers = []
    for row in rows[2:]:
        cells = row.strip().strip("|").split("|")
        assert len(cells) == 3, f"README architecture row needs three cells: {row}"
        names = BACKTICKED.findall(cells[0])
        assert names, f"README architecture row names no layer in backticks: {row}"
        paths = tuple(path for path in BACKTICKED.findall(cells[1]) if path.startswith(f"{PACKAGE}/"))
        assert paths, f"README architecture row for `{names[0]}` lists no supervisor/ path"
        layers.append(Layer(names[0], paths, tuple(BACKTICKED.findall(cells[2]))))
    return layers


def layer_of(relative: str, layers: list[Layer]) -> Layer | None:
    """The layer whose path names the file most precisely: the file itself, else the deepest folder."""
    best: tuple[int, Layer] | None = None
    for layer in layers:
        for path in layer.paths:
            if path == relative or (path.endswith("/") and relative.startswith(path)):
                if best is None or len(path) > best[0]:
                    best = (len(path), layer)
    return best[1] if best else None


def module_file(module: str, root: Path) -> str | None:
    """``supervisor.a.b`` as a repository path (module or package), or None when no such file exists."""
    base = Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if (root / candidate).is_file():
            return candidate.as_posix()
    return None


def _package_of(relative: Path) -> list[str]:
    parts = list(relative.with_suffix("").parts)
    return parts[:-1]  # the package a module (or a package's __init__) resolves relative imports against


def imports_of(path: Path, root: Path) -> list[Import]:
    relative = path.relative_to(root)
    source = relative.as_posix()
    tree = ast.parse(path.read_text(), filename=source)
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(Import(source, node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(relative)
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from pkg import name` imports the submodule pkg.name when there is one
            submodules = [f"{module}.{alias.name}" for alias in node.names
                          if module_file(f"{module}.{alias.name}", root)]
            found.extend(Import(source, node.lineno, name) for name in submodules or [module])
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__"))
                   or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"))):
            found.append(Import(source, node.lineno, node.args[0].value))
    return sorted(found, key=lambda found_import: found_import.line)


def violations(root: Path, layers: list[Layer], known_tools_imports: set[str]) -> list[str]:
    problems = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        own = layer_of(relative, layers)
        if own is None:
            problems.append(f"{relative} is in no layer of README's architecture table")
            continue
        for imported in imports_of(path, root):
            top = imported.module.split(".")[0]
            where = f"{relative}:{imported.line} imports {imported.module}"
            if top in FORBIDDEN_ROOTS:
                if relative not in known_tools_imports:
                    problems.append(f"{where}: nothing under {PACKAGE}/ imports {top}/")
                continue
            if top != PACKAGE:
                continue  # the standard library and third-party packages: tests/core/test_purity.py for the core
            target_file = module_file(imported.module, root)
            target = layer_of(target_file, layers) if target_file else None
            if target is None or target is own or target.name in own.may_import:
                continue  # unknown targets are reported as modules without a layer, or fail at import time
            allowed = ", ".join(own.may_import) or "nothing of supervisor"
            problems.append(f"{where} (layer `{target.name}`): layer `{own.name}` may import only {allowed}")
    return problems


@pytest.fixture(scope="module")
def layers() -> list[Layer]:
    return architecture_table(README.read_text())


def test_every_import_under_supervisor_follows_the_architecture_table(layers) -> None:
    problems = violations(ROOT, layers, KNOWN_TOOLS_IMPORTS)
    assert problems == [], "\n".join(problems)


def test_the_table_names_real_layers_and_real_paths(layers) -> None:
    names = [layer.name for layer in layers]
    assert len(names) == len(set(names)), f"a layer appears twice in README's table: {names}"
    assert {"core", "loop", "command line"} <= set(names)
    for layer in layers:
        unknown = set(layer.may_import) - set(names)
        assert not unknown, f"layer `{layer.name}` may import {sorted(unknown)}, which the table does not define"
        for path in layer.paths:
            assert (ROOT / path).exists(), f"README's table lists {path} for `{layer.name}`, which does not exist"


SAMPLE_README = """# x

## Architecture

| layer | where | may import |
| --- | --- | --- |
| `leaf` | `supervisor/errors.py` | nothing |
| `core`: pure | `supervisor/core/` | `leaf` |
| `loop` | `supervisor/loop.py` | `core`, `leaf` |
| `special` | `supervisor/core/special.py` | `leaf` |

## Next
"""


def test_a_wrong_arrow_is_named_with_the_file_the_import_and_the_rule(tmp_path: Path) -> None:
    files = {
        "supervisor/__init__.py": "",
        "supervisor/errors.py": "",
        "supervisor/core/__init__.py": "",
        "supervisor/core/quota.py": "from ..errors import X\n",
        "supervisor/core/special.py": "from .quota import Y\n",
        "supervisor/core/events.py": "def late():\n    from ..loop import run\n",
        "supervisor/loop.py": "from .core import quota\nimport tools.fake_backend\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    layers = architecture_table(SAMPLE_README)
    assert [layer.name for layer in layers] == ["leaf", "core", "loop", "special"]
    assert violations(tmp_path, layers, set()) == [
        "supervisor/__init__.py is in no layer of README's architecture table",
        "supervisor/core/events.py:2 imports supervisor.loop (layer `loop`): layer `core` may import only leaf",
        "supervisor/core/special.py:1 imports supervisor.core.quota (layer `core`): "
        "layer `special` may import only leaf",
        "supervisor/loop.py:2 imports tools.fake_backend: nothing under supervisor/ imports tools/",
    ]
    assert violations(tmp_path, layers, {"supervisor/loop.py"})[-1].startswith("supervisor/core/special.py")


def test_import_module_with_a_literal_name_counts_as_an_import(tmp_path: Path) -> None:
    (tmp_path / "supervisor").mkdir()
    (tmp_path / "supervisor" / "x.py").write_text(
        "import importlib\nimportlib.import_module('tests.fakes')\n__import__('tools')\n")
    assert [i.module for i in imports_of(tmp_path / "supervisor" / "x.py", tmp_path)] == [
        "importlib", "tests.fakes", "tools"]
