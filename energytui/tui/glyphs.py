"""Glyph sets: full Unicode for terminal emulators, and a console set for the Linux
framebuffer console, whose fonts lack eighth blocks, half blocks and braille
(see research/textual.md): there we draw with box lines, full blocks and ASCII.

Console mode also filters every line the app draws (:class:`ConsoleFilter`): borders,
the header, dialogs, the command palette and any text a screen composes pass through
it, so a glyph a screen forgot to choose for the console still reaches the terminal as
a character the console font has, never as the font's replacement diamond.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import get_character_cell_size
from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter


@dataclass(frozen=True)
class Glyphs:
    right: str
    left: str
    up: str
    down: str
    hline: str
    vline: str
    node: str
    full: str
    empty: str
    reserve: str
    sparks: bool  # whether Sparkline's eighth blocks can be shown


UNICODE = Glyphs("►", "◄", "▲", "▼", "─", "│", "●", "█", "░", "┃", True)
CONSOLE = Glyphs(">", "<", "^", "v", "─", "│", "+", "█", "░", "|", False)

#: what the Linux console's fonts draw for sure (research/textual.md): ASCII, the light,
#: heavy and double box lines, the full block and the light shade
BOX_LINES = "─│┌┐└┘├┤┬┴┼━┃┏┓┗┛┣┫┳┻╋═║╔╗╚╝╠╣╦╩╬"
CONSOLE_SAFE = frozenset(chr(c) for c in range(0x20, 0x7F)) | frozenset(BOX_LINES + "█░")

#: one console-safe character for each glyph the app or Textual draws: the same width,
#: so lines keep their layout (:class:`ConsoleFilter` maps cell for cell)
CELL_MAP = {
    # rounded corners: square ones (the console fonts map them so too)
    "╭": "┌",
    "╮": "┐",
    "╰": "└",
    "╯": "┘",
    # eighth and half blocks of tall/wide borders, Sparkline, the Footer's vkey
    "▁": "_",
    "▂": "_",
    "▃": "_",
    "▄": "_",
    "▅": "█",
    "▆": "█",
    "▇": "█",
    "▀": "-",
    "▔": "-",
    "▏": "│",
    "▎": "│",
    "▍": "│",
    "▌": "│",
    "▐": "│",
    "▕": "│",
    "▊": "█",
    "▋": "█",
    "▉": "█",
    "▒": "░",
    "▓": "█",
    "■": "█",
    # arrows and marks
    "←": "<",
    "→": ">",
    "↑": "^",
    "↓": "v",
    "►": ">",
    "◄": "<",
    "▲": "^",
    "▼": "v",
    "▶": ">",
    "◀": "<",
    "●": "*",
    "•": "*",
    "·": "-",
    "≡": "=",
    "⏎": "J",
    "…": ".",
    "—": "-",
    "–": "-",
    "−": "-",
    "×": "x",
    "Δ": "d",
    "°": "o",
    "±": "~",
    "≥": ">",
    "≤": "<",
    "✔": "v",
    "✓": "v",
    "✘": "x",
    "✗": "x",
    "⌫": "<",
    "\u00a0": " ",
}
_CELL_TABLE = str.maketrans(CELL_MAP)

#: where the console has room for more than one cell (text the app lays out itself, such
#: as the footer's key names): words rather than a lookalike character
WORD_MAP = {
    **CELL_MAP,
    "…": "...",
    "⏎": "enter",
    "←": "left",
    "→": "right",
    "↑": "up",
    "↓": "down",
    "·": "-",
    "°": " deg",
    "Δ": "diff",
    "⌫": "bksp",
}
_WORD_TABLE = str.maketrans(WORD_MAP)


#: wide characters (two cells) and what stands in for them in two cells
WIDE_MAP = {"🔎": "> "}  # the command palette's search icon


def _stand_in(ch: str) -> str:
    if ch in CONSOLE_SAFE or ch == "\n":
        return ch
    if get_character_cell_size(ch) == 2:
        return WIDE_MAP.get(ch, "??")
    return "?"


def console_cells(text: str) -> str:
    """``text`` with every character the console lacks replaced, cell for cell ("?" for
    one with no lookalike)."""
    text = text.translate(_CELL_TABLE)
    if all(ch in CONSOLE_SAFE or ch == "\n" for ch in text):
        return text
    return "".join(_stand_in(ch) for ch in text)


def console_words(text: str) -> str:
    """``text`` for the console where its length may change ("⏎" becomes "enter")."""
    return console_cells(text.translate(_WORD_TABLE))


class ConsoleFilter(LineFilter):
    """Maps every character drawn to one the Linux console's fonts have."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        out = []
        for seg in segments:
            text = seg.text
            if text.isascii() or seg.control:
                out.append(seg)
            else:
                out.append(Segment(console_cells(text), seg.style, seg.control))
        return out
