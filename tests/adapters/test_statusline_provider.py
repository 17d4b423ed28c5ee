"""Feature detection (cached per binary) and the -c overrides that add codex-fsm's status line."""

from __future__ import annotations

from pathlib import Path

from supervisor.adapters.codex_features import parse_features
from supervisor.adapters.statusline_provider import provider_overrides, statusline_supported, supported

FEATURES_171 = "tui_app_server                           removed            true\n" \
               "tui_extensions_statusline                experimental       false\n"
FEATURES_169 = "tui_extensions_statusline                under development  false\n"


def test_the_feature_is_usable_from_0_171_when_listed_as_experimental():
    assert parse_features(FEATURES_171)["tui_extensions_statusline"].stage == "experimental"
    assert supported("codex-cli 0.171.0", FEATURES_171)
    assert not supported("codex-cli 0.169.0", FEATURES_169)  # listed, but inert
    assert not supported("codex-cli 0.171.0", "")  # not listed
    assert not supported("codex-cli 0.170.0", FEATURES_171)
    assert not supported(None, FEATURES_171)


def test_codex_is_asked_once_per_binary(tmp_path):
    binary = tmp_path / "codex"
    binary.write_text("#!/bin/sh\n")
    asked: list[list[str]] = []

    def run(argv):
        asked.append(list(argv[1:]))
        return "codex-cli 0.171.0\n" if argv[1] == "--version" else FEATURES_171

    assert statusline_supported(binary, {}, tmp_path / "cache", run)
    assert statusline_supported(binary, {}, tmp_path / "cache", run)
    assert asked == [["--version"], ["features", "list"]]
    binary.write_text("#!/bin/sh\n# another release\n")
    assert not statusline_supported(binary, {}, tmp_path / "cache", lambda argv: None)


def test_a_codex_that_does_not_answer_has_no_status_line(tmp_path):
    assert not statusline_supported(tmp_path / "missing", {}, tmp_path / "cache", lambda argv: "x")
    binary = tmp_path / "codex"
    binary.write_text("")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "statusline-support.json").write_text("{garbage")
    assert not statusline_supported(binary, {}, tmp_path / "cache", lambda argv: None)


def test_the_overrides_name_the_server_the_feature_and_the_provider():
    args = provider_overrides("/venv/bin/python", Path("/src/codex-fsm"), Path("/fsm/run/42.json"),
                              Path("/fsm/run/42.codex-limits"))
    settings = dict(arg.split("=", 1) for arg in args[1::2])
    assert args[0::2] == ["-c"] * 5
    assert settings == {
        "mcp_servers.codex_fsm.command": '"/venv/bin/python"',
        "mcp_servers.codex_fsm.args": '["-m", "supervisor.adapters.statusline_mcp", "--status", "/fsm/run/42.json", '
                                      '"--snapshot", "/fsm/run/42.codex-limits"]',
        "mcp_servers.codex_fsm.env": '{PYTHONPATH = "/src/codex-fsm"}',
        "features.tui_extensions_statusline": "true",
        "tui.status_line_provider": '{server = "codex_fsm", tool = "statusline"}',
    }


def test_paths_with_quotes_stay_one_toml_string():
    args = provider_overrides('/odd "dir"/python', Path("/src"), Path("/a\\b.json"), Path("/c"))
    assert args[1] == 'mcp_servers.codex_fsm.command="/odd \\"dir\\"/python"'
    assert '"/a\\\\b.json"' in args[3]
