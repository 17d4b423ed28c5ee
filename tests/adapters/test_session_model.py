"""The model the user names on Codex's command line."""

from __future__ import annotations

import pytest

from supervisor.adapters.session_model import requested_model


@pytest.mark.parametrize("argv, model", [
    ([], None),
    (["-m", "gpt-5.3-codex-spark"], "gpt-5.3-codex-spark"),
    (["-mgpt-5.5"], "gpt-5.5"),
    (["--model", "a", "--model=b"], "b"),
    (["-c", 'model="gpt-5.3-codex-spark"'], "gpt-5.3-codex-spark"),
    (["--config=model=gpt-5.5", "-c", "model_reasoning_effort=high"], "gpt-5.5"),
    (["resume", "--last", "-m", "x"], "x"),
    (["--", "-m", "not-an-option"], None),
    (["-m"], None),
])
def test_the_last_model_named_wins(argv: list[str], model: str | None) -> None:
    assert requested_model(argv) == model
