"""The model the user named for Codex on the command line, so the session's limit family is known
before Codex's first turn (afterwards the rollout's ``turn_context`` says what Codex really runs).

Read: ``-m X``, ``-mX``, ``--model X``, ``--model=X``, and a ``-c``/``--config`` override ``model=X``
(TOML: a quoted string or a bare word). The last one given wins, as in Codex. Nothing named: None,
and the session counts as on the main limit family until a turn says otherwise. A profile's or
config.toml's model is not read here: the first turn's rollout reports it.
"""

from __future__ import annotations

from typing import Iterable

_MAX_MODEL_CHARS = 200


def requested_model(argv: Iterable[str]) -> str | None:
    args = list(argv)
    model: str | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            break
        following = args[i + 1] if i + 1 < len(args) else None
        if arg in ("-m", "--model") and following is not None:
            model, i = following, i + 2
            continue
        if arg.startswith("--model="):
            model = arg.split("=", 1)[1]
        elif arg.startswith("-m") and len(arg) > 2 and not arg.startswith("--"):
            model = arg[2:]
        elif arg in ("-c", "--config") and following is not None:
            named = _config_model(following)
            model = named if named is not None else model
            i += 2
            continue
        elif arg.startswith("--config="):
            named = _config_model(arg.split("=", 1)[1])
            model = named if named is not None else model
        i += 1
    return model if model and len(model) <= _MAX_MODEL_CHARS else None


def _config_model(override: str) -> str | None:
    key, sep, value = override.partition("=")
    if not sep or key.strip() != "model":
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value or None
