"""The package ships its own demo: a wheel built from this checkout, installed into a fresh venv, runs
`codex-fsm demo --auto` with nothing from the checkout but the pinned Codex on PATH.

The suite runs without a network, so the build backend and the runtime dependencies come from the
wheelhouse that `make install` fills (.make-stamps/wheelhouse); codex-fsm's own wheel is built here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from supervisor.demo.fake_backend.env import OFFLINE_PROXY_ENV
from tests.fakes.demo_run import run_auto_demo

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
WHEELHOUSE = REPO / ".make-stamps" / "wheelhouse"
CHECKOUT_CODEX_BIN = REPO / "node_modules" / ".bin"
# What a wheel is built from: the package, its build configuration and the files setup.cfg names.
WHEEL_SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "statecharts", "supervisor")
# pip without the machine's configuration (index mirrors, find-links) or caches: only what the test names.
OFFLINE_PIP_ENV = {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                   "PIP_NO_INPUT": "1"}


def run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done


def outside_env(root: Path, venv: Path) -> dict[str, str]:
    """A user's environment with nothing of the checkout in it (no PYTHONPATH, cwd elsewhere) but its
    pinned Codex on PATH, after the venv's codex-fsm; homes and the temporary directory under `root`."""
    for name in ("tmp", "home"):
        (root / name).mkdir(exist_ok=True)
    path = os.pathsep.join([str(venv / "bin"), str(CHECKOUT_CODEX_BIN), os.environ.get("PATH", "/usr/bin:/bin")])
    return {"PATH": path, "HOME": str(root / "home"), "TMPDIR": str(root / "tmp"), "LANG": "C.UTF-8",
            "TERM": "xterm-256color", "CODEX_FSM_HOME": str(root / "fsm-home"), **OFFLINE_PROXY_ENV,
            **OFFLINE_PIP_ENV}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with codex-fsm installed from a wheel of this checkout, offline."""
    if not any(WHEELHOUSE.glob("*.whl")):
        pytest.fail(f"no wheels in {WHEELHOUSE}; run `make install` (it fills the wheelhouse while online)")
    if not (CHECKOUT_CODEX_BIN / "codex").exists():
        pytest.fail(f"the pinned Codex CLI is missing at {CHECKOUT_CODEX_BIN}/codex; run `make codex` first")
    root = tmp_path_factory.mktemp("wheel-install")
    source, dist, venv = root / "source", root / "dist", root / "venv"
    source.mkdir()
    for name in WHEEL_SOURCES:  # a copy: building in the checkout would leave build/ and egg-info in it
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, source / name)
    env = outside_env(root, venv)
    offline = ["--no-index", "--find-links", str(WHEELHOUSE)]
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *offline, "--wheel-dir", str(dist),
         str(source)], env, root, 180)
    [wheel] = dist.glob("codex_fsm-*.whl")
    run([sys.executable, "-m", "venv", str(venv)], env, root, 120)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *offline, str(wheel)], env, root, 180)
    return venv


def test_the_installed_package_runs_from_the_venv_alone(venv: Path, tmp_path: Path) -> None:
    env = outside_env(tmp_path, venv)
    probe = ("import importlib.util, supervisor, supervisor.chartfile as c\n"
             "print(supervisor.__file__)\n"
             "print(c.default_chart_path())\n"
             "print(importlib.util.find_spec('tools'), importlib.util.find_spec('tests'))\n")
    package, chart, checkout_modules = run([str(venv / "bin" / "python"), "-c", probe], env, tmp_path,
                                           60).stdout.splitlines()

    assert Path(package).is_relative_to(venv)
    assert Path(chart) == venv / "share" / "codex-fsm" / "statecharts" / "session.json"
    assert Path(chart).read_bytes() == (REPO / "statecharts" / "session.json").read_bytes()
    assert checkout_modules == "None None", "the checkout's tools/ or tests/ is importable from the venv"


def test_the_installed_demo_rotates_in_front_of_the_user(venv: Path, tmp_path: Path) -> None:
    run_auto_demo([str(venv / "bin" / "codex-fsm")], outside_env(tmp_path, venv), tmp_path)
