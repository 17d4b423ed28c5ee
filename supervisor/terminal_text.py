"""Text that came from outside, made safe to print on a terminal.

Labels, JWT claims, file names, server messages and prompts can hold escape sequences: an OSC title
change, an OSC 52 clipboard write, a screen clear, a carriage return that paints a fake table row, a
bidirectional override that reorders what follows. Every such string passes ``for_terminal`` before
it is printed. Control and format characters are not dropped but shown as visible escapes
(``\\x1b``, ``\\u202e``), so the user still sees that something odd was there and two different
hostile strings never print the same.
"""

from __future__ import annotations

import unicodedata

# Unicode categories that can drive a terminal or reorder text: controls (C0, DEL, C1), format
# characters (bidi overrides, zero-width joiners), surrogates, private use and unassigned points.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Line and paragraph separators break a one-line layout just like a newline.
_UNSAFE_SEPARATORS = frozenset({"Zl", "Zp"})
ELLIPSIS = "…"


def _escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _unsafe(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category in _UNSAFE_CATEGORIES or category in _UNSAFE_SEPARATORS


def for_terminal(text: object, max_chars: int | None = None) -> str:
    """``text`` as one printable line: every control, format or separator character (newlines and
    tabs included) becomes a visible escape; cut to ``max_chars`` with an ellipsis when given.

    Anything that is not a string is shown through ``str`` first, so a caller can pass a claim or a
    field of unknown type without checking it.
    """
    if not isinstance(text, str):
        text = str(text)
    if text.isascii() and text.isprintable():
        safe = text
    else:
        safe = "".join(_escape(ch) if _unsafe(ch) else ch for ch in text)
    if max_chars is not None and len(safe) > max_chars:
        return safe[:max(0, max_chars - 1)] + ELLIPSIS
    return safe


def is_terminal_safe(text: str) -> bool:
    """Whether ``text`` prints as it reads (what ``for_terminal`` would leave unchanged)."""
    return not any(_unsafe(ch) for ch in text)
