"""doctor's report of what the user's Codex offers codex-fsm: the status-line provider, terminal
notifications, and whether the option tables are the installed Codex's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor.adapters.learned_options import learned_options, options_file
from supervisor.cli_commands import doctor
from supervisor.pool.homes import AccountHomes
from supervisor.pool.store import PoolStore

from ..fakes.codex_help import fake_codex
from ..pinned_codex import PINNED, launcher, pinned_version

STATUS_LINE_LISTED = {
    "0.171.0": "tui_extensions_statusline                experimental       false\n",
    "0.169.0": "tui_extensions_statusline                under development  false\n",
}


@pytest.fixture
def ctx(tmp_path: Path) -> doctor.DoctorContext:
    real, fsm = tmp_path / "codex-home", tmp_path / "fsm"
    real.mkdir()
    fsm.mkdir()
    (tmp_path / "fsm.toml").write_text("")
    env = {"CODEX_HOME": str(real), "CODEX_FSM_HOME": str(fsm), "PATH": str(tmp_path / "empty-bin"),
           "CODEX_FSM_CONFIG": str(tmp_path / "fsm.toml"), "HOME": str(tmp_path)}
    return doctor.DoctorContext(store=PoolStore(fsm / "pool.json", 1.0), homes=AccountHomes(fsm / "homes", real),
                                now=0.0, env=env)


def features_of(ctx: doctor.DoctorContext) -> list[doctor.Finding]:
    assert doctor.check_codex_binary(ctx)[0].severity in ("ok", "warning")
    return doctor.check_codex_features(ctx)


def messages(findings: list[doctor.Finding]) -> str:
    return "\n".join(f"{f.severity} {f.subject}: {f.message} | {f.fix}" for f in findings)


def use_fake(ctx, tmp_path, version: str, features: str) -> Path:
    binary = fake_codex(tmp_path / "bin", version=f"codex-cli {version}", features=features)
    ctx.env["CODEX_FSM_CODEX_BIN"] = str(binary)
    return binary


def test_codex_0_171_offers_the_status_line_and_notifications(ctx, tmp_path):
    use_fake(ctx, tmp_path, "0.171.0", STATUS_LINE_LISTED["0.171.0"])
    report = messages(features_of(ctx))
    assert ("ok codex features: status line provider: available (tui_extensions_statusline, experimental; "
            "not set in config.toml: off unless enabled)") in report
    assert "ok codex features: terminal notifications: tui.notifications (not set in config.toml" in report


def test_codex_0_169_has_no_status_line_provider_yet(ctx, tmp_path):
    use_fake(ctx, tmp_path, "0.169.0", STATUS_LINE_LISTED["0.169.0"])
    report = messages(features_of(ctx))
    assert ("status line provider: not available (tui_extensions_statusline is under development in this "
            "release; it needs Codex 0.171.0 or newer)") in report


def test_a_codex_that_lists_no_features_has_no_status_line(ctx, tmp_path):
    use_fake(ctx, tmp_path, "0.171.0", "")
    assert "`codex features list` names no tui_extensions_statusline" in messages(features_of(ctx))


def test_the_users_config_says_what_is_switched_on(ctx, tmp_path):
    use_fake(ctx, tmp_path, "0.171.0", STATUS_LINE_LISTED["0.171.0"])
    (ctx.homes.real_home / "config.toml").write_text(
        '[features]\ntui_extensions_statusline = true\n\n[tui]\nnotifications = ["agent-turn-complete"]\n')
    report = messages(features_of(ctx))
    assert "(tui_extensions_statusline, experimental; features.tui_extensions_statusline = true in config" in report
    assert "tui.notifications (tui.notifications = ['agent-turn-complete'] in config.toml)" in report


def test_an_unreadable_codex_config_is_said_and_the_rest_still_reported(ctx, tmp_path):
    use_fake(ctx, tmp_path, "0.171.0", STATUS_LINE_LISTED["0.171.0"])
    (ctx.homes.real_home / "config.toml").write_text("[features\n")
    findings = features_of(ctx)
    assert findings[0].severity == "warning" and "to see which features are on" in findings[0].message
    assert "status line provider: available" in messages(findings)


def test_the_option_tables_are_reported_learned_pending_or_damaged(ctx, tmp_path):
    binary = use_fake(ctx, tmp_path, "0.171.0", STATUS_LINE_LISTED["0.171.0"])
    cache = Path(ctx.env["CODEX_FSM_HOME"]) / "cache"
    assert "are learned from its --help at the next supervised start" in messages(features_of(ctx))
    assert not cache.exists(), "doctor only reads"
    learned_options(binary, {"PATH": "/usr/bin:/bin"}, cache)
    assert f"ok codex options: learned from Codex 0.171.0's --help ({options_file(cache, '0.171.0')})" in messages(
        features_of(ctx))
    options_file(cache, "0.171.0").write_text("{damaged")
    [damaged] = [f for f in features_of(ctx) if f.subject == "codex options"]
    assert damaged.severity == "warning" and "does not parse" in damaged.message and "delete" in damaged.fix
    assert options_file(cache, "0.171.0").read_text() == "{damaged"


def test_without_a_codex_there_is_nothing_to_report(ctx):
    assert doctor.check_codex_binary(ctx)[0].severity == "error"
    assert doctor.check_codex_features(ctx) == []


@pytest.mark.parametrize("release, available", [("newest", "available"), ("oldest", "not available")])
def test_each_pinned_codex_reports_its_own_features(ctx, release, available):
    ctx.env["CODEX_FSM_CODEX_BIN"] = str(launcher(release))
    report = messages(features_of(ctx))
    assert f"status line provider: {available} (tui_extensions_statusline" in report
    assert "terminal notifications: tui.notifications" in report
    assert pinned_version(release) in report
    assert len(PINNED) == 2
