"""The whole pure core passes ``mypy --strict`` (as ``make typecheck`` checks), so that no change there can
bring a type error back."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(r"^(Success: no issues found|Found \d+ errors? in \d+ files?) .*$", re.M)


def test_the_core_passes_mypy_strict(tmp_path: Path) -> None:
    try:
        import mypy  # noqa: F401
    except ImportError:
        pytest.fail("mypy is not installed: run `make install` (it is in setup.cfg's test extras)")
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "supervisor" / "core").rglob("*.py"))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--config-file", "setup.cfg", "--cache-dir", str(tmp_path),
         "--show-error-codes", *files],
        cwd=ROOT, capture_output=True, text=True, timeout=240)
    output = result.stdout + result.stderr
    assert SUMMARY.search(output), f"mypy did not finish a check:\n{output}"
    assert result.returncode == 0 and "Success: no issues found" in output, output
