"""``[pool] url``: the Redis URLs redis-py opens are accepted, anything else is refused naming where it was
set, and the password in a URL never reaches a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor.config import SETTINGS_BY_NAME, Origin, load_config, redacted_url
from supervisor.errors import ConfigError

SECRET = "hunter2-not-a-real-password"


def _file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[pool]\nurl = "{url}"\n')
    return path


def _refusal(**where: object) -> str:
    with pytest.raises(ConfigError) as error:
        load_config(**where)
    return str(error.value)


def test_the_shared_pool_settings_have_their_environment_names() -> None:
    assert [SETTINGS_BY_NAME[name].env_var for name in ("pool.url", "pool.key_file", "pool.host")] == [
        "CODEX_FSM_POOL_URL", "CODEX_FSM_POOL_KEY_FILE", "CODEX_FSM_POOL_HOST"]


@pytest.mark.parametrize("url", [
    "redis://127.0.0.1",
    "redis://pool.internal:6379/0",
    f"redis://:{SECRET}@pool.internal:6379/2",
    "redis://alice:pw@pool.internal/0",
    "rediss://pool.internal:6380/1",
    "redis://[::1]:6379/0",
    "redis://pool.internal/0?db=3",
    "unix:///run/redis/redis.sock",
    "unix:///run/redis/redis.sock?db=1",
    "unix://:pw@/run/redis/redis.sock",
    "",
])
def test_a_redis_url_or_nothing_is_a_pool_url(tmp_path: Path, url: str) -> None:
    path = _file(tmp_path, url)
    config = load_config(env={}, path=path)
    assert config.pool.url == url and config.origin("pool.url") == Origin("file", str(path))


def test_the_default_is_no_shared_pool(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("")
    assert load_config(env={}, path=path).pool.url == ""


def test_the_environment_sets_it_and_says_so(tmp_path: Path) -> None:
    path = _file(tmp_path, "redis://from-the-file/0")
    config = load_config(env={"CODEX_FSM_POOL_URL": "rediss://from-the-env:6380/1"}, path=path)
    assert config.pool.url == "rediss://from-the-env:6380/1"
    assert config.origin("pool.url") == Origin("env", "CODEX_FSM_POOL_URL")
    assert load_config(env={"CODEX_FSM_POOL_URL": ""}, path=path).pool.url == ""


@pytest.mark.parametrize("url", [
    "http://pool.internal:6379",
    "https://pool.internal",
    "pool.internal:6379",
    "redis://",
    "redis:///0",
    "redis://:pw@",
    "rediss://:6380/0",
    "redis://pool.internal:99999/0",
    "redis://pool.internal:port/0",
    "redis://pool .internal/0",
    " redis://pool.internal/0",
    "redis://pool.internal/0\\t",
    "unix://",
    "unix://run/redis/redis.sock",
    "unix://localhost/run/redis/redis.sock",
])
def test_anything_else_is_refused_naming_the_file_and_the_key(tmp_path: Path, url: str) -> None:
    path = _file(tmp_path, url)
    message = _refusal(env={}, path=path)
    assert message.startswith(f"{path}: [pool] url = ")
    assert "Not a Redis URL (redis://host:port/db, rediss://host:port/db or unix:///path/to/socket)" in message


def test_a_value_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[pool]\nurl = 6379\n")
    assert "[pool] url = 6379: Not a valid string" in _refusal(env={}, path=path)


def test_a_refused_environment_value_names_the_variable(tmp_path: Path) -> None:
    message = _refusal(env={"CODEX_FSM_POOL_URL": "http://pool.internal"}, path=_file(tmp_path, ""))
    assert message.startswith("CODEX_FSM_POOL_URL = 'http://pool.internal': Not a Redis URL")


@pytest.mark.parametrize("url, shown", [
    (f"http://:{SECRET}@pool.internal:6379/0", "'http://***@pool.internal:6379/0'"),
    (f"redis://:{SECRET}@", "'redis://***@'"),
    (f"redis://:{SECRET}@pool.internal:99999/0", "'<a URL that does not parse>'"),
    (f"redis://:{SECRET}@pool internal/0", "'redis://***@pool internal/0'"),
    (f"http://pool.internal/?password={SECRET}", "'http://pool.internal/?password=***'"),
])
def test_a_refused_url_is_shown_without_its_password(tmp_path: Path, url: str, shown: str) -> None:
    from_the_file = _refusal(env={}, path=_file(tmp_path, url))
    assert SECRET not in from_the_file and f"[pool] url = {shown}: Not a Redis URL" in from_the_file
    from_the_env = _refusal(env={"CODEX_FSM_POOL_URL": url}, path=_file(tmp_path, ""))
    assert SECRET not in from_the_env and from_the_env.startswith(f"CODEX_FSM_POOL_URL = {shown}: Not a Redis URL")


@pytest.mark.parametrize("url, shown", [
    ("redis://pool.internal:6379/0", "redis://pool.internal:6379/0"),
    (f"redis://:{SECRET}@pool.internal:6379/0", "redis://***@pool.internal:6379/0"),
    (f"redis://alice:{SECRET}@pool.internal/0", "redis://***@pool.internal/0"),
    ("redis://alice@pool.internal/0", "redis://***@pool.internal/0"),
    (f"redis://:{SECRET}@[::1]:6379/0", "redis://***@[::1]:6379/0"),
    (f"redis://pool.internal/0?db=2&password={SECRET}", "redis://pool.internal/0?db=2&password=***"),
    (f"redis://pool.internal/0?Password={SECRET}&username=alice", "redis://pool.internal/0?Password=***&username=***"),
    (f"unix:///run/redis.sock?password={SECRET}", "unix:///run/redis.sock?password=***"),
    (f"unix://:{SECRET}@/run/redis.sock", "unix://***@/run/redis.sock"),
    (f"redis://[::1?password={SECRET}", "<a URL that does not parse>"),
    ("", ""),
])
def test_redacted_url_keeps_everything_but_the_secrets(url: str, shown: str) -> None:
    assert redacted_url(url) == shown
