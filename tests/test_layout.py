"""Test folders mirror the source tree, so a module's tests are found next to the module's name.

The rule (README, "Architecture"): tests of the package ``supervisor/<pkg>/`` live in ``tests/<pkg>/``; tests
of a top-level module ``supervisor/<m>.py`` or ``tools/<m>.py`` are ``tests/test_<m>.py`` or
``tests/test_<m>_<aspect>.py``. Only ``test_*.py`` files are placed by the rule; fakes, helpers and conftest
files sit wherever their users are. The cross-cutting exceptions are named below, each with its reason.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CROSS_CUTTING_FOLDERS = {
    "e2e": "the real Codex CLI end to end against the fake backend",
    "replays": "golden transition logs, replayed by tests/test_replay_golden_logs.py",
    "fakes": "fakes and rigs that tests in several folders share",
}
CROSS_CUTTING_FILES = {
    "test_package.py": "which `supervisor` package Python imports",
    "test_layering.py": "the import rules between all the layers",
    "test_layout.py": "where every test file sits",
}


def top_level_modules(root: Path) -> set[str]:
    return {path.stem for folder in ("supervisor", "tools") for path in (root / folder).glob("*.py")
            if path.stem != "__init__"}


def misplaced(root: Path, test_file: Path) -> str | None:
    """Why ``test_file`` (under ``root/tests``) breaks the rule, or None when it sits where it should."""
    relative = test_file.relative_to(root / "tests")
    folders = relative.parts[:-1]
    if not folders:
        if relative.name in CROSS_CUTTING_FILES:
            return None
        subject = relative.stem.removeprefix("test_")
        if any(subject == module or subject.startswith(module + "_") for module in top_level_modules(root)):
            return None
        return (f"tests/{relative} names no top-level module: call it tests/test_<module>[_<aspect>].py after "
                f"supervisor/<module>.py or tools/<module>.py, or move it into the folder of its package")
    if folders[0] in CROSS_CUTTING_FOLDERS:
        return None
    package = Path("supervisor", *folders)
    if (root / package / "__init__.py").is_file():
        return None
    return f"tests/{relative} sits in tests/{Path(*folders)}/, but there is no package {package}/"


def test_every_test_file_mirrors_its_source() -> None:
    problems = [problem for path in sorted((ROOT / "tests").rglob("test_*.py"))
                if (problem := misplaced(ROOT, path)) is not None]
    assert problems == [], "\n".join(problems)


def _tree(root: Path, *files: str) -> None:
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")


def test_a_folder_without_a_package_and_a_file_without_a_module_are_named(tmp_path: Path) -> None:
    _tree(tmp_path, "supervisor/__init__.py", "supervisor/pool/__init__.py", "supervisor/pool/store.py",
          "supervisor/config.py", "tools/scrub_log.py")
    assert misplaced(tmp_path, tmp_path / "tests/pool/test_store.py") is None
    assert misplaced(tmp_path, tmp_path / "tests/test_config_loader.py") is None
    assert misplaced(tmp_path, tmp_path / "tests/test_scrub_log.py") is None
    assert misplaced(tmp_path, tmp_path / "tests/e2e/test_anything.py") is None
    assert misplaced(tmp_path, tmp_path / "tests/quota/test_store.py") == (
        "tests/quota/test_store.py sits in tests/quota/, but there is no package supervisor/quota/")
    assert "tests/test_configuration.py names no top-level module" in misplaced(
        tmp_path, tmp_path / "tests/test_configuration.py")
    assert "tests/test_pool.py names no top-level module" in misplaced(tmp_path, tmp_path / "tests/test_pool.py")
