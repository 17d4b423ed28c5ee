"""The one sanitizer for text that came from outside (tests of supervisor/terminal_text.py)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.terminal_text import for_terminal, is_terminal_safe

HOSTILE = [
    "\x1b]0;pwned\x07",                      # OSC title change
    "\x1b]52;c;ZWNobyBoaQ==\x07",             # OSC 52 clipboard write
    "\x1b[2J\x1b[H",                          # screen clear, cursor home
    "work\r\nfake-row  a-0000000000  available",  # a fake table row
    "\u202egnp.exe",                          # bidi override
    "\x9b31m",                                # C1 CSI
    "a\u2028b",                               # line separator
]


def test_hostile_strings_lose_every_control_character():
    for text in HOSTILE:
        safe = for_terminal(text)
        assert is_terminal_safe(safe), repr(safe)
        assert "\x1b" not in safe and "\r" not in safe and "\n" not in safe and "\x07" not in safe


def test_escapes_stay_visible_and_distinct():
    assert for_terminal("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert for_terminal("\u202eabc") == "\\u202eabc"
    assert for_terminal("x\ny") != for_terminal("x\ry")


def test_plain_text_is_unchanged():
    for text in ("work-1", "Zoë's team", "日本語", "a***@example.com", ""):
        assert for_terminal(text) == text


def test_non_strings_are_shown_through_str():
    assert for_terminal(None) == "None"
    assert for_terminal(42) == "42"


def test_cut_to_a_width_with_an_ellipsis():
    assert for_terminal("abcdefgh", max_chars=5) == "abcd…"
    assert for_terminal("abc", max_chars=5) == "abc"


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.text())
def test_any_text_comes_out_safe(text):
    assert is_terminal_safe(for_terminal(text))
