"""What the user is typing, kept in memory only: when they last pressed a key, the draft they have
not sent yet, and the last prompt they submitted.

The draft is re-typed into a resumed composer; the last prompt is re-submitted once when a usage
limit interrupted it. Neither is ever logged, written to disk or put into an event. When the keys
could have moved the cursor or edited in ways we do not model (arrows, Home, history recall), the
draft is marked unknown and nothing is re-typed: typing back a wrong draft is worse than none.
The draft as it stood when the child was asked to stop is remembered: when later keys make the draft
unknown, that one is re-typed.

The tracker only ever sees keys: the terminal's replies are taken out before (``terminal_replies``).
It also tells the keys that mean "quit" to a supervisor with no child to pass them to: Ctrl-C,
Ctrl-D, and ``q`` pressed on an empty draft (a ``q`` inside a word is just a letter).
"""

from __future__ import annotations

import re

_PASTE_START = b"\x1b[200~"
_PASTE_END = b"\x1b[201~"
# CSI sequence: ESC [ params final-byte.
_CSI = re.compile(rb"\x1b\[([0-9;:?]*)([\x40-\x7e])")
_ENTER = 13
_BACKSPACES = (8, 127)
_CLEARS = (3, 21)  # Ctrl-C clears Codex's composer; Ctrl-U deletes the line
_CTRL_C, _CTRL_D = 3, 4
QUIT_KEYS = {_CTRL_C: "ctrl-c", _CTRL_D: "ctrl-d", ord("q"): "q"}


class InputTracker:
    def __init__(self) -> None:
        self.last_input_at: float | None = None
        self._draft = bytearray()
        self._draft_known = True
        self._last_prompt: bytes | None = None
        self._in_paste = False
        self._draft_at_stop: bytes | None = None
        self._quit_key: str | None = None

    def note(self, data: bytes, at: float) -> str | None:
        """Account for keystrokes on their way to the child; returns the first quit key among them."""
        if not data:
            return None
        self.last_input_at = at
        self._quit_key = None
        self._scan(data)
        return self._quit_key

    def _scan(self, data: bytes) -> None:
        i = 0
        while i < len(data):
            if self._in_paste:
                end = data.find(_PASTE_END, i)
                if end == -1:
                    self._draft += data[i:]
                    return
                self._draft += data[i:end]
                self._in_paste = False
                i = end + len(_PASTE_END)
                continue
            byte = data[i]
            if byte == 0x1B:
                i = self._escape(data, i)
                continue
            self._key(byte)
            i += 1

    def _escape(self, data: bytes, i: int) -> int:
        if data.startswith(_PASTE_START, i):
            self._in_paste = True
            return i + len(_PASTE_START)
        match = _CSI.match(data, i)
        if match is None:
            self._draft_known = False  # Alt-key or a lone Esc: not modelled
            return i + 1
        params, final = match.group(1), match.group(2)
        if final == b"u":
            self._kitty_key(params)
        else:
            self._draft_known = False  # arrows, Home/End, Delete...
        return match.end()

    def _kitty_key(self, params: bytes) -> None:
        """A key in the kitty keyboard protocol (Codex turns it on): ``code[;mods[:event]]u``."""
        fields = params.split(b";")
        try:
            code = int(fields[0].split(b":")[0])
            modifiers = fields[1].split(b":") if len(fields) > 1 and fields[1] else [b"1"]
            mods = int(modifiers[0]) - 1
            event = int(modifiers[1]) if len(modifiers) > 1 else 1
        except ValueError:
            self._draft_known = False
            return
        if event == 3:  # a key released (Codex asks for event types): the press already counted
            return
        if mods == 0 and code < 128:
            self._key(code)
        elif mods == 0:
            self._draft += chr(code).encode("utf-8")
        elif mods == 4 and code in (ord("c"), ord("u")):  # Ctrl
            if code == ord("c"):
                self._saw_quit(_CTRL_C)
            self._clear()
        elif mods == 4 and code == ord("d"):
            self._saw_quit(_CTRL_D)
            self._draft_known = False
        elif mods == 1 and code == _ENTER:  # Shift-Enter: a newline in the composer
            self._draft += b"\n"
        else:
            self._draft_known = False

    def _saw_quit(self, byte: int) -> None:
        if self._quit_key is None:
            self._quit_key = QUIT_KEYS[byte]

    def _key(self, byte: int) -> None:
        if byte in (_CTRL_C, _CTRL_D) or (byte == ord("q") and not self._draft and self._draft_known):
            self._saw_quit(byte)
        if byte == _ENTER:
            self._submit()
        elif byte in _BACKSPACES:
            self._backspace()
        elif byte in _CLEARS:
            self._clear()
        elif byte >= 0x20 or byte in (9, 10):
            self._draft.append(byte)
        else:
            self._draft_known = False

    def _backspace(self) -> None:
        # Drop one whole UTF-8 character, not one byte.
        while self._draft:
            last = self._draft.pop()
            if last & 0xC0 != 0x80:
                break

    def _submit(self) -> None:
        if self._draft_known and self._draft.strip():
            self._last_prompt = bytes(self._draft)
        elif not self._draft_known:
            self._last_prompt = None
        self._clear()

    def _clear(self) -> None:
        self._draft.clear()
        self._draft_known = True

    @property
    def has_draft(self) -> bool:
        return self._draft_known and bool(self._draft)

    def remember_draft(self) -> None:
        """The child is being stopped: keep the draft as it is now, whatever keys come later."""
        self._draft_at_stop = bytes(self._draft) if self._draft_known else None

    def take_draft(self) -> bytes:
        """The unsent draft, forgotten once taken. When later keys made it unknown, the draft remembered
        at the stop; empty when neither is known."""
        if self._draft_known:
            draft = bytes(self._draft)
        else:
            draft = self._draft_at_stop or b""
        self._draft_at_stop = None
        self._clear()
        return draft

    def last_prompt(self) -> bytes | None:
        """The last submitted prompt, when its text is known exactly."""
        return self._last_prompt

    def __repr__(self) -> str:  # never show what was typed
        return f"InputTracker(last_input_at={self.last_input_at!r}, draft_bytes={len(self._draft)})"
