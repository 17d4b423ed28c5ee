"""The config parser against hostile files: whatever bytes the file holds, load_config returns a
Config or raises a ConfigError naming the file, and never changes the file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.config import CONFIG_ENV, SETTINGS, Config, load_config
from supervisor.errors import ConfigError

NUMERIC = [s for s in SETTINGS if s.kind in ("int", "float")]
# Values a TOML file can hold that are far outside any sane setting or are not numbers at all.
HOSTILE_NUMBERS = ["1e308", "-1e308", "inf", "-inf", "nan", "9" * 400, "-" + "9" * 400, "9" * 5000,
                   "1.7976931348623157e308", "0x7fffffffffffffff", "true", '"10"', "[]", "{}"]


def _load(path: Path) -> Config | None:
    try:
        return load_config(env={CONFIG_ENV: str(path)})
    except ConfigError as exc:
        assert str(path) in str(exc), f"the error names the file: {exc}"
        return None


def _toml_ish() -> st.SearchStrategy[bytes]:
    """Bytes that look like a config often enough to reach the validation, not only the TOML parser."""
    line = st.one_of(
        st.sampled_from([f"[{s.section}]" for s in SETTINGS] + ['[quota.accounts."a"]', "[quota.accounts]"]),
        st.builds(lambda s, v: f"{s.key} = {v}", st.sampled_from(SETTINGS),
                  st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.integers().map(str),
                            st.floats().map(repr), st.text(max_size=8).map(repr))),
        st.text(max_size=20),
    )
    return st.lists(line, max_size=8).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"))


@settings(derandomize=True, deadline=None, max_examples=400)
@given(st.one_of(st.binary(max_size=300), _toml_ish(),
                 st.binary(max_size=40).map(lambda b: b"[session]\nmax_restarts = 3\n" + b)))
def test_any_bytes_give_a_config_or_a_config_error_and_leave_the_file_alone(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_bytes(raw)
        config = _load(path)
        assert path.read_bytes() == raw
    if config is not None:
        for setting in NUMERIC:
            value = config.value(setting.name)
            assert setting.low <= value <= setting.high, setting.name


@pytest.mark.parametrize("raw", [
    b"\xff\xfe[quota]\n",  # not UTF-8 (a UTF-16 file, say)
    b"[quota]\nrotate_5h = 10\n# caf\xe9\n",  # Latin-1 in a comment
    b"a = " + b"[" * 100_000,  # nested past Python's recursion limit
    b"a = " + b"{b = " * 5000,
    b"[session]\nmax_restarts = " + b"9" * 5000 + b"\n",  # beyond int's digit limit
], ids=["utf16", "latin1-comment", "deep-arrays", "deep-tables", "huge-int"])
def test_unparsable_files_name_the_file(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(raw)
    with pytest.raises(ConfigError, match="config file .*config.toml"):
        load_config(env={CONFIG_ENV: str(path)})
    assert path.read_bytes() == raw


@pytest.mark.parametrize("setting", NUMERIC, ids=lambda s: s.name)
@pytest.mark.parametrize("value", HOSTILE_NUMBERS)
def test_every_numeric_setting_refuses_huge_and_non_numbers_from_the_file(tmp_path: Path, setting, value) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[{setting.section}]\n{setting.key} = {value}\n")
    with pytest.raises(ConfigError, match=str(path)):
        load_config(env={CONFIG_ENV: str(path)})


@pytest.mark.parametrize("setting", NUMERIC, ids=lambda s: s.name)
@pytest.mark.parametrize("value", ["1e308", "-1e308", "inf", "nan", "9" * 400, "9" * 5000])
def test_every_numeric_setting_refuses_huge_numbers_from_the_environment(tmp_path: Path, setting, value) -> None:
    with pytest.raises(ConfigError, match=setting.env_var):
        load_config(env={setting.env_var: value}, path=_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.toml"
    path.write_text("")
    return path


def test_a_folder_as_the_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"{tmp_path}.* is a folder"):
        load_config(env={CONFIG_ENV: str(tmp_path)})
