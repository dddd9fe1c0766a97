"""Text from a student, made safe to show: on the instructor's terminal and in the HTML report.

A file name, a student id or a cell's error text can carry bytes a terminal obeys (ESC sequences
that move the cursor, rewrite earlier lines or set the window title; a carriage return that
overwrites a line) or that a browser reorders (bidi overrides, the "Trojan source" trick).  Each is
shown as its Python escape (``\\x1b``, ``\\u202e``) rather than dropped, so the instructor sees that
something odd was there.  A line of a list (a problem line) also escapes newlines: one submission
can never print a line that reads like another student's.
"""
from __future__ import annotations

import html
import re

# C0 controls but tab and newline, DEL, C1 controls; the bidi embeddings, overrides, isolates and
# marks (Unicode's Bidi_Control set); line and paragraph separators, which some terminals break on.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_IN_A_LINE = re.compile(f"[{_CONTROLS}\n\t]")


def _visible(match: re.Match) -> str:
    return ascii(match.group())[1:-1]  # '\x1b' -> \x1b, '\u202e' -> \u202e, '\n' -> \n


def for_terminal(text: object, *, one_line: bool = False) -> str:
    """``text`` with every control character shown as its escape; ``one_line`` escapes \\n and \\t too."""
    return (_UNSAFE_IN_A_LINE if one_line else _UNSAFE).sub(_visible, str(text))


def for_html(text: object) -> str:
    """``text`` as HTML text (or a quoted attribute value): markup escaped, control characters shown."""
    return html.escape(for_terminal(text, one_line=True))


def visible_controls(markup: str) -> str:
    """Already-safe HTML (markup we produced or nh3 cleaned) with the control characters in its text
    shown as escapes; newlines and tabs stay, since a <pre> needs them."""
    return for_terminal(markup)
