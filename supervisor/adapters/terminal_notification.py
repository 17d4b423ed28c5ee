"""The terminal notification that goes out with every notice: OSC 9, OSC 777, a bell, or nothing.

Codex runs in the alternate screen, so a notice line is painted over at once; a notification is
shown by the terminal itself (a desktop notification, a tab badge, a bell) and survives it.

``[notify] method = auto`` chooses as Codex chooses for its own ``tui.notifications`` with
``tui.notification_method = auto`` (``codex-rs/tui/src/notifications/mod.rs``, on the terminal that
``codex-rs/terminal-detection/src/lib.rs`` identifies), so a user gets codex-fsm's notices the way they
already get Codex's:

- The terminal is identified from ``TERM_PROGRAM`` first (normalised: lower case, without spaces,
  ``-``, ``_`` and ``.``): ``ghostty``; ``iterm``/``iterm2``/``itermapp``; ``warp``/``warpterminal``;
  ``wezterm``; ``kitty``; other values name other terminals (Apple Terminal, VS Code, Alacritty...).
  Inside tmux (``TERM_PROGRAM=tmux`` with ``TMUX`` or ``TMUX_PANE`` set) the outer terminal is the one
  tmux reports for its client (``tmux display-message -p '#{client_termtype}'``, its first word).
- Without ``TERM_PROGRAM``: ``WEZTERM_VERSION`` means WezTerm; ``ITERM_SESSION_ID``, ``ITERM_PROFILE``
  or ``ITERM_PROFILE_NAME`` iTerm2; ``TERM_SESSION_ID`` Apple Terminal; ``KITTY_WINDOW_ID`` or a ``TERM``
  containing ``kitty`` kitty; later checks (Alacritty, Konsole, GNOME Terminal, VTE, Windows Terminal)
  name terminals without OSC 9; last, ``TERM=wezterm`` or ``wezterm-mux`` means WezTerm.
- Ghostty, iTerm2, kitty, Warp and WezTerm get OSC 9; every other terminal, an unknown one, ``screen``
  and a tmux whose client is not one of these get BEL. Codex's ``auto`` never picks OSC 777 (it is
  used only when chosen by name), and Codex writes OSC 9 inside tmux as it is, without a passthrough
  wrapper; so does codex-fsm.

The payload is the notice's text made safe: ``for_terminal`` turns BEL, ESC, C1 and every other
control into visible text, so nothing in it can end the OSC early or start a sequence; ``;`` becomes
``,`` (OSC 777 separates its fields with it, and ``9;<digit>;`` is another command on some
terminals); it is cut to ``MAX_TEXT`` characters.
"""

from __future__ import annotations

import subprocess
from typing import Callable, Mapping

from ..terminal_text import for_terminal

METHODS = ("auto", "osc9", "osc777", "bel", "off")
TITLE = "codex-fsm"
MAX_TEXT = 180
_OSC9_TERMINALS = frozenset({"ghostty", "iterm2", "kitty", "warp", "wezterm"})
_PROGRAM_NAMES = {"ghostty": "ghostty", "iterm": "iterm2", "iterm2": "iterm2", "itermapp": "iterm2",
                  "warp": "warp", "warpterminal": "warp", "wezterm": "wezterm", "kitty": "kitty"}
_TMUX_QUERY_TIMEOUT_S = 1.0

TmuxClientTermtype = Callable[[], "str | None"]


def _normalised(value: str) -> str:
    return "".join(ch for ch in value.strip() if ch not in " -_.").lower()


def _set(env: Mapping[str, str], name: str) -> bool:
    return name in env


def _non_empty(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value is not None and value.strip() else None


def terminal_name(env: Mapping[str, str], tmux_client_termtype: TmuxClientTermtype) -> str:
    """The terminal, as far as notifications care: one of the OSC 9 names above, or ``other``."""
    program = _non_empty(env, "TERM_PROGRAM")
    in_tmux = bool(_non_empty(env, "TMUX") or _non_empty(env, "TMUX_PANE"))
    if program is not None:
        if _normalised(program) == "tmux" and in_tmux:
            client = tmux_client_termtype()
            if client and client.split():
                return _PROGRAM_NAMES.get(_normalised(client.split()[0]), "other")
        return _PROGRAM_NAMES.get(_normalised(program), "other")
    if _set(env, "WEZTERM_VERSION"):
        return "wezterm"
    if any(_set(env, name) for name in ("ITERM_SESSION_ID", "ITERM_PROFILE", "ITERM_PROFILE_NAME")):
        return "iterm2"
    if _set(env, "TERM_SESSION_ID"):
        return "other"  # Apple Terminal
    if _set(env, "KITTY_WINDOW_ID") or "kitty" in env.get("TERM", ""):
        return "kitty"
    if any(_set(env, name) for name in ("ALACRITTY_SOCKET", "KONSOLE_VERSION", "GNOME_TERMINAL_SCREEN",
                                        "VTE_VERSION", "WT_SESSION")) or env.get("TERM") == "alacritty":
        return "other"
    return "wezterm" if env.get("TERM") in ("wezterm", "wezterm-mux") else "other"


def choose_method(configured: str, env: Mapping[str, str],
                  tmux_client_termtype: TmuxClientTermtype | None = None) -> str:
    """The method to use: ``configured`` itself unless it is ``auto``, then Codex's choice."""
    if configured != "auto":
        return configured
    query = tmux_client_termtype if tmux_client_termtype is not None else ask_tmux_client_termtype
    return "osc9" if terminal_name(env, query) in _OSC9_TERMINALS else "bel"


def ask_tmux_client_termtype() -> str | None:
    """What tmux says its client terminal is; None when tmux cannot tell (or is not there)."""
    try:
        done = subprocess.run(["tmux", "display-message", "-p", "#{client_termtype}"], capture_output=True,
                              text=True, timeout=_TMUX_QUERY_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value else None


def payload(text: str) -> str:
    """``text`` as an OSC payload: printable, no field separator, short."""
    return for_terminal(text, max_chars=MAX_TEXT).replace(";", ",")


def notification_bytes(method: str, text: str) -> bytes:
    """The bytes that notify ``text`` by ``method`` (a concrete one, never ``auto``)."""
    if method == "osc9":
        return b"\x1b]9;" + payload(text).encode("utf-8") + b"\x07"
    if method == "osc777":
        body = payload(text.removeprefix(f"{TITLE}: "))  # the title already says who speaks
        return b"\x1b]777;notify;" + TITLE.encode() + b";" + body.encode("utf-8") + b"\x07"
    if method == "bel":
        return b"\x07"
    if method == "off":
        return b""
    raise ValueError(f"unknown notification method {method!r}; expected one of {', '.join(METHODS[1:])}")


class TerminalNotifier:
    """The notification for a notice's text, by the configured method. ``auto`` is resolved at the
    first notice, not at start-up: a session that never shows a notice never asks tmux anything."""

    def __init__(self, configured: str, env: Mapping[str, str],
                 tmux_client_termtype: TmuxClientTermtype | None = None) -> None:
        self._configured = configured
        self._env = dict(env)
        self._tmux = tmux_client_termtype
        self._method: str | None = None

    @property
    def method(self) -> str:
        if self._method is None:
            self._method = choose_method(self._configured, self._env, self._tmux)
        return self._method

    def __call__(self, text: str) -> bytes:
        return notification_bytes(self.method, text)
