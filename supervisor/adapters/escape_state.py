"""Where the child's output stream stands between two reads: at a boundary, or inside a sequence.

A pty read can end anywhere: in the middle of a CSI (``ESC [ 3 8 ; 5``), an OSC title, a DCS or APC
string (kitty graphics), or a multi-byte UTF-8 character. Bytes of codex-fsm's own written there would
become part of Codex's sequence, and the terminal would act on the mixture. ``EscapeState`` follows the
stream byte by byte, the way a VT500-style parser does (the xterm, VTE and ECMA-48 model), so the screen
can hold its own writes until ``at_boundary``.

What it models, because a terminal does:
- ``ESC`` then intermediates (0x20-0x2F) then one final byte (0x30-0x7E); ``ESC N``/``ESC O`` (single
  shifts) take one more character.
- CSI ``ESC [``: parameters and intermediates up to a final byte 0x40-0x7E. C0 controls inside a CSI are
  carried out without ending it (BEL, CR, LF...), so the CSI is still open after them.
- Strings: OSC ``ESC ]`` ends at BEL or ST (``ESC \\``); DCS ``ESC P``, APC ``ESC _``, PM ``ESC ^`` and
  SOS ``ESC X`` end at ST (BEL is part of their payload). An ``ESC`` not followed by ``\\`` ends the
  string and starts a new escape sequence.
- CAN (0x18) and SUB (0x1A) abort whatever sequence is open.
- 8-bit C1 controls (0x9B as CSI and so on) are not acted on: the stream is UTF-8, where those bytes are
  continuation bytes of characters, and a UTF-8 terminal does not take them for controls.
- A UTF-8 character cut by the read is not a boundary either.

It also remembers whether the stream has switched the terminal to the alternate screen (DEC private
modes 1049, 1047, 47, set with ``h`` and reset with ``l``), the one fact about the screen the notices need.
"""

from __future__ import annotations

ESC, BEL, CAN, SUB = 0x1B, 0x07, 0x18, 0x1A
# The escape states; GROUND is the only boundary (UTF-8 aside).
GROUND, ESCAPE, ESCAPE_INTERMEDIATE, SINGLE_SHIFT, CSI, OSC, STRING, STRING_ESCAPE = range(8)
_STRING_OPENERS = {ord("P"), ord("_"), ord("^"), ord("X")}  # DCS, APC, PM, SOS
_ALTERNATE_SCREEN_MODES = {"1049", "1047", "47"}
# A CSI's parameters are short; past this a sequence is not tracked for modes (its end still is).
_MAX_CSI_PARAMS = 64


class EscapeState:
    def __init__(self) -> None:
        self._state = GROUND
        self._utf8_pending = 0  # continuation bytes still owed by the current UTF-8 character
        self._csi = bytearray()  # parameters and intermediates of the open CSI
        self.alternate_screen = False

    @property
    def at_boundary(self) -> bool:
        """Nothing of the stream is open: bytes written now stand on their own."""
        return self._state == GROUND and self._utf8_pending == 0

    def reset(self) -> None:
        """The stream was ended from outside (CAN written after the child died): back at ground."""
        self._state = GROUND
        self._utf8_pending = 0
        self._csi.clear()

    def feed(self, data: bytes) -> None:
        for byte in data:
            self._step(byte)

    def _step(self, byte: int) -> None:
        state = self._state
        if byte in (CAN, SUB):
            self._state, self._utf8_pending = GROUND, 0
            return
        if state == GROUND:
            self._ground(byte)
        elif state == ESCAPE:
            self._escape(byte)
        elif state == ESCAPE_INTERMEDIATE:
            if byte == ESC:
                self._state = ESCAPE
            elif 0x30 <= byte <= 0x7E:
                self._state = GROUND
        elif state == SINGLE_SHIFT:
            self._state = ESCAPE if byte == ESC else (SINGLE_SHIFT if byte < 0x20 else GROUND)
        elif state == CSI:
            self._csi_byte(byte)
        elif state in (OSC, STRING):
            if byte == ESC:
                self._state = STRING_ESCAPE
            elif byte == BEL and state == OSC:
                self._state = GROUND
        else:  # STRING_ESCAPE: ST ends the string; any other byte after ESC starts a new sequence
            if byte == ord("\\"):
                self._state = GROUND
            else:
                self._state = ESCAPE
                self._escape(byte)

    def _ground(self, byte: int) -> None:
        if byte == ESC:
            self._state, self._utf8_pending = ESCAPE, 0
        elif byte >= 0xC0:
            self._utf8_pending = 1 if byte < 0xE0 else 2 if byte < 0xF0 else 3
        elif byte >= 0x80:
            self._utf8_pending = max(0, self._utf8_pending - 1)
        else:
            self._utf8_pending = 0

    def _escape(self, byte: int) -> None:
        if byte == ord("["):
            self._state = CSI
            self._csi.clear()
        elif byte == ord("]"):
            self._state = OSC
        elif byte in _STRING_OPENERS:
            self._state = STRING
        elif byte in (ord("N"), ord("O")):
            self._state = SINGLE_SHIFT
        elif 0x20 <= byte <= 0x2F:
            self._state = ESCAPE_INTERMEDIATE
        elif byte == ESC:
            self._state = ESCAPE
        elif 0x30 <= byte <= 0x7E:
            self._state = GROUND
        # a C0 control after ESC is carried out; the escape stays open

    def _csi_byte(self, byte: int) -> None:
        if byte == ESC:
            self._state = ESCAPE
        elif 0x40 <= byte <= 0x7E:
            self._state = GROUND
            self._csi_final(byte)
        elif 0x20 <= byte <= 0x3F:
            if len(self._csi) < _MAX_CSI_PARAMS:
                self._csi.append(byte)
        # C0 controls inside a CSI are carried out; the CSI stays open

    def _csi_final(self, final: int) -> None:
        params = bytes(self._csi)
        if final not in (ord("h"), ord("l")) or not params.startswith(b"?"):
            return
        modes = params[1:].decode("ascii", "replace").split(";")
        if _ALTERNATE_SCREEN_MODES.intersection(modes):
            self.alternate_screen = final == ord("h")
