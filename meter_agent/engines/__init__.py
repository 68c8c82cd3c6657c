"""Digit recognisers. Each engine reads a list of cells and returns one guess per cell.

A guess is a character (or None when the engine cannot or will not say) with a
confidence in 0–1. The combined reader (:mod:`meter_agent.reader`) weighs the engines
against each other; no engine on its own decides a reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

GuessKind = Literal["digit", "blank", "other", "unknown"]


@dataclass(frozen=True)
class DigitGuess:
    """One engine's opinion of one cell.

    ``kind`` says why ``char`` is None: "blank" (no ink), "other" (clearly not a digit:
    a letter, a dash, an occluder) or "unknown" (the engine could not decide).
    ``value`` is the continuous drum position 0 ≤ v < 10 when the engine can estimate it
    (7.4 = the 7 turned four tenths toward 8); the reader's carry logic needs it.
    ``dot`` is True when the engine saw a decimal point after this digit (LCDs);
    ``dot_before`` when it saw one at the cell's left edge (the previous digit's point,
    cut into this cell by the split).
    """

    char: str | None
    confidence: float
    kind: GuessKind = "digit"
    value: float | None = None
    dot: bool = False
    dot_before: bool = False
    p_top: float | None = None  # the model's probability of its single best class
    #: the model's distribution over the drum positions 0.0-9.9 (tenths), for drums
    positions: tuple[float, ...] | None = field(default=None, repr=False)
    #: per digit, the least mass any one of the model's networks puts on the drum
    #: standing within that digit's ten tenths (drums): how far the networks agree
    floor_agreement: tuple[float, ...] | None = field(default=None, repr=False)
    #: a reading weaker than the engine's own rules (the segment decoder's thin-stroke
    #: fallback): it may confirm another engine's digit, never stand against one
    confirm_only: bool = False

    def as_tuple(self) -> tuple[str | None, float]:
        return (self.char, round(float(self.confidence), 4))


def unknown(confidence: float = 0.0) -> DigitGuess:
    return DigitGuess(None, confidence, "unknown")
