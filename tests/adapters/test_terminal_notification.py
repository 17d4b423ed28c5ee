"""The terminal notification of a notice: which method `auto` picks, and the bytes of each method."""

from __future__ import annotations

import pytest

from supervisor.adapters.terminal_notification import (MAX_TEXT, METHODS, TerminalNotifier, choose_method,
                                                        notification_bytes)
from supervisor.config import SETTINGS_BY_NAME


def no_tmux() -> str | None:
    raise AssertionError("tmux asked outside tmux")


@pytest.mark.parametrize(("env", "method"), [
    ({"TERM_PROGRAM": "iTerm.app"}, "osc9"),
    ({"TERM_PROGRAM": "WezTerm"}, "osc9"),
    ({"TERM_PROGRAM": "ghostty"}, "osc9"),
    ({"TERM_PROGRAM": "WarpTerminal"}, "osc9"),
    ({"TERM_PROGRAM": "kitty"}, "osc9"),
    ({"TERM_PROGRAM": "Apple_Terminal"}, "bel"),
    ({"TERM_PROGRAM": "vscode"}, "bel"),
    ({"TERM_PROGRAM": "vscode", "ITERM_SESSION_ID": "w0t0p0:1"}, "bel"),  # TERM_PROGRAM decides
    ({"WEZTERM_VERSION": "20240203"}, "osc9"),
    ({"ITERM_SESSION_ID": "w0t0p0:1"}, "osc9"),
    ({"ITERM_PROFILE": "Default"}, "osc9"),
    ({"KITTY_WINDOW_ID": "1"}, "osc9"),
    ({"TERM": "xterm-kitty"}, "osc9"),
    ({"TERM": "wezterm"}, "osc9"),
    ({"TERM_SESSION_ID": "x", "TERM": "xterm-kitty"}, "bel"),  # Apple Terminal is checked first
    ({"VTE_VERSION": "7600", "TERM": "xterm-256color"}, "bel"),
    ({"WT_SESSION": "abc"}, "bel"),
    ({"TERM": "alacritty"}, "bel"),
    ({"TERM": "screen-256color", "STY": "1.pts-0"}, "bel"),
    ({"TERM": "xterm-256color"}, "bel"),
    ({}, "bel"),
])
def test_auto_chooses_as_codex_does(env: dict[str, str], method: str) -> None:
    assert choose_method("auto", env, no_tmux) == method


@pytest.mark.parametrize(("client", "method"), [("ghostty 1.2.3", "osc9"), ("wezterm", "osc9"),
                                                ("xterm-256color", "bel"), (None, "bel")])
def test_inside_tmux_the_outer_terminal_that_tmux_reports_decides(client: str | None, method: str) -> None:
    env = {"TERM_PROGRAM": "tmux", "TMUX": "/tmp/tmux-1000/default,1,0", "TERM": "tmux-256color"}
    assert choose_method("auto", env, lambda: client) == method


def test_tmux_as_term_program_without_a_tmux_session_is_an_unknown_terminal() -> None:
    assert choose_method("auto", {"TERM_PROGRAM": "tmux"}, no_tmux) == "bel"


@pytest.mark.parametrize("method", ["osc9", "osc777", "bel", "off"])
def test_a_named_method_is_used_whatever_the_terminal(method: str) -> None:
    assert choose_method(method, {"TERM_PROGRAM": "iTerm.app"}, no_tmux) == method


def test_the_config_offers_exactly_the_adapters_methods() -> None:
    assert SETTINGS_BY_NAME["notify.method"].choices == METHODS
    assert SETTINGS_BY_NAME["notify.method"].default == "auto"


def test_byte_formats() -> None:
    assert notification_bytes("osc9", "codex-fsm: moved") == b"\x1b]9;codex-fsm: moved\x07"
    assert notification_bytes("osc777", "codex-fsm: moved") == b"\x1b]777;notify;codex-fsm;moved\x07"
    assert notification_bytes("bel", "codex-fsm: moved") == b"\x07"
    assert notification_bytes("off", "codex-fsm: moved") == b""
    with pytest.raises(ValueError, match="unknown notification method 'auto'"):
        notification_bytes("auto", "x")


@pytest.mark.parametrize("method", ["osc9", "osc777"])
def test_the_payload_cannot_end_the_sequence_or_add_a_field(method: str) -> None:
    hostile = "a\x07b\x1b\\c\x1b]9;d\x9ce;f\u202eg\nh"
    data = notification_bytes(method, hostile)
    head = b"\x1b]9;" if method == "osc9" else b"\x1b]777;notify;codex-fsm;"
    assert data.startswith(head) and data.endswith(b"\x07")
    body = data[len(head):-1]
    assert not any(byte < 0x20 or byte == 0x7F for byte in body)
    assert "\x9c" not in body.decode("utf-8") and b";" not in body
    assert body.decode("utf-8") == "a\\x07b\\x1b\\c\\x1b]9,d\\x9ce,f\\u202eg\\x0ah"


def test_the_text_is_kept_short() -> None:
    data = notification_bytes("osc9", "x" * 1000)
    assert len(data.decode("utf-8")) == len("\x1b]9;\x07") + MAX_TEXT
    assert data.decode("utf-8").endswith("…\x07")


def test_the_notifier_resolves_auto_once_at_its_first_notice() -> None:
    asked: list[int] = []

    def client() -> str:
        asked.append(1)
        return "kitty"

    notifier = TerminalNotifier("auto", {"TERM_PROGRAM": "tmux", "TMUX_PANE": "%1"}, client)
    assert asked == []  # nothing asked at start-up
    assert notifier("codex-fsm: one") == b"\x1b]9;codex-fsm: one\x07"
    assert notifier("codex-fsm: two") == b"\x1b]9;codex-fsm: two\x07"
    assert asked == [1]
    assert notifier.method == "osc9"
