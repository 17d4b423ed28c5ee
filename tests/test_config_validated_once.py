"""The configuration is validated once per content: known values are read back without the schema, to the same
Config; unknown or invalid ones always meet the full schema; no values from outside need no schema at all."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervisor import config as config_module
from supervisor import config_schema
from supervisor.config import SECTIONS, SETTINGS, Config, load_config
from supervisor.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def _schema_must_not_run(*args: object) -> object:
    raise AssertionError("known values were validated again")


def _value(setting) -> st.SearchStrategy:
    if setting.kind == "int":
        return st.integers(int(setting.low), int(setting.high))
    if setting.kind == "float":
        return (st.floats(setting.low, setting.high, allow_nan=False)
                | st.integers(math.ceil(setting.low), math.floor(setting.high)))
    if setting.kind == "bool":
        return st.booleans()
    if setting.kind == "url":
        return st.sampled_from(["https://example.invalid/backend-api", "http://127.0.0.1:9/api"])
    if setting.kind == "pool_url":
        return st.sampled_from(["", "redis://127.0.0.1:6390/0", "rediss://:pw@pool.invalid:6380/1",
                                "unix:///run/redis/redis.sock"])
    if setting.kind == "choice":
        return st.sampled_from(setting.choices)
    text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=6)
    return st.lists(text, max_size=3) if setting.kind == "list" else text


# Any valid set of values, as TOML; ca_bundle must name a file and heartbeat_s must stay below the lease TTL
# (relations checked on every load, cached or not), so those keep their defaults.
_CHOSEN = [s for s in SETTINGS if s.name not in ("probe.ca_bundle", "pool.heartbeat_s", "pool.lease_ttl_s")]
_files = st.tuples(
    st.lists(st.sampled_from(_CHOSEN).flatmap(lambda s: st.tuples(st.just(s), _value(s))), max_size=8,
             unique_by=lambda pair: pair[0].name),
    st.lists(st.sampled_from(["rotate_5h", "rotate_weekly", "margin_5h", "margin_weekly"])
             .flatmap(lambda key: st.tuples(st.just(key), st.floats(0, 100) | st.integers(0, 100))),
             max_size=2, unique_by=lambda pair: pair[0]),
).map(lambda parts: _toml(*parts))


def _toml(values: list, account: list) -> str:
    lines = []
    for section in SECTIONS:
        mine = [(s, v) for s, v in values if s.section == section]
        if mine:
            lines.append(f"[{section}]")
            lines.extend(f"{s.key} = {json.dumps(v, ensure_ascii=False)}" for s, v in mine)
    if account:
        lines.append('[quota.accounts."work"]')
        lines.extend(f"{key} = {json.dumps(v)}" for key, v in account)
    return "\n".join(lines) + "\n"


def _env(config: Path) -> dict[str, str]:
    return {"CODEX_FSM_CONFIG": str(config)}


@settings(derandomize=True, deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(text=_files)
def test_known_values_read_back_as_the_schema_reads_them(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.toml"
        config.write_text(text, encoding="utf-8")
        cache = Path(folder) / "cache"
        by_schema = load_config(_env(config))
        assert repr(load_config(_env(config), validated_cache=cache)) == repr(by_schema)
        with mock.patch.object(config_schema, "section_schema", _schema_must_not_run):
            assert repr(load_config(_env(config), validated_cache=cache)) == repr(by_schema)


def test_defaults_pass_their_own_schema_unchanged(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("")
    with mock.patch.object(config_schema, "section_schema", _schema_must_not_run):
        unvalidated = load_config(_env(tmp_path / "config.toml"))
    for section in SECTIONS:
        validated = config_module._SECTION_TYPES[section](**config_module._validate(section, {}, {}))
        assert repr(getattr(unvalidated, section)) == repr(validated)
    assert repr(unvalidated.session_settings()) == repr(Config().session_settings())


def test_invalid_values_are_never_remembered(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[probe]\nworkers = 99\n")
    cache = tmp_path / "cache"
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"\[probe\] workers = 99: Must be greater than or equal to 1"):
            load_config(_env(config), validated_cache=cache)
    assert not cache.exists() or not list(cache.iterdir())


def test_a_changed_file_or_environment_is_validated_again(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[probe]\nworkers = 3\n")
    cache = tmp_path / "cache"
    assert load_config(_env(config), validated_cache=cache).probe.workers == 3
    with pytest.raises(ConfigError, match="CODEX_FSM_PROBE_WORKERS"):
        load_config({**_env(config), "CODEX_FSM_PROBE_WORKERS": "0"}, validated_cache=cache)
    config.write_text("[probe]\nworkers = 17\n")
    with pytest.raises(ConfigError, match="workers = 17"):
        load_config(_env(config), validated_cache=cache)


def test_remembered_values_from_another_version_are_validated_again(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[probe]\nworkers = 3\n")
    load_config(_env(config), validated_cache=tmp_path / "cache")
    monkeypatch.setattr(config_module, "__version__", "0.0.0-other")
    with mock.patch.object(config_schema, "section_schema", wraps=config_schema.section_schema) as schema:
        load_config(_env(config), validated_cache=tmp_path / "cache")
    assert schema.called


_START_AND_REPORT = """
import sys
from supervisor.adapters.codex_args import classify
from supervisor.composition import Composition
root = Composition.load(remember_validated=True)
supervised = root.supervised_session(classify([]))
root.pool_store.mutate(lambda pool: None)
print(root.config.probe.workers, "marshmallow" in sys.modules)
"""


def test_a_second_supervised_start_does_not_import_marshmallow(tmp_path: Path) -> None:
    from tests.pool.fakes import write_auth

    config = tmp_path / "config.toml"
    config.write_text("[probe]\nworkers = 3\n")
    codex = tmp_path / "codex"
    codex.write_text("#!/bin/sh\n")
    codex.chmod(0o755)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "HOME": str(tmp_path),
           "CODEX_FSM_HOME": str(tmp_path / "fsm"), "CODEX_HOME": str(tmp_path / "user-codex"),
           "CODEX_FSM_CONFIG": str(config), "CODEX_FSM_CODEX_BIN": str(codex)}
    auth = write_auth(tmp_path / "login" / "auth.json", account="acct-fake-0001", user="user-fake-0001",
                      email="user1@example.invalid")
    subprocess.run([sys.executable, "-c", "import sys; from supervisor.cli import main; sys.exit(main(sys.argv[1:]))",
                    "accounts", "import", str(auth)], env=env, check=True, capture_output=True)

    def start() -> str:
        done = subprocess.run([sys.executable, "-c", _START_AND_REPORT], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert start() == "3 True"  # the first start validates the config (and the chart)
    assert start() == "3 False"
    config.write_text("[probe]\nworkers = 4\n")
    assert start() == "4 True"  # a changed file meets the schema again


def test_the_marker_never_creates_the_codex_fsm_home_open_to_others(tmp_path):
    """The config's marker may be the first thing to create $CODEX_FSM_HOME: every folder it makes is 0700."""
    import os

    from supervisor.config import load_config

    config_file = tmp_path / "config.toml"
    config_file.write_text("[pool]\nlease_ttl_s = 40\n")
    home = tmp_path / "new" / "fsm-home"
    old = os.umask(0o022)
    try:
        load_config({"CODEX_FSM_CONFIG": str(config_file)}, validated_cache=home / "cache")
    finally:
        os.umask(old)
    for folder in (tmp_path / "new", home, home / "cache"):
        assert oct(folder.stat().st_mode & 0o777) == "0o700", folder
    assert list((home / "cache").glob("config-*.valid"))
