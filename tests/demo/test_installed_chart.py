"""Outside a checkout, the statechart is the copy setup.cfg's data_files installed: under the environment's
prefix, else under the user base (`pip install --user`); when neither has it, the error names the prefix's."""

from __future__ import annotations

import site
import sys
from pathlib import Path

import pytest

from supervisor import chartfile
from supervisor.errors import ChartError

INSTALLED = Path("share") / "codex-fsm" / "statecharts" / "session.json"


@pytest.fixture
def installed_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """chartfile as if installed in site-packages (no statecharts/ beside the package); (prefix, user base)."""
    prefix, user_base = tmp_path / "prefix", tmp_path / "user-base"
    monkeypatch.setattr(chartfile, "__file__", str(tmp_path / "site-packages" / "supervisor" / "chartfile.py"))
    monkeypatch.delenv(chartfile.CHART_ENV, raising=False)
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.setattr(site, "ENABLE_USER_SITE", True)
    monkeypatch.setattr(site, "getuserbase", lambda: str(user_base))
    return prefix, user_base


def put_chart(root: Path) -> Path:
    path = root / INSTALLED
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    return path


def test_the_prefix_copy_comes_first(installed_layout: tuple[Path, Path]) -> None:
    prefix, user_base = installed_layout
    in_prefix = put_chart(prefix)
    put_chart(user_base)
    assert chartfile.default_chart_path() == in_prefix


def test_a_user_install_finds_the_copy_under_the_user_base(installed_layout: tuple[Path, Path]) -> None:
    _, user_base = installed_layout
    in_user_base = put_chart(user_base)
    assert chartfile.default_chart_path() == in_user_base


def test_with_no_copy_the_error_names_where_the_prefix_copy_should_be(installed_layout: tuple[Path, Path]) -> None:
    prefix, _ = installed_layout
    with pytest.raises(ChartError, match=f"{prefix / INSTALLED}: cannot read the statechart"):
        chartfile.load_chart_file(chartfile.default_chart_path())
