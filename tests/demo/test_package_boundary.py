"""The installed package carries everything it runs: no module under supervisor/ imports the checkout's
tools/ or tests/ (neither is in the wheel), by an import statement or by import_module/__import__."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "supervisor"
CHECKOUT_ONLY = ("tools", "tests")
DYNAMIC_IMPORTS = ("import_module", "__import__")


def _dynamic_import(node: ast.Call) -> str | None:
    """The module named by `import_module("x")` or `__import__("x")`, when it is a literal."""
    called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
    if called in DYNAMIC_IMPORTS and node.args and isinstance(node.args[0], ast.Constant):
        return node.args[0].value if isinstance(node.args[0].value, str) else None
    return None


def imported_names(tree: ast.AST) -> list[str]:
    """Every absolute module name `tree` imports (relative imports stay inside the package)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Call) and (name := _dynamic_import(node)):
            names.append(name)
    return names


def checkout_only(names: list[str]) -> list[str]:
    return [name for name in names if name.split(".")[0] in CHECKOUT_ONLY]


def test_no_module_of_the_package_imports_the_checkouts_tools_or_tests() -> None:
    offenders = [f"{path.relative_to(PACKAGE.parent)}: {name}"
                 for path in sorted(PACKAGE.rglob("*.py"))
                 for name in checkout_only(imported_names(ast.parse(path.read_text(encoding="utf-8"), str(path))))]
    assert offenders == []


def test_the_check_sees_each_kind_of_import_it_forbids() -> None:
    source = ("import tests.e2e\nfrom tools.bench import x\nimportlib.import_module('tools.fake')\n"
              "__import__('tests')\nfrom .tools import y\nimport toolsmith\n")
    assert checkout_only(imported_names(ast.parse(source))) == ["tests.e2e", "tools.bench", "tools.fake", "tests"]
