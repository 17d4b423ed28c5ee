"""`import supervisor` must be this project, not PyPI's "supervisor" (supervisord)."""

from pathlib import Path

import supervisor

ROOT = Path(__file__).resolve().parent.parent


def test_import_supervisor_resolves_to_this_repo():
    assert Path(supervisor.__file__).resolve().parent == ROOT / "supervisor"
    assert hasattr(supervisor, "__version__")
    assert not hasattr(supervisor, "supervisord")
