"""Telling the terminal's replies from the user's keys on stdin.

Codex queries the terminal (cursor position, device attributes, colours, keyboard flags, version,
modes) when it starts and when it exits, and the terminal answers on stdin, between the user's keys.
A reply is not a keystroke: it must not become part of the draft nor count as user activity.

``InputSplitter`` cuts stdin into key runs and replies, whatever the chunking: a sequence cut by a
read boundary is held until the rest arrives (a lone Esc key is let go at the next read once
``ESCAPE_WAIT_S`` has passed). Replies are recognised by shape where no key looks like them
(``CSI ? … c``, ``CSI > … c``, ``CSI 0 n``, ``CSI … $ y``, ``CSI ? … u``, ``CSI ? … R``, OSC and DCS
strings, focus reports). A cursor position report ``CSI row ; col R`` is also what some terminals
send for F3 with modifiers, so it counts as a reply only while the child's own ``CSI 6 n`` is
waiting for its answer (``AskedQueries`` watches the child's output for it).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

# A query not answered within this time is not waited for any more (a terminal that ignores it).
CPR_ANSWER_WAIT_S = 5.0
# A lone ESC at the end of a read is the Esc key when nothing followed it within this time.
ESCAPE_WAIT_S = 0.05

_CPR_QUERY = b"\x1b[6n"
_PASTE_START = b"\x1b[200~"
_PASTE_END = b"\x1b[201~"
# CSI: parameter bytes, intermediate bytes, one final byte.
_CSI = re.compile(rb"\x1b\[([\x30-\x3f]*)([\x20-\x2f]*)([\x40-\x7e])")
_CSI_PREFIX = re.compile(rb"\x1b\[[\x30-\x3f]*[\x20-\x2f]*\Z")
_CPR_REPLY = re.compile(rb"[0-9]+;[0-9]+")
# DCS strings a terminal sends as replies: XTVERSION (>|), DECRQSS (0$r / 1$r), XTGETTCAP (0+r / 1+r).
_DCS_REPLY_LEADS = (b">|", b"0$r", b"1$r", b"0+r", b"1+r", b"!|")
# Longer than this without a terminator: not a reply we wait for.
_MAX_SEQUENCE = 1024


class AskedQueries:
    """Cursor position queries the child sent and the terminal has not answered yet."""

    def __init__(self) -> None:
        self._asked: deque[float] = deque()
        self._tail = b""

    def saw_output(self, data: bytes, at: float) -> None:
        scanned = self._tail + data
        for _ in range(scanned.count(_CPR_QUERY)):
            self._asked.append(at)
        # Keep what could be the start of a query cut by this chunk's end.
        tail = scanned[-(len(_CPR_QUERY) - 1):]
        start = tail.rfind(b"\x1b")
        self._tail = tail[start:] if start != -1 and _CPR_QUERY.startswith(tail[start:]) else b""

    def take_cpr(self, at: float) -> bool:
        """A cursor position report arrived: was one asked for (and is it now answered)?"""
        while self._asked and at - self._asked[0] > CPR_ANSWER_WAIT_S:
            self._asked.popleft()
        if not self._asked:
            return False
        self._asked.popleft()
        return True


@dataclass(frozen=True, slots=True)
class Part:
    """A run of stdin bytes in stream order: the user's keys, or one reply of the terminal."""

    data: bytes
    is_reply: bool
    at: float


class InputSplitter:
    def __init__(self, asked: AskedQueries) -> None:
        self._asked = asked
        self._carry = b""
        self._carry_at = 0.0
        self._in_paste = False

    def feed(self, data: bytes, at: float) -> list[Part]:
        parts: list[Part] = []
        if self._carry and at - self._carry_at >= ESCAPE_WAIT_S and self._carry == b"\x1b":
            parts.append(Part(self._carry, False, self._carry_at))  # the Esc key, pressed alone
            self._carry = b""
        if self._carry:
            data, first_at = self._carry + data, self._carry_at
            self._carry = b""
        else:
            first_at = at
        keys = bytearray()
        i = 0
        while i < len(data):
            if self._in_paste:
                end = data.find(_PASTE_END, i)
                if end == -1:
                    keep = _prefix_tail(data, _PASTE_END, i)
                    keys += data[i:len(data) - len(keep)]
                    self._hold(keep, at)
                    break
                keys += data[i:end + len(_PASTE_END)]
                self._in_paste = False
                i = end + len(_PASTE_END)
                continue
            escape = data.find(b"\x1b", i)
            if escape == -1:
                keys += data[i:]
                break
            keys += data[i:escape]
            size, is_reply = self._sequence(data, escape, at)
            if size == 0:  # cut by the read boundary: wait for the rest
                self._hold(data[escape:], first_at if escape == 0 else at)
                break
            sequence = data[escape:escape + size]
            if is_reply:
                if keys:
                    parts.append(Part(bytes(keys), False, at))
                    keys.clear()
                parts.append(Part(sequence, True, at))
            else:
                keys += sequence
                if sequence == _PASTE_START:
                    self._in_paste = True
            i = escape + size
        if keys:
            parts.append(Part(bytes(keys), False, at))
        return parts

    def _hold(self, data: bytes, at: float) -> None:
        self._carry = data
        self._carry_at = at

    def _sequence(self, data: bytes, i: int, at: float) -> tuple[int, bool]:
        """(length, is a reply) of the escape sequence at ``i``; length 0 when it is cut short."""
        rest = len(data) - i
        if rest == 1:
            return 0, False
        lead = data[i + 1]
        if lead == 0x5B:  # [
            match = _CSI.match(data, i)
            if match is None:
                incomplete = _CSI_PREFIX.match(data, i) is not None and rest <= _MAX_SEQUENCE
                return (0, False) if incomplete else (1, False)
            return match.end() - i, self._csi_is_reply(*match.groups(), at=at)
        if lead == 0x5D:  # ]  OSC: no key starts one
            return _string_end(data, i, rest)
        if lead == 0x50:  # P  DCS, or Alt-Shift-P
            body = data[i + 2:i + 5]
            if any(body.startswith(lead_in) for lead_in in _DCS_REPLY_LEADS):
                return _string_end(data, i, rest)
            if i + 2 + len(body) == len(data) and any(lead_in.startswith(body) for lead_in in _DCS_REPLY_LEADS):
                return 0, False  # too short yet to tell
            return 1, False
        return 1, False  # Alt-key or a lone Esc: the input tracker decides

    def _csi_is_reply(self, params: bytes, intermediates: bytes, final: bytes, at: float) -> bool:
        if intermediates == b"$" and final == b"y":  # DECRQM: mode report (DEC or ANSI form)
            return True
        if final == b"c" and params[:1] in (b"?", b">"):  # DA1 / DA2
            return True
        if final == b"u" and params[:1] == b"?":  # kitty keyboard flags
            return True
        if final == b"n" and params in (b"0", b"3"):  # DSR: terminal OK / malfunction
            return True
        if final in (b"I", b"O") and not params and not intermediates:  # focus in / out reports
            return True
        if final == b"R" and not intermediates:
            if params[:1] == b"?":  # DECXCPR: unambiguous
                return True
            return _CPR_REPLY.fullmatch(params) is not None and self._asked.take_cpr(at)
        return False


def _string_end(data: bytes, i: int, rest: int) -> tuple[int, bool]:
    """An OSC or DCS string ends with BEL or ESC \\."""
    bel = data.find(b"\x07", i + 2)
    st = data.find(b"\x1b\\", i + 2)
    ends = [end + width for end, width in ((bel, 1), (st, 2)) if end != -1]
    if ends:
        return min(ends) - i, True
    if rest <= _MAX_SEQUENCE:
        return 0, False
    return 1, False  # far too long for a reply: let the tracker see it (and give up on the draft)


def _prefix_tail(data: bytes, marker: bytes, start: int) -> bytes:
    """The end of ``data`` (from ``start``) that could be the start of ``marker`` cut by a read."""
    for size in range(min(len(marker) - 1, len(data) - start), 0, -1):
        if marker.startswith(data[-size:]):
            return data[-size:]
    return b""
