"""The option tables of the installed Codex, learned from its own ``--help`` and cached per version.

A newer Codex may add an option that takes a value; with a fixed table its value would be taken for
the prompt (``codex exec --remote ws://host "fix it"`` read as the prompt ``ws://host``). So the tables
come from the binary that will run: ``codex --version`` names the release, and the ``--help`` of every
level codex-fsm reads (root, resume, fork, exec, exec resume, exec review, review) is parsed once per
release into ``$CODEX_FSM_HOME/cache/codex-options-<version>.json``.

The start-up stays cheap: ``codex-binaries.json`` maps a binary (its path, size and modification time)
to the version it reported, so a cached start stats the binary and reads two small files; Codex runs
only when the binary changed. A binary that answers with no version or no help page is remembered as
such (it is not asked again until it changes); one that could not be run or did not answer in time is
asked again at the next start. Anything unexpected (no binary, a ``--help`` that is not one, a cache
file that does not parse) gives ``FALLBACK``, the tables codex-fsm was tested with, and never an error:
a cache file that does not parse is left as it is (``codex-fsm doctor`` names it).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .codex_options import FALLBACK, HIDDEN_EXEC_FLAGS, CodexOptions, OptionTable

SCHEMA = 1
INDEX_FILE = "codex-binaries.json"
INDEX_ENTRIES_KEPT = 16
RUN_TIMEOUT_S = 10.0
# The help pages read, by table: the words before `--help`.
HELP_PAGES: dict[str, tuple[str, ...]] = {
    "root": (), "resume": ("resume",), "fork": ("fork",), "exec": ("exec",), "exec_resume": ("exec", "resume"),
    "exec_review": ("exec", "review"), "review": ("review",),
}
_EXEC_LEVELS = frozenset({"exec", "exec_resume", "exec_review"})
_VERSION = re.compile(r"\b(\d+\.\d+\.\d+(?:-[\w.]+)?)\b")
# `--help` and `--version` need no network; these make sure Codex cannot reach any host if it tried.
DEAD_PROXIES = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
                "ALL_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost"}

# Runs Codex once for each list of arguments and returns each run's stdout: "" when it failed, None when
# it could not be run or did not answer in time (which may pass, so nothing is remembered of it).
RunMany = Callable[[Sequence[Sequence[str]]], list["str | None"]]
# In the index: a binary that answered, but not with a version or a help page; the fallback, without asking.
NOT_LEARNABLE = ""


def options_file(cache_dir: Path, version: str) -> Path:
    return cache_dir / f"codex-options-{version}.json"


def learned_options(binary: Path, env: Mapping[str, str], cache_dir: Path | None,
                    run: RunMany | None = None) -> CodexOptions:
    """The tables of the Codex at ``binary`` (``env`` is the child's environment), FALLBACK when they
    cannot be had. Without ``cache_dir`` nothing is read or kept."""
    try:
        stat = os.stat(binary)
    except OSError:
        return FALLBACK
    identity = f"{binary}\0{stat.st_size}\0{stat.st_mtime_ns}"
    index = _read_index(cache_dir) if cache_dir is not None else {}
    version = index.get(identity)
    if version == NOT_LEARNABLE:
        return FALLBACK
    runner = run or _runner(binary, env)
    if version is None:
        answers = runner([["--version"]])
        answer = answers[0] if answers else None
        version = _version_of(answer)
        if version is None:
            if answer is not None and cache_dir is not None:  # it answered, with no version: ask no more
                _remember(cache_dir, index, identity, NOT_LEARNABLE)
            return FALLBACK
    if cache_dir is not None and options_file(cache_dir, version).exists():
        # Learned before, maybe from another binary of the same release; a damaged file is left alone.
        if index.get(identity) != version:
            _remember(cache_dir, index, identity, version)
        return read_cached(cache_dir, version) or FALLBACK
    texts = runner([[*HELP_PAGES[name], "--help"] for name in HELP_PAGES])
    learned = learn_from_help(version, texts)
    if cache_dir is not None and learned is not None:
        _write_json(options_file(cache_dir, version), to_cache(learned))
        _remember(cache_dir, index, identity, version)
    elif cache_dir is not None and None not in texts:  # every page answered, and one is not a help page
        _remember(cache_dir, index, identity, NOT_LEARNABLE)
    return learned or FALLBACK


def learn_from_help(version: str, texts: Sequence[str | None]) -> CodexOptions | None:
    """The help pages (in ``HELP_PAGES``' order) parsed into tables, or None when one is not a help page."""
    from .codex_help import parse_help

    names = list(HELP_PAGES)
    if len(texts) != len(names):
        return None
    tables: dict[str, OptionTable] = {}
    subcommands: dict[str, frozenset[str]] = {}
    for name, text in zip(names, texts, strict=True):
        command = " ".join(("codex", *HELP_PAGES[name]))
        page = parse_help(command, text) if text is not None else None
        if page is None:
            return None
        table = page.table
        if name in _EXEC_LEVELS:
            table = OptionTable(command, table.values, table.flags | HIDDEN_EXEC_FLAGS, table.multi_values)
        tables[name] = table
        subcommands[name] = page.subcommands
    if not subcommands["root"] or not subcommands["exec"]:
        return None
    return CodexOptions(**tables, subcommands=subcommands["root"], exec_subcommands=subcommands["exec"],
                        version=version)


# ---- the cache ------------------------------------------------------------------------------------------


def to_cache(options: CodexOptions) -> dict:
    tables = {name: {"command": table.command, "values": sorted(table.values), "flags": sorted(table.flags),
                     "multi_values": sorted(table.multi_values)}
              for name in HELP_PAGES for table in [getattr(options, name)]}
    return {"schema": SCHEMA, "version": options.version, "tables": tables,
            "subcommands": sorted(options.subcommands), "exec_subcommands": sorted(options.exec_subcommands)}


def read_cached(cache_dir: Path, version: str) -> CodexOptions | None:
    """The cached tables of ``version``, None when the file is missing or does not parse."""
    try:
        data = json.loads(options_file(cache_dir, version).read_text(encoding="utf-8"))
        return from_cache(data, version)
    except (OSError, ValueError):
        return None


def from_cache(data: object, version: str) -> CodexOptions:
    """Raises ValueError for anything but what ``to_cache`` wrote for ``version``."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or data.get("version") != version:
        raise ValueError("not a codex-fsm option cache of this version")
    tables = data.get("tables")
    if not isinstance(tables, dict):
        raise ValueError("no tables")
    built = {}
    for name in HELP_PAGES:
        entry = tables.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("command"), str):
            raise ValueError(f"table {name} is missing")
        built[name] = OptionTable(entry["command"], _names(entry.get("values")), _names(entry.get("flags")),
                                  _names(entry.get("multi_values")))
    return CodexOptions(**built, subcommands=_names(data.get("subcommands")),
                        exec_subcommands=_names(data.get("exec_subcommands")), version=version)


def _names(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("a list of names was expected")
    return frozenset(value)


def _read_index(cache_dir: Path) -> dict[str, str]:
    try:
        data = json.loads((cache_dir / INDEX_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: value for key, value in data.items() if isinstance(key, str) and isinstance(value, str)}


def _remember(cache_dir: Path, index: dict[str, str], identity: str, version: str) -> None:
    entries = {key: value for key, value in index.items() if key != identity}
    entries[identity] = version
    _write_json(cache_dir / INDEX_FILE, dict(list(entries.items())[-INDEX_ENTRIES_KEPT:]))


def _write_json(path: Path, data: object) -> None:
    """Best effort: a start that cannot write the cache learns again next time."""
    import tempfile

    from ..paths import ensure_private_dir

    try:
        # Every folder it creates is private: the first to create $CODEX_FSM_HOME may be this cache.
        ensure_private_dir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".codex-options-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


# ---- running Codex --------------------------------------------------------------------------------------


def _version_of(text: str | None) -> str | None:
    match = _VERSION.search(text or "")
    return match.group(1) if match else None


def _runner(binary: Path, env: Mapping[str, str]) -> RunMany:
    """Runs every command at once (each ``--help`` is a separate start of Codex) and waits for all."""

    def run(commands: Sequence[Sequence[str]]) -> list[str | None]:
        import subprocess
        import tempfile

        with tempfile.TemporaryDirectory(prefix="codex-fsm-help-") as scratch:
            # An absent CODEX_HOME: Codex's --help then creates nothing anywhere (it says so on stderr).
            child_env = {**env, **DEAD_PROXIES, "CODEX_HOME": os.path.join(scratch, "absent")}
            started = []
            for args in commands:
                try:
                    started.append(subprocess.Popen([str(binary), *args], env=child_env, stdin=subprocess.DEVNULL,
                                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                                    cwd=scratch))
                except OSError:
                    started.append(None)
            answers: list[str | None] = []
            for process in started:
                if process is None:
                    answers.append(None)
                    continue
                try:
                    out, _ = process.communicate(timeout=RUN_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.communicate()
                    answers.append(None)
                    continue
                answers.append(out.decode("utf-8", "replace") if process.returncode == 0 else "")
            return answers

    return run
