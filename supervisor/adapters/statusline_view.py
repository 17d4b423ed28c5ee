"""What codex-fsm's status line inside Codex shows, as the UI tree Codex renders in its footer.

Pure: the session's status (as ``status_file`` wrote it), the snapshot Codex sent with the read and the
moment in, the tree out. Everything shown that came from a file or from Codex passes ``for_terminal``
(a label may hold escape sequences), and is cut short: the footer is one line.

The account's windows come from Codex's own snapshot when it has one for the family of the thread's
model (Codex fetched it for the account it runs on now), else from the status file (what the supervisor
last observed for that account).

Kept free of ``supervisor.core``: Codex starts the provider with every session, and the core's package
import alone costs more than the whole server.
"""

from __future__ import annotations

import math
from typing import Any

from ..terminal_text import for_terminal

MAIN_FAMILY = "codex"
_MAX_LABEL_CHARS = 32
_MINUTE = 60.0
_HOUR = 3600.0
_DAY = 86400.0
# States the line does not name: the session simply runs (a prewarmed successor changes nothing yet).
_QUIET_STATES = frozenset({"running", "prewarming"})


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _folded(text: Any) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum()) if isinstance(text, str) else ""


def window_name(minutes: float) -> str:
    """A window by its length: ``5h``, ``weekly``, else hours or days."""
    if abs(minutes - 300) <= 30:
        return "5h"
    if abs(minutes - 10080) <= 1008:
        return "weekly"
    return f"{round(minutes / 60)}h" if minutes < 1440 else f"{round(minutes / 1440)}d"


def remaining_percent(window: dict[str, Any], now: float) -> float | None:
    """What is left of a window at ``now``; a window whose reset has passed counts as full."""
    used = _number(window.get("used_percent"))
    if used is None:
        return None
    resets_at = _number(window.get("resets_at"))
    if resets_at is not None and resets_at <= now:
        return 100.0
    return 100.0 - min(100.0, max(0.0, used))


def codex_windows(codex_state: dict[str, Any]) -> list[dict[str, Any]]:
    """The windows of the family the thread's model uses, from the snapshot Codex sent (``[]`` when it
    sent none): the family named after the model, else the main family ``codex``."""
    account = codex_state.get("account") if isinstance(codex_state, dict) else None
    limits = account.get("rate_limits") if isinstance(account, dict) else None
    if not isinstance(limits, list):
        return []
    thread = codex_state.get("thread")
    model = thread.get("model") if isinstance(thread, dict) else None
    names = {_folded(model.get(key)) for key in ("id", "display_name")} - {""} if isinstance(model, dict) else set()
    families = [f for f in limits if isinstance(f, dict)]
    chosen = next((f for f in families if _folded(f.get("limit_name")) in names), None)
    if chosen is None:
        chosen = next((f for f in families if f.get("limit_id") == MAIN_FAMILY), None)
    if chosen is None:
        return []
    windows = []
    for key in ("primary_limit", "secondary_limit"):
        window = chosen.get(key)
        if isinstance(window, dict) and _number(window.get("window_minutes")):
            windows.append({"used_percent": window.get("used_percent"), "window_minutes": window["window_minutes"],
                            "resets_at": window.get("resets_at")})
    return windows


def ago(seconds: float) -> str:
    if seconds < _MINUTE:
        return "just now"
    if seconds < _HOUR:
        return f"{int(seconds // _MINUTE)} min ago"
    if seconds < _DAY:
        return f"{int(seconds // _HOUR)} h ago"
    return f"{int(seconds // _DAY)} d ago"


def line_parts(status: dict[str, Any] | None, codex_state: dict[str, Any], now: float) -> list[tuple[str, str]]:
    """The line as (colour, text) pieces: the account, each window's headroom, the last move."""
    if status is None:
        return [("status-metadata", "codex-fsm: no session status")]
    label = status.get("account")
    parts = [("accent", "codex-fsm " + (for_terminal(label, _MAX_LABEL_CHARS) if isinstance(label, str)
                                        else "(no account yet)"))]
    windows = codex_windows(codex_state) or [w for w in status.get("windows") or () if isinstance(w, dict)]
    for window in windows:
        minutes = _number(window.get("window_minutes"))
        left = remaining_percent(window, now)
        if minutes is not None and minutes > 0 and left is not None:
            parts.append(("status-usage", f"{window_name(minutes)} {left:.0f}% left"))
    moved_from, moved_at = status.get("moved_from"), _number(status.get("moved_at"))
    if isinstance(moved_from, str) and moved_at is not None:
        parts.append(("status-metadata",
                      f"moved from {for_terminal(moved_from, _MAX_LABEL_CHARS)} {ago(max(0.0, now - moved_at))}"))
    state = status.get("state")
    if isinstance(state, str) and state not in _QUIET_STATES:
        parts.append(("status-state", for_terminal(state, _MAX_LABEL_CHARS)))
    return parts


def render(status: dict[str, Any] | None, codex_state: dict[str, Any], now: float) -> dict[str, Any]:
    """The UI tree: one row of coloured texts, a gap of one column between them."""
    children: list[Any] = [{"type": "text", "props": {"color": colour}, "children": [text]}
                           for colour, text in line_parts(status, codex_state, now)]
    return {"type": "row", "props": {"gap": 1, "wrap": "nowrap"}, "children": children}


def plain_line(status: dict[str, Any] | None, codex_state: dict[str, Any], now: float) -> str:
    return " · ".join(text for _, text in line_parts(status, codex_state, now))
