"""load_config: defaults, file, environment, validation and origins."""

from __future__ import annotations

import tempfile
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.config import (
    CONFIG_ENV,
    SETTINGS,
    SETTINGS_BY_NAME,
    Config,
    Origin,
    default_config_path,
    load_config,
    parse_bool,
)
from supervisor.core.quota import Thresholds
from supervisor.core.settings import SessionSettings
from supervisor.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_match_the_documented_table_and_the_core(tmp_path: Path) -> None:
    config = load_config(env={CONFIG_ENV: str(write(tmp_path, ""))})
    for setting in SETTINGS:
        expected = tuple(setting.default) if setting.kind == "list" else setting.default
        assert config.value(setting.name) == expected, setting.name
        assert config.origin(setting.name) == Origin("default")
    assert config == Config(path=config.path, file_found=True)
    assert config.session_settings() == SessionSettings()


def test_every_setting_is_documented_and_bounded() -> None:
    for setting in SETTINGS:
        assert setting.doc
        if setting.kind in ("int", "float"):
            assert setting.low is not None and setting.high is not None
            assert setting.low <= setting.default <= setting.high


def test_the_session_section_covers_every_session_setting() -> None:
    core = {f.name for f in fields(SessionSettings)} - {"thresholds", "account_thresholds"}
    assert core == {s.key for s in SETTINGS if s.section == "session"}


def test_a_missing_default_file_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = load_config(env={})
    assert config.path == tmp_path / "codex-fsm" / "config.toml" == default_config_path({})
    assert not config.file_found


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(env={CONFIG_ENV: str(tmp_path / "nope.toml")})


def test_file_values_and_per_account_floors(tmp_path: Path) -> None:
    path = write(tmp_path, """
[quota]
rotate_5h = 10
margin_weekly = 4.5

[quota.accounts."main"]
rotate_5h = 20

[quota.accounts."a-bravo00002"]
rotate_weekly = 15

[session]
max_restarts = 4
resubmit_interrupted_prompt = false

[codex]
extra_args = ["-m", "o3"]
""")
    config = load_config(env={}, path=path)
    assert config.file_found and config.path == path
    assert config.quota.rotate_5h == 10.0 and config.origin("quota.rotate_5h") == Origin("file", str(path))
    assert config.codex.extra_args == ("-m", "o3")
    settings = config.session_settings({"main": "a-alpha00001"})
    assert settings.max_restarts == 4 and settings.resubmit_interrupted_prompt is False
    assert settings.thresholds == Thresholds(10.0, 5.0, 5.0, 4.5)
    assert settings.thresholds_for("a-alpha00001") == Thresholds(20.0, 5.0, 5.0, 4.5)
    assert settings.thresholds_for("a-bravo00002") == Thresholds(10.0, 15.0, 5.0, 4.5)
    assert settings.thresholds_for("a-other") == settings.thresholds
    assert SessionSettings.from_dict(settings.to_dict()) == settings


def test_env_beats_file_and_says_so(tmp_path: Path) -> None:
    path = write(tmp_path, "[probe]\ncache_ttl_s = 600\n")
    config = load_config(env={"CODEX_FSM_PROBE_CACHE_TTL_S": "120", "CODEX_FSM_CODEX_EXTRA_ARGS": "-m 'o 3'",
                              "CODEX_FSM_HOME": "/elsewhere"}, path=path)
    assert config.probe.cache_ttl_s == 120.0
    assert config.origin("probe.cache_ttl_s") == Origin("env", "CODEX_FSM_PROBE_CACHE_TTL_S")
    assert config.codex.extra_args == ("-m", "o 3")


@pytest.mark.parametrize("text, message", [
    ("[quota]\nrotate5h = 3\n", "unknown key 'rotate5h' in \\[quota\\]; did you mean 'rotate_5h'\\?"),
    ("[sesion]\nmax_restarts = 3\n", "unknown section \\[sesion\\]; did you mean \\[session\\]\\?"),
    ('[quota.accounts."x"]\nrotate_wekly = 3\n', "did you mean 'rotate_weekly'"),
    ("[session]\nmax_restarts = -1\n", "\\[session\\] max_restarts = -1"),
    ("[session]\nmax_restarts = 2.5\n", "max_restarts = 2.5: Not a valid integer"),
    ("[quota]\nrotate_5h = \"5\"\n", "rotate_5h = '5': Not a valid number"),
    ("[quota]\nrotate_5h = nan\n", "rotate_5h"),
    ("[quota]\nrotate_5h = 101\n", "rotate_5h = 101"),
    ("[session]\nresubmit_interrupted_prompt = \"yes\"\n", "Not a valid boolean"),
    ("[probe]\nchatgpt_base_url = \"ftp://x\"\n", "chatgpt_base_url"),
    ("[probe]\nca_bundle = \"/no/such/ca.pem\"\n", "ca_bundle.*not a file"),
    ("[pool]\nheartbeat_s = 30\n", "heartbeat_s.*below pool.lease_ttl_s"),
    ("quota = 3\n", "must be a table"),
    ("[quota\n", "not valid TOML"),
])
def test_bad_files_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as error:
        load_config(env={}, path=path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("url", ["https://chatgpt.com/backend-api", "http://127.0.0.1:8443/backend-api",
                                 "https://proxy.internal"])
def test_an_http_or_https_url_with_a_host_is_a_base_url(url: str) -> None:
    assert load_config(env={"CODEX_FSM_PROBE_CHATGPT_BASE_URL": url}, path="/dev/null").probe.chatgpt_base_url == url


@pytest.mark.parametrize("url", ["ftp://chatgpt.com", "https://", "chatgpt.com/backend-api", "https://h:99999/",
                                 "https://a b/", ""])
def test_anything_else_is_refused_naming_the_variable(url: str) -> None:
    with pytest.raises(ConfigError, match="CODEX_FSM_PROBE_CHATGPT_BASE_URL = .*Not a valid http\\(s\\) URL"):
        load_config(env={"CODEX_FSM_PROBE_CHATGPT_BASE_URL": url}, path="/dev/null")


@pytest.mark.parametrize("env, message", [
    ({"CODEX_FSM_SESSION_MAX_RESTARTS": ""}, "CODEX_FSM_SESSION_MAX_RESTARTS is empty"),
    ({"CODEX_FSM_SESSION_MAX_RESTARTS": "  "}, "CODEX_FSM_SESSION_MAX_RESTARTS is empty"),
    ({"CODEX_FSM_SESSION_MAX_RESTARTS": "many"}, "CODEX_FSM_SESSION_MAX_RESTARTS='many' is not an integer"),
    ({"CODEX_FSM_SESSION_MAX_RESTARTS": "2.5"}, "is not an integer"),
    ({"CODEX_FSM_QUOTA_ROTATE_5H": "inf"}, "not a finite number"),
    ({"CODEX_FSM_QUOTA_ROTATE_5H": "-1"}, "CODEX_FSM_QUOTA_ROTATE_5H = -1.0"),
    ({"CODEX_FSM_SESSION_RESUBMIT_INTERRUPTED_PROMPT": "on"}, "not a boolean"),
    ({"CODEX_FSM_SESSION_RESUBMIT_INTERRUPTED_PROMPT": ""}, "not a boolean"),
    ({"CODEX_FSM_QUOTA_ROTATE5H": "3"}, "unknown environment variable.*did you mean 'CODEX_FSM_QUOTA_ROTATE_5H'"),
    ({"CODEX_FSM_CODEX_EXTRA_ARGS": "'unclosed"}, "CODEX_FSM_CODEX_EXTRA_ARGS"),
])
def test_bad_environment_values_name_the_variable(env: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env=env, path=write(tmp_path, ""))


@pytest.mark.parametrize("text, value", [("1", True), ("true", True), ("YES", True), (" Yes ", True),
                                         ("0", False), ("false", False), ("No", False)])
def test_one_boolean_parser(text: str, value: bool, tmp_path: Path) -> None:
    assert parse_bool(text, "X") is value
    config = load_config(env={"CODEX_FSM_SESSION_RESUBMIT_INTERRUPTED_PROMPT": text}, path=write(tmp_path, ""))
    assert config.session.resubmit_interrupted_prompt is value


@settings(derandomize=True, deadline=None)
@given(st.text(max_size=12))
def test_any_numeric_env_text_is_a_value_in_bounds_or_an_error_naming_the_variable(text: str) -> None:
    setting = SETTINGS_BY_NAME["session.max_restarts"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text("")
        try:
            config = load_config(env={setting.env_var: text}, path=path)
        except ConfigError as exc:
            assert setting.env_var in str(exc)
            return
    assert 0 <= config.session.max_restarts <= 1000
    assert config.session.max_restarts == int(text.strip())


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load_config(env={}, path=write(tmp_path, ""))
    with pytest.raises(AttributeError):
        config.quota.rotate_5h = 1.0  # type: ignore[misc]
