"""The combined meter reader: engines vote per digit, frames of a burst vote per digit,
drum carries are resolved from the drum positions, and the checks have the last word.

Design rule: never guess silently. Every step that cannot decide produces None for the
digit (and so a rejection with a reason) rather than a plausible-looking number:

* per digit, the engines' opinions are weighed (trained model 1.0, seven-segment decoder
  0.9 on LCDs, Tesseract 0.4); disagreement lowers the confidence, a near-tie is None;
* Tesseract is only asked about drum cells the other engines are not sure of (its
  process start costs ~70 ms, it is the weakest voter, and on LCD digits it is more
  often wrong than right);
* drum digits caught mid-roll are resolved right to left as on an odometer: a drum shows
  its lower digit until the drum below it has rolled past 0 (AI-on-the-edge's carry
  logic); a position that stays ambiguous is None;
* across a burst of frames the per-digit results must agree;
* then :mod:`meter_agent.checks` (screens, confidence, monotonic, maximum increase).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from meter_agent import checks
from meter_agent.align import Alignment, CameraMovedError, Reference
from meter_agent.checks import LastGood, Rejection
from meter_agent.config import AgentConfig, CalibrationConfig, OcrConfig
from meter_agent.engines import DigitGuess
from meter_agent.engines.digits import DigitsEngine, ModelRead
from meter_agent.engines.seven_segment import SevenSegmentEngine
from meter_agent.engines.tesseract import TesseractEngine
from meter_agent.engines.tesseract import accuracy as tesseract_accuracy
from meter_agent.engines.tesseract import available as tesseract_available
from meter_agent.references import ReferenceBank, examples_share
from meter_agent.schema import iso_z
from meter_agent.slant import MIN_CELLS, row_slant, shear
from meter_agent.vision import (
    Cell,
    DigitRowError,
    ImageError,
    Window,
    equalised,
    preview_images,
    process_window,
    to_bgr,
)
from meter_agent.vision import process_for_preview as _preview

WEIGHTS = {"cnn": 1.0, "seven_segment": 0.9, "tesseract": 0.4, "refs": 0.9}
#: engines whose agreement confirms a digit the model alone is not CLEAN-sure of (the
#: meter's own learnt digits, see meter_agent.references; Tesseract)
CONFIRMERS = frozenset({"tesseract", "refs"})
#: a cell is learnt as an example of its digit only when the model sits this close to it
#: (a drum not turning)
LEARN_SETTLED = 0.05
#: a cell the model and decoder agree on at least this confidently skips Tesseract
SURE = 0.97
#: the model's top class at least this likely = a settled (not rolling) drum
CLEAN = 0.95
#: the seven-segment decoder's "not a digit" at least this sure makes the cell "other" …
SEG_VETO = 0.7
#: … unless the digit model is at least this sure of a digit. Glare spoils segments, and
#: on real LCD photos the decoder finds no clean segment pattern in most cells (dot-matrix
#: and thin italic digits; 2 of 3 held-out LCD crops), so there the model decides alone.
#: Lower than CLEAN because nothing on an LCD rolls: CLEAN separates a settled drum from
#: one nearly turned, a question an LCD digit never raises. On the clean held-out crops
#: (both splits, all kinds) the model was never wrong at p >= 0.8.
MODEL_OVERRIDES_VETO = 0.85
#: a drum cell the vision calls blank (faint) is read when the model is as sure as it must
#: be to decide alone. Held-out makers (4 December): clean water 68.4 → 74.4 %, rolling
#: 35.6 → 42.3 %, 0 wrong; at 0.8 a faint 4.9 was read as 5 at 0.81
FAINT_DRUM_SURE = MODEL_OVERRIDES_VETO
#: … and a faint last drum while it turns at least this sure. Its raw cell is read (not
#: equalised, see :meth:`MeterReader._faint_equalised`) and no drum below carries a check
#: on it, so the model's probability is the reading's whole confidence; the held-out
#: models trained on 5 December (14 and 24 epochs, three draws) each accepted one faint
#: water drum wrong at 0.86 (a blurred 3.9 read as 2.2, a 4.9 read as 5). Set above
#: those: fitted to them, so no measure apart from them says it is enough
FAINT_LAST_DRUM_SURE = 0.9
#: a lone last drum (a crop, a window of fewer than LINE_CELLS: no other drums of the
#: meter beside it) the model alone reads must be this sure when no history rules digits
#: out: one between two digits, or past its digit. What the faint last drum showed first
#: holds for every lone drum: unseen meter types are confused *confidently*. A held-out
#: model trained without another draw of meter types read a flat-topped 3, nearly turned,
#: as 5 at 0.83-0.87 and red 8s turning to 9 as 6.5 at 0.81-0.87 (7 of its 8 wrong lone
#: drums), each near the class it was read as, so no distance from the training crops
#: tells them. The faint last drum's bar, chosen on that draw and measured on another kept
#: for it (docs/meter-reading.md, "Other unseen meters"). In a window the reader's own
#: bar stays: the frame bench's turning last drums in unseen faces were never read wrong
#: at 0.8-0.9, and this bar there cost 8 right frames of 720 (calibrated, nine seeds)
LAST_DRUM_ALONE_SURE = FAINT_LAST_DRUM_SURE
#: the fewest cells a window needs for the drums' line (:func:`last_drum_offset`)
LINE_CELLS = 3
#: an LCD digit never sits between two: a cell the model places farther than this (a tenth,
#: the position model's resolution) from
#: a digit is a turning drum (display detection)
LCD_SETTLED = 0.1
#: a cell the model places this far from any digit is a drum turning: the frame is drums
LCD_TURNING = 0.25
#: a settled-looking last drum whose digit sits this far (share of the cell height)
#: off the other drums' line is turning (0.9 turned ≈ 0.08 low on the synthetic drums,
#: 0.94 ≈ 0.03, settled ≤ 0.01)
LAST_DRUM_OFFSET = 0.02
#: a blob this wide (share of the cell width) and WIDER_THAN_FIGURES times as wide as
#: the widest figure measured in the other cells is a drum's face, not its figure
FACE_WIDTH = 0.7
WIDER_THAN_FIGURES = 1.3
#: a last drum whose digit sits this far under the other drums' line is surely turning
#: (three times the most a settled drum is seen off it): its settled positions are ruled out
SURELY_LOW = 3 * LAST_DRUM_OFFSET
#: a drum's digit stands centred in its cell: a blob whose middle is further than this
#: (share of the cell width) from the cell's middle is something else
CENTRED_DIGIT = 0.25
#: a last drum within this much under the next digit is either nearly turned or that
#: digit settled and placed a hair low (labels to a tenth, framing of unseen makers):
#: the model cannot tell them apart there, the drums' line can
NEAR_NEXT = 0.15
#: a higher drum, its carry taken off, stands from this many tenths under its digit …
#: (the labels' and the model's error); anywhere else it is turning with no carry to
#: explain it
SETTLED_TENTHS = 1
#: … to this many past it: a drum past a digit still shows that digit (an odometer reads
#: the digit a drum leaves until the next is in place), and unseen makers' settled drums
#: were placed up to two tenths past theirs (a clean 3 of a held-out maker at 3.08 with
#: a quarter of its mass at 3.2, refused with a band of one tenth)
SETTLED_PAST = 2
#: a last drum within this much of a digit looks settled
SETTLED_BAND = 0.1
#: half the labels' resolution: a lone last drum placed this far past a digit is not one
#: still turning in to it (a drum labelled 8.9 stands at most this far under 9)
HALF_TENTH = 0.05
#: a last drum read at least this far past its digit stands between two digits (the
#: model places settled drums of unseen makers up to two tenths past theirs): the meter's
#: last drum rolls, and where it stood limits how far the next reading may have turned
#: it (see :func:`meter_agent.checks.history_checks`). A counter that jumps a whole
#: digit at a time (an impulse counter, the synthetic demo meter) never stands there,
#: and keeps the rise limit's step of slack
ROLLS = 0.25
#: far under the drums' line, a last drum the model places at a digit is read as the digit
#: below (turning in) when the model gives that digit at least this share of the mass it
#: gives the digit settled: at a digit the model cannot tell the two sides apart (on the
#: frame bench's unseen faces it split nearly turned drums 0.4-0.5 / 0.5-0.6 between
#: them), the line can; the model must only not rule the turning side out
TURNING_ODDS = 0.5
#: the confidence a reading gets when it cannot be decided: under any sane threshold
AMBIGUOUS = 0.5
#: each of the model's networks must put at least this much on a turning last drum's
#: digit (lean to it) for the reading to stand
MEMBERS_AGREE = 0.5
#: Tesseract reading another digit than a model at least this sure is outvoted: where the
#: model was this sure, Tesseract's other digit was never the right one (0 of 27: the
#: held-out makers' clean drums, the frame bench's drums on seeds 13, 7, 21 and 5), where
#: it was less sure Tesseract was right in 5 of 8 (oblique 1s the model took for 7s)
TESSERACT_OUTVOTED = 0.8
#: a row found in a frame aligned to the reference is only part of the reference's row
#: when narrower than it by more than this share (the alignment fixes the scale; a row
#: found as tight is 0.2 of a pitch, 3 % of 7 digits, wider than one found in a loose
#: window)
ROW_WIDTH = 0.15
#: Tesseract calls per frame at most (one process start each, ~70 ms)
MAX_TESSERACT_CELLS = 2


@dataclass
class ReadResult:
    """One reading (a burst of frames) and its verdict."""

    ts: datetime
    digits: str | None
    reading_kwh: float | None
    confidence: float
    accepted: bool
    reason: Rejection | None
    method: str
    per_digit: list[tuple[str | None, float]] = field(default_factory=list)
    display: str | None = None
    frames: int = 0
    #: how far the last drum had turned past the last digit (0 to 1), read from drums
    turned: float | None = None

    def to_json(self, file: str | None = None) -> dict:
        """The one-shot contract keys first (file, digits, reading_kwh, confidence,
        accepted, reason), then extras."""
        out: dict = {}
        if file is not None:
            out["file"] = file
        out.update(
            {
                "digits": self.digits,
                "reading_kwh": self.reading_kwh,
                "confidence": round(float(self.confidence), 4),
                "accepted": self.accepted,
                "reason": None if self.reason is None else self.reason.to_wire(),
                "timestamp": iso_z(self.ts),
                "method": self.method,
                "display": self.display,
                "per_digit": [[c, round(float(p), 4)] for c, p in self.per_digit],
            }
        )
        return out


@dataclass
class ReaderState:
    """What must survive a restart: the last accepted reading and the rejection counts."""

    last_digits: str | None = None
    last_kwh: float | None = None
    last_ts: datetime | None = None
    last_confidence: float = 0.0
    rejected_counts: dict[str, int] = field(default_factory=dict)
    #: how far the last reading's last drum had turned (see ReadResult.turned)
    last_turned: float | None = None
    #: the meter's last drum has been read between two digits (see ROLLS)
    drum_rolls: bool = False

    def to_dict(self) -> dict:
        return {
            "last_digits": self.last_digits,
            "last_kwh": self.last_kwh,
            "last_ts": None if self.last_ts is None else iso_z(self.last_ts),
            "last_confidence": self.last_confidence,
            "last_turned": self.last_turned,
            "drum_rolls": self.drum_rolls,
            "rejected_counts": dict(self.rejected_counts),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ReaderState:
        """Rebuild from :meth:`to_dict`; a damaged record gives a one-sentence ValueError."""
        try:
            ts = data.get("last_ts")
            last_ts = None if ts is None else datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
            if last_ts is not None and last_ts.tzinfo is None:
                last_ts = last_ts.replace(tzinfo=UTC)
            digits = data.get("last_digits")
            if digits is not None and not str(digits).isdigit():
                raise ValueError("last_digits must be a string of digits")
            kwh = data.get("last_kwh")
            turned = data.get("last_turned")  # absent in states saved before it was kept
            if turned is not None and not 0.0 <= float(turned) < 1.0:
                raise ValueError("last_turned must be at least 0 and under 1")
            return cls(
                last_digits=None if digits is None else str(digits),
                last_kwh=None if kwh is None else float(kwh),
                last_ts=last_ts,
                last_confidence=float(data.get("last_confidence", 0.0)),
                last_turned=None if turned is None else float(turned),
                drum_rolls=bool(data.get("drum_rolls", False)),
                rejected_counts={
                    str(k): int(v) for k, v in dict(data.get("rejected_counts", {})).items()
                },
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"the saved reader state is damaged: {exc}.") from None


@dataclass
class CellResult:
    """The combined opinion on one cell of one frame."""

    char: str | None
    confidence: float
    kind: str  # digit | blank | other | disagree | unknown
    value: float | None = None
    dot: bool = False
    methods: tuple[str, ...] = ()
    dot_before: bool = False
    p_top: float | None = None
    #: the model's drum position distribution (100 tenths), when it read the cell
    positions: tuple[float, ...] | None = field(default=None, repr=False)
    #: per digit, the least mass one of the model's networks puts on that digit's ten
    #: tenths (see :meth:`meter_agent.engines.digits.DigitModel.read_all`)
    floor_agreement: tuple[float, ...] | None = field(default=None, repr=False)
    #: the share of the model's doubt that the engines confirming its digit take away
    #: (see :func:`_confirmed`); none when no engine confirms it
    confirm_share: float = 0.0


def learnable(g: DigitGuess, digit: str) -> bool:
    """A cell may be kept as an example of ``digit`` (:mod:`meter_agent.references`):
    the model reads that digit there, and the drum stands on it (a turning drum looks
    like neither of its digits)."""
    return (
        g.char == digit and g.value is not None and abs(g.value - round(g.value)) <= LEARN_SETTLED
    )


def combine_cell(guesses: dict[str, DigitGuess], blank: bool) -> CellResult:
    """Weighted vote of the engines on one cell."""
    if blank:
        return CellResult(None, 0.9, "blank")
    dot = any(g.dot for g in guesses.values())
    dot_before = any(g.dot_before for g in guesses.values())
    cnn = guesses.get("cnn")
    seg = guesses.get("seven_segment")
    if cnn is not None and cnn.kind == "other":
        return CellResult(None, cnn.confidence, "other", dot=dot, dot_before=dot_before)
    cap = 1.0
    tess = guesses.get("tesseract")
    if (
        cnn is not None
        and cnn.char is not None
        and tess is not None
        and tess.char != cnn.char
        and cnn.confidence >= TESSERACT_OUTVOTED
    ):
        # Tesseract confirms a sure model's digit; its dissent counts only where the
        # model doubts (its mistakes fall on the digits the model's doubt points to)
        guesses = {k: g for k, g in guesses.items() if k != "tesseract"}
    if seg is not None and seg.confirm_only and (cnn is None or seg.char != cnn.char):
        # a weak segment reading (thin strokes) may confirm the model, never gainsay it
        guesses = {k: g for k, g in guesses.items() if k != "seven_segment"}
        seg = None
    if seg is not None and seg.kind in ("other", "blank") and seg.confidence >= SEG_VETO:
        if cnn is None or cnn.char is None or cnn.confidence < MODEL_OVERRIDES_VETO:
            kind = "other" if seg.kind == "other" else "blank"
            return CellResult(None, seg.confidence, kind, dot=dot, dot_before=dot_before)
        # a segment pattern spoilt by glare or a loose crop, against a very sure model:
        # the decoder abstains, and the cell can only pass if nothing else objects
        guesses = {k: g for k, g in guesses.items() if k != "seven_segment"}
        cap = 0.9
    support: dict[str, float] = {}
    voters: dict[str, list[tuple[str, float]]] = {}
    for name, g in guesses.items():
        if g.char is None:
            continue
        c = WEIGHTS.get(name, 0.5) * g.confidence
        support[g.char] = support.get(g.char, 0.0) + c
        voters.setdefault(g.char, []).append((name, c))
    if not support:
        return CellResult(None, 0.0, "unknown", dot=dot, dot_before=dot_before)
    ranked = sorted(support.items(), key=lambda kv: kv[1], reverse=True)
    win, s_win = ranked[0]
    against = sum(v for _, v in ranked[1:])
    if against >= 0.6 * s_win:
        return CellResult(
            None, s_win / (s_win + against), "disagree", dot=dot, dot_before=dot_before
        )
    miss = 1.0
    for _, c in voters[win]:
        miss *= 1.0 - min(c, 0.999)
    conf = min(cap, (1.0 - miss) * (s_win / (s_win + against)))
    confirmed_by_refs = any(n == "refs" for n, _ in voters[win])
    if seg is not None and seg.char != win and cap == 1.0 and not confirmed_by_refs:
        # an LCD digit the segment decoder has no opinion on (dot-matrix, thin italic,
        # fourteen-segment faces): the model's calibrated probability decides alone,
        # capped like an overridden veto so that nothing else may doubt it
        conf = min(conf, 0.9)
    value = cnn.value if (cnn is not None and cnn.char is not None) else float(win)
    p_top = cnn.p_top if cnn is not None else None
    shares = [
        tesseract_accuracy(guesses[n].confidence) if n == "tesseract" else examples_share()
        for n, _ in voters[win]
        if n in CONFIRMERS
    ]
    return CellResult(
        win,
        conf,
        "digit",
        value=value,
        dot=dot,
        methods=tuple(n for n, _ in voters[win]),
        dot_before=dot_before,
        p_top=p_top,
        positions=cnn.positions if cnn is not None and cnn.char is not None else None,
        floor_agreement=(cnn.floor_agreement if cnn is not None and cnn.char is not None else None),
        confirm_share=max(shares, default=0.0),
    )


def ink_centre(binary: np.ndarray) -> float | None:
    """Vertical centre of a drum's digit, as a share of the cell height (see
    :func:`ink_box`)."""
    box = ink_box(binary)
    return None if box is None else box[0]


def ink_box(binary: np.ndarray) -> tuple[float, float] | None:
    """Vertical centre and width of a drum's digit, as shares of the cell's height and
    width.

    The digit is the smallest blob, in either polarity of the thresholded cell, that is
    digit-sized (a quarter to most of the cell high) and clear of the cell's edges (the
    housing and the sliver of a digit leaving or arriving at the window touch an edge);
    the drum face around the digit is larger. Either polarity, because one window can
    hold light drums with dark digits and a dark last drum with light ones (the
    threshold picks one side for all).
    """
    if binary is None or binary.size == 0:
        return None
    h, w = binary.shape[:2]
    best: tuple[int, float, float] | None = None
    for img in (binary, cv2.bitwise_not(binary)):
        n, _, st, _ = cv2.connectedComponentsWithStats(img, connectivity=8)
        for x, y, bw, bh, _area in st[1:]:
            if x <= 0 or y <= 0 or x + bw >= w or y + bh >= h:
                continue
            if not (0.25 * h <= bh <= 0.85 * h and 0.05 * w <= bw <= 0.85 * w):
                continue
            if abs((x + bw / 2) / w - 0.5) > CENTRED_DIGIT:
                # a sliver of the window's frame or a neighbour's face at the cell's
                # side, not the digit (cells are cut around their digits)
                continue
            # the smallest such blob: the digit inside its drum face (or, in a 0, the
            # counter, which shares its centre)
            if best is None or bw * bh < best[0]:
                best = (int(bw * bh), (y + bh / 2) / h, bw / w)
    if best is None:
        best = _pieces_box(binary)
    return None if best is None else (best[1], best[2])


def _pieces_box(binary: np.ndarray) -> tuple[int, float, float] | None:
    """A digit drawn in pieces (segments, a stencil face): the box around the pieces
    clear of the cell's edges, when that box is digit-sized; the smaller such box of the
    two polarities (the other one's pieces are the background's scraps)."""
    h, w = binary.shape[:2]
    best: tuple[int, float, float] | None = None
    for img in (binary, cv2.bitwise_not(binary)):
        n, _, st, _ = cv2.connectedComponentsWithStats(img, connectivity=8)
        boxes = [
            (x, y, x + bw, y + bh)
            for x, y, bw, bh, area in st[1:]
            if x > 0
            and y > 0
            and x + bw < w
            and y + bh < h
            and bh >= 0.08 * h
            and area < 0.5 * h * w
        ]
        if len(boxes) < 2:
            continue
        y0, y1 = min(b[1] for b in boxes), max(b[3] for b in boxes)
        x0, x1 = min(b[0] for b in boxes), max(b[2] for b in boxes)
        bh, bw = y1 - y0, x1 - x0
        digit_sized = 0.25 * h <= bh <= 0.85 * h and 0.05 * w <= bw <= 0.85 * w
        if digit_sized and (best is None or bw * bh < best[0]):
            best = (int(bw * bh), (y0 + bh / 2) / h, bw / w)
    return best


def own_binary(gray: np.ndarray) -> np.ndarray:
    """A cell thresholded on its own (ink = 255): its slow shading (a drum's curvature,
    a face darker than its neighbours') taken off, then Otsu's level of this cell alone."""
    g = gray.astype(np.float32)
    flat = g - cv2.GaussianBlur(g, (0, 0), max(1.0, g.shape[0] / 4))
    norm = cv2.normalize(flat, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    _, out = cv2.threshold(norm, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return out


def carry_free(values: list[float | None]) -> list[bool]:
    """Which drums above the last can draw the drums' line (``values``: the model's
    positions, the last drum's included). A last drum near 9 or 0 may be in its 9 → 0
    roll, and a carry turns the run of 9s above it and the drum above that run with it:
    they stand off the line together with the last drum, and would pull the line to it
    (a drum 0.88 of the way from 9 with two 9s carried read level with them; one 0.14
    past 9 with two drums carried read under the line). Those drums are left out;
    otherwise every drum counts."""
    free = [True] * (len(values) - 1)
    last = values[-1] if values else None
    if last is None or (last - (9.0 - NEAR_NEXT)) % 10.0 >= 1.0 + NEAR_NEXT + SETTLED_BAND:
        return free
    for i in range(len(values) - 2, -1, -1):
        v = values[i]
        free[i] = False  # in the run of 9s, or (the first other) the drum it carries into
        if v is None or round(v) % 10 not in (9, 0):
            break
    return free


def last_drum_offset(cells: list[Cell], use: list[bool] | None = None) -> float | None:
    """How far the last drum's digit sits below (+) or above (−) the other drums' digits,
    as a share of the cell height; None without at least two other drums to compare.
    ``use`` says which of the other drums draw the line when two or more of them can
    (see :func:`carry_free`)."""
    if len(cells) < LINE_CELLS:
        return None
    images = [c.binary for c in cells]
    last_box = ink_box(images[-1])
    if last_box is None:
        # the last drum's digit is lost in the window's threshold (a red or shaded last
        # drum of the frame's grey merges with its figure): every cell thresholded on
        # its own, so the line and the last drum are measured alike
        images = [own_binary(c.gray) for c in cells]
        last_box = ink_box(images[-1])
    boxes = [(i, ink_box(images[i])) for i, c in enumerate(cells[:-1]) if not c.blank]
    found = [(i, box) for i, box in boxes if box is not None]
    pts = [(i, box[0]) for i, box in found]
    if use is not None and sum(use[i] for i, _ in pts) >= 2:
        # the drums clear of a carry; with fewer than two of them, all the drums, as the
        # best there is (the model must still lean to the digit the line picks)
        pts = [(i, y) for i, y in pts if use[i]]
    if last_box is None or len(pts) < 2:
        return None
    last, last_width = last_box
    if last_width >= FACE_WIDTH and last_width > WIDER_THAN_FIGURES * max(
        box[1] for _, box in found
    ):
        # what was measured in the last cell is its drum face, not a figure: a drum
        # nearly turned pushes its figure onto the face's edge, where it joins the
        # frame around the face (DejaVu Sans ExtraLight 058171, 0.92 turned, measured
        # level with the line by its face, read 058172). Faces do not move: no line
        return None
    xs = np.array([i for i, _ in pts], np.float64)
    ys = np.array([y for _, y in pts], np.float64)
    if len(pts) >= 3:
        # the drums' line, so a camera a little off level is not mistaken for a roll;
        # fitted robustly: the one farthest off the first fit is dropped
        a, b = np.polyfit(xs, ys, 1)
        keep = np.abs(ys - (a * xs + b)) < np.abs(ys - (a * xs + b)).max()
        if keep.sum() >= 3:
            a, b = np.polyfit(xs[keep], ys[keep], 1)
        expected = a * (len(cells) - 1) + b
    else:
        expected = float(np.median(ys))
    return float(last - expected)


def row_bias(cells: list[CellResult], last_rolls: bool = True) -> float:
    """How far the model places this row's settled higher drums off their digits, in
    whole tenths (negative: under them): a window cut a little high or low moves every
    drum alike. From the higher drums clear of a carry (:func:`carry_free`) within 0.3
    of a digit, at least two of them, all within a tenth of each other; 0 when there
    are fewer, when they disagree, or when the median is under a tenth (the model's own
    scatter). The last drum is left out: it turns, and the drums' line places it."""
    if not last_rolls or len(cells) < 3:
        return 0.0
    values = [c.value if c.positions is not None else None for c in cells]
    free = carry_free(values)
    offs = []
    for i in range(len(cells) - 1):
        v = values[i]
        if v is None or not free[i]:
            continue
        off = v % 10.0 - round(v % 10.0)
        if abs(off) <= 0.3:
            offs.append(off)
    if len(offs) < 2:
        return 0.0
    if max(offs) - min(offs) > 0.1 + 1e-9:
        return 0.0
    b = float(np.median(offs))
    return round(b * 10) / 10 if abs(b) >= 0.1 else 0.0


def _digit_mass(positions: tuple[float, ...], shift: float, floor: bool) -> np.ndarray:
    """Each digit's probability from a position distribution moved down by ``shift``
    steps: the ten tenths of each digit (``floor``, the last drum), or the tenths within
    SETTLED_TENTHS under it to SETTLED_PAST past it (a drum that must stand on its digit
    once the carry is taken off: a higher drum never rests between two digits)."""
    q = np.asarray(positions, np.float64)
    k = int(round(shift * 10))
    if k:
        q = np.roll(q, -k)  # position b/10 - shift
    if floor:
        return q.reshape(10, 10).sum(axis=1)
    return np.sum([np.roll(q, -j)[::10] for j in range(-SETTLED_TENTHS, SETTLED_PAST + 1)], axis=0)


def _turning_masses(positions: tuple[float, ...]) -> np.ndarray:
    """Each digit's probability given that the drum is not settled: its mass on its
    turning tenths (.2 to .9) over the mass on every digit's."""
    turning = np.asarray(positions, np.float64).reshape(10, -1)[:, 2:].sum(axis=1)
    total = float(turning.sum())
    return turning / total if total > 1e-9 else np.zeros(10)


def _leans_turning(positions: tuple[float, ...], mass: np.ndarray, digit: int) -> bool:
    """The model does not rule out ``digit`` turned: it leans to it (half its mass on
    the digit's ten tenths), or splits the drum between it turned and the next digit
    settled (its .0 and .1) with at least TURNING_ODDS as much on the turning side."""
    if mass[digit] >= 0.5:
        return True
    q = np.asarray(positions, np.float64)
    settled_next = float(q[((digit + 1) * 10 + np.arange(2)) % len(q)].sum())
    return bool(mass[digit] >= TURNING_ODDS * settled_next)


def _given_history(
    mass: np.ndarray, digit: int, possible: frozenset[int] | None, *, first: bool = True
) -> float:
    """The model's probability for ``digit`` once the digits the history rules out (see
    :func:`meter_agent.checks.possible_digits`) are ruled out: its mass over the mass
    left, where what is on no digit at all (a higher drum between two, "not a digit")
    stays doubt. Only for the model's own first choice (``first``): the history takes
    doubt away from the digit the model reads, it never picks another one."""
    p = float(mass[digit])
    if possible is None or len(possible) >= 10 or digit not in possible:
        return p
    if first and int(np.argmax(mass[:10])) != digit:
        return p
    left = 1.0 - float(sum(mass[d] for d in range(10) if d not in possible))
    return min(1.0, p / left) if left > 1e-9 else p


def _confirmed(c: CellResult, digit: int, p: float) -> float:
    """The model's probability for the digit read, raised when another engine (the
    meter's own learnt digits, Tesseract) voted for that same digit — a share of the
    doubt left is taken away: as much as Tesseract is right at the confidence it gave
    (:func:`meter_agent.engines.tesseract.accuracy`), as much as the model's digit was
    right when the examples agreed with it (:func:`meter_agent.references.examples_share`),
    both measured — but never when the model leans elsewhere (p < 0.5): other engines
    confirm the model, they never overrule it."""
    if p >= 0.5 and c.char == str(digit) and CONFIRMERS & set(c.methods):
        return p + (1.0 - p) * c.confirm_share
    return p


def resolve_drums(
    cells: list[CellResult],
    *,
    last_rolls: bool = True,
    last_offset: float | None = None,
    possible: list[frozenset[int]] | None = None,
) -> list[CellResult]:
    """Read a drum counter right to left from the model's drum positions, as it turns.

    The last drum reads as its **lower digit** until the next digit is in place (a drum
    between 4 and 5 is 4, and 8.9 is still 8): its confidence is the model's calibrated
    probability that the drum stands within that digit's ten tenths. Near a digit (from
    NEAR_NEXT under it to SETTLED_BAND past it) a drum nearly turned and one at rest look
    alike, and ``last_offset`` decides with the model (how far the last drum's digit sits
    under the other drums' line, see :func:`last_drum_offset`): under the line the digit
    below, level with it or above it (passed: the drum scrolls upward) the digit; with
    no line the drum is refused. A lone last drum (fewer than LINE_CELLS cells, so no
    drum beside it) with no history, read between two digits or past its digit, rests
    on the model alone and needs LAST_DRUM_ALONE_SURE.

    A higher drum turns only while the drum below it rolls from 9 to 0 (an odometer's
    carry): its position, less how far the drum below is into that roll, must stand
    on a digit (SETTLED_TENTHS under it to SETTLED_PAST past it), and the confidence is
    the model's probability of it. A drum whose lower neighbour is unreadable is read
    with no carry: one caught mid-carry then stands between two digits and is refused.

    ``last_rolls=False`` reads the last cell like a higher drum whose lower neighbour is
    unknown: for a single settled digit (a crop of a drum that is not the meter's
    turning last drum).

    ``possible``: per drum, the digits the last accepted reading and the time since allow
    (:func:`meter_agent.checks.possible_digits`). The model's mass on the others is
    ruled out for a higher drum and a last drum between two digits (a reading showing
    them would be refused by the history checks anyway); a last drum near a digit is
    left to the drums' line.
    """
    out = list(cells)
    bias = row_bias(cells, last_rolls)
    #: how far the drum below is into its 9 → 0 roll (0 when unreadable: no carry)
    lower = 0.0
    last = len(cells) - 1
    for i in range(last, -1, -1):
        c = cells[i]
        if c.char is None or c.value is None:
            lower = 0.0
            continue
        v = c.value % 10.0
        if c.positions is None:
            # no model opinion (the model is off): the engines' digit, settled
            out[i] = replace(c, value=float(c.char))
            lower = 0.0
            continue
        held = None if possible is None else possible[i]
        if i == last and last_rolls:
            # read on the model's mass alone past its digit, with no line (below); that
            # or a drum between two digits is barred for a lone drum with no history
            # (see LAST_DRUM_ALONE_SURE)
            past_no_line = False
            mass = _digit_mass(c.positions, 0.0, floor=True)
            digit = int(np.argmax(mass))
            conf = _confirmed(c, digit, float(mass[digit]))
            near = round(v)
            off = v - near  # signed distance to the nearest digit
            low = last_offset is not None and last_offset >= LAST_DRUM_OFFSET
            level = last_offset is not None and abs(last_offset) < LAST_DRUM_OFFSET
            # above the line: passed, or settled and measured a little high; a drum
            # still turning in stands under it, so the line's noise above the line is
            # no doubt between the two readings (an ExtraLight settled 9 measured 0.039
            # above was refused). Not near a 0: a drum finishing its 9 → 0 roll carries
            # the 9s above it, which stand low and pull the line down with them
            above = last_offset is not None and last_offset <= -LAST_DRUM_OFFSET and near % 10 != 0
            if -NEAR_NEXT < off < SETTLED_BAND:
                # near a digit: 8.9 turned and a settled 9 look alike (labels to a tenth,
                # unseen makers framed a hair off), and the model is often sure of either.
                # Only the drums' line tells them apart: under the other drums' line it
                # is the digit below, still turning in (its ten tenths' mass); level
                # with them it is settled on the nearest digit; alone, or anywhere
                # else, it is refused. Unless the history allows only one of the two:
                # the last reading was already on the digit (the drum has passed it), or
                # the digit would be a rise too fast (the drum has not reached it). The
                # model placed the drum at this boundary; the history says which side,
                # and the drums' line may only agree
                either = {(near - 1) % 10, near % 10}
                told = either if held is None else either & held
                said = (near - 1) % 10 if low else near % 10 if (level or above) else None
                if len(told) == 1:
                    digit = next(iter(told))
                    if said in (None, digit):
                        p = _given_history(mass, digit, held, first=False)
                        conf = _confirmed(c, digit, p)
                    else:
                        conf = min(conf, AMBIGUOUS)
                elif low:
                    digit = (near - 1) % 10
                    conf = _confirmed(c, digit, float(mass[digit]))
                elif level or above:
                    # settled, or (above the line) turned a little past the digit:
                    # the drum scrolls upward, so a figure above its rest has been
                    # passed and is the reading. The model's mass from a tenth under
                    # the digit (the labels' and the framing's error) to just under
                    # half a step past
                    digit = near % 10
                    q = np.asarray(c.positions)
                    b = (digit * 10 + np.arange(-1, 5)) % len(q)
                    conf = _confirmed(c, digit, float(q[b].sum()))
                elif (
                    last_offset is None
                    and off >= HALF_TENTH
                    and digit == near % 10
                    and (c.floor_agreement is None or c.floor_agreement[digit] >= MEMBERS_AGREE)
                ):
                    # alone (no line), placed more than half a tenth past its digit: the
                    # drum shows that digit whether it is settled or turning out of it.
                    # Still turning in, it would stand under the digit: the labels are
                    # rounded to a tenth, so a drum labelled 8.9 is at most half a tenth
                    # under 9, and the model's mass on the tenths under the digit is
                    # what its ten tenths' confidence leaves out. The model's own mass:
                    # how a drum looks (the meter's examples, Tesseract) cannot say on
                    # which side of its digit it stands, a drum a tenth under 8 looks
                    # like a settled 8 (a held-out red water drum labelled 7.9, placed
                    # at 8.05 with 0.66, matched the meter's 8s at 0.96 and was read 8)
                    conf = float(mass[digit])
                    past_no_line = True
                else:
                    conf = min(conf, AMBIGUOUS)
            far_under = (
                last_offset is not None
                and last_offset >= SURELY_LOW
                and _leans_turning(c.positions, mass, digit)
            )
            if far_under:
                # far under the line the drum is turning, not settled: the model's mass
                # on settled positions (a digit or a tenth past it, which sit on the
                # line or above it) is ruled out, and the rest is renormalised. Only
                # when the model leans to this digit itself, or splits the drum between
                # it turned and the next digit settled (TURNING_ODDS), which at a digit
                # the model cannot tell apart: the line takes doubt away, it never
                # overrules the model
                p = _given_history(_turning_masses(c.positions), digit, held)
                conf = _confirmed(c, digit, p)
            turning = not -NEAR_NEXT < off < SETTLED_BAND
            if turning and not far_under and held is not None:
                # between two digits: the history's impossible digits ruled out
                conf = _confirmed(c, digit, _given_history(mass, digit, held))
            lone = (past_no_line or turning) and len(cells) < LINE_CELLS and held is None
            if lone and float(mass[digit]) < LAST_DRUM_ALONE_SURE:
                # nothing but the model's own probability says which digit it is: the
                # meter's examples and Tesseract may confirm it, not make it surer
                conf = min(conf, AMBIGUOUS)
            agree = c.floor_agreement
            if turning and agree is not None and agree[digit] < MEMBERS_AGREE:
                # a drum between two digits is the model's alone (no other engine reads
                # it, nor does the drums' line): one of its networks reading another
                # digit is doubt the average hides, as on a maker none of them has seen
                conf = min(conf, AMBIGUOUS)
        else:
            mass = _digit_mass(c.positions, lower + bias, floor=False)
            digit = int(np.argmax(mass))
            conf = _confirmed(c, digit, _given_history(mass, digit, held))
        # the engines' doubts (a Tesseract or decoder voting otherwise) still count
        if c.p_top and c.confidence < c.p_top and c.char == str(digit):
            conf *= c.confidence / c.p_top
        out[i] = replace(c, char=str(digit), confidence=conf, kind="digit", value=v)
        # how far this drum is into its 9 → 0 roll, which the drum above follows: only
        # a drum read as 9 and standing past it carries (one read as 0 at 9.99 has
        # finished its roll, and so has the drum above it)
        past = (v - bias - digit) % 10.0
        lower = past if digit == 9 and past < 1.0 else 0.0
    return out


def _turned(per_frame: list[list[CellResult]], digit: str) -> float | None:
    """How far the last drum stands past the reading's last digit (0 to 1): the median
    over the frames that read that digit of the model's position there, None without
    one. A drum read as its digit and placed a hair under it (settled by the drums'
    line) has not turned past it: 0."""
    past = [
        ((c.value - int(digit) + 5.0) % 10.0) - 5.0
        for cells in per_frame
        if cells and (c := cells[-1]).char == digit and c.value is not None
    ]
    if not past:
        return None
    return float(min(max(float(np.median(past)), 0.0), 0.99))


class MeterReader:
    """Reads bursts of frames into checked readings, keeping the history between them."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        state: ReaderState | None = None,
        digit_model: str | Path | None = None,
        references: ReferenceBank | None = None,
    ) -> None:
        """``digit_model`` (a resolved path) overrides ``ocr.digit_model`` and the shipped
        model (the benchmark reads with the model trained without its held-out makers).
        A model file that cannot be loaded raises a one-sentence ValueError.

        ``references``: this meter's learnt digit examples (see
        :mod:`meter_agent.references`), made for this reader's model
        (:attr:`model_fingerprint`); the reader adds to them from accepted readings.
        Without them (the one-shot ``meter-agent read``) nothing is learnt."""
        self.config = config
        self._engines_cfg = list(config.ocr.engines)
        model = digit_model if digit_model is not None else (config.ocr.digit_model or None)
        self.cnn = (
            (DigitsEngine() if model is None else DigitsEngine(model))
            if "cnn" in self._engines_cfg
            else None
        )
        self.seven = SevenSegmentEngine() if "seven_segment" in self._engines_cfg else None
        self.tesseract = (
            TesseractEngine()
            if "tesseract" in self._engines_cfg and tesseract_available()
            else None
        )
        self.references = references if self.cnn is not None else None
        self.last_accepted: ReadResult | None = None
        self.rejected_counts: dict[str, int] = {}
        self._detected: str | None = None
        # an accepted reading has seen the last drum between two digits (see ROLLS)
        self._drum_rolls = False
        # the last window's row slant, measured once for it (see _row_slant)
        self._slant: tuple[Window, float] | None = None
        # the model's guesses and embeddings for the cells of the last read_cells call,
        # and for every frame of the burst being read (learning needs them)
        self._last_cnn: tuple[list[DigitGuess], np.ndarray] | None = None
        self._burst_cnn: list[tuple[list[DigitGuess], np.ndarray]] = []
        # per frame of the burst: the history's possible digits lifted the frame's weakest
        # digit over the bar (the reading's method then says "+history")
        self._last_history_helped = False
        self._burst_history: list[bool] = []
        # the frame the calibration's window was drawn on (None: frames are not aligned),
        # the last frame's alignment, and the digit row last found for this calibration
        self.reference: Reference | None = None
        self.alignment: Alignment | None = None
        self._row: (
            tuple[tuple, tuple[int, int, int, int], bool, tuple[float, ...] | None] | None
        ) = None
        self.last_window: Window | None = None
        if state is not None:
            self._load_state(state)

    @property
    def model_fingerprint(self) -> str | None:
        """The digit model's identity, which a reference bank must be made for."""
        return None if self.cnn is None else self.cnn.model.fingerprint

    # -- state ---------------------------------------------------------------------------
    def _load_state(self, state: ReaderState) -> None:
        self.rejected_counts = dict(state.rejected_counts)
        self._drum_rolls = state.drum_rolls
        if state.last_digits is not None and state.last_ts is not None:
            kwh = (
                state.last_kwh
                if state.last_kwh is not None
                else checks.to_kwh(state.last_digits, self.config.ocr.decimals)
            )
            self.last_accepted = ReadResult(
                ts=state.last_ts,
                digits=state.last_digits,
                reading_kwh=kwh,
                confidence=state.last_confidence,
                accepted=True,
                reason=None,
                method="restored",
                turned=state.last_turned,
            )

    @property
    def state(self) -> ReaderState:
        la = self.last_accepted
        return ReaderState(
            last_digits=None if la is None else la.digits,
            last_kwh=None if la is None else la.reading_kwh,
            last_ts=None if la is None else la.ts,
            last_confidence=0.0 if la is None else la.confidence,
            rejected_counts=dict(self.rejected_counts),
            last_turned=None if la is None else la.turned,
            drum_rolls=self._drum_rolls,
        )

    def update_calibration(
        self, calibration: CalibrationConfig, ocr: OcrConfig | None = None
    ) -> None:
        """Apply a new calibration (and OCR settings) from the calibration screen."""
        self.config.calibration = calibration
        self._detected = None
        self._drum_rolls = False  # the window may be another meter's now
        if ocr is not None:
            self.config.ocr = ocr
        self._row = None

    def set_reference(self, frame: np.ndarray | None) -> None:
        """The frame the calibration's window was drawn on: every later frame is aligned
        to it before the window is cut, and one that cannot be is refused as moved.
        None forgets it (frames are then read where they are, as without one). A frame
        that is not an image raises ImageError."""
        self.reference = None if frame is None else Reference(to_bgr(frame))
        self.alignment = None
        self._row = None
        if frame is not None:
            # the digit row of the reference holds for every frame aligned to it, also
            # for screens that show no digits (blank, a test pattern being drawn)
            try:
                self._window(frame)
            except ImageError:
                self._row = None

    def process_for_preview(self, frame: np.ndarray) -> dict[str, np.ndarray]:
        """``GET /frame.jpg``'s window and processed images, cut as a reading cuts them
        (aligned to the reference, the digit row found); raises ImageError like a read."""
        return preview_images(self._window(frame))

    def _row_key(self) -> tuple:
        cal, ocr = self.config.calibration, self.config.ocr
        return (
            None if cal.roi is None else tuple(cal.roi),
            cal.rotate_degrees,
            ocr.expected_digits,
            self._detected,
        )

    def _window(self, frame: np.ndarray) -> Window:
        """The frame's digit window: aligned to the reference (CameraMovedError when it
        cannot be), the digit row found in the calibrated window (DigitRowError when no
        row is found and none was found before for this calibration), cells cut. Once
        ``auto`` has settled the display kind, the row is looked for by that kind's
        rules."""
        cal, ocr = self.config.calibration, self.config.ocr
        if cal.display == "auto" and self._detected is not None:
            cal = cal.model_copy(update={"display": self._detected})
        transform = None
        if self.reference is not None:
            self.alignment = self.reference.align(to_bgr(frame), cal.roi, cal.rotate_degrees)
            if not self.alignment.ok:
                raise self.alignment.refusal()
            transform = self.alignment.matrix
        key = self._row_key()
        cached = self._row if self._row is not None and self._row[0] == key else None
        known = None if cached is None else cached[1]
        # the cuts between the drum faces found with that row: the cells of a frame read
        # through the row of before are cut as that row's were
        known_cuts = None if cached is None else cached[3]
        try:
            win = process_window(frame, cal, ocr, transform=transform, locate=True)
        except DigitRowError:
            if known is None:
                # an empty display has no row either: the whole window, cut as always,
                # says "blank" with the right reason; anything else is not guessed at
                win = process_window(frame, cal, ocr, transform=transform)
                if not all(c.blank for c in win.cells):
                    raise
            else:
                # no row in this frame (a blank screen, a drum between digits): the row
                # this calibration's window showed before
                win = process_window(
                    frame, cal, ocr, transform=transform, row=known, cuts=known_cuts
                )
        else:
            row = win.row or (0, 0, 0, 0)
            if self.reference is not None and cached is not None and _narrower(row, cached[1]):
                # aligned to the reference, the digits stand where its row found them and
                # as far apart: a row narrower than that is part of it (the halves of drums
                # turning in a carry lined up at a third of the pitch, and a bench frame's
                # cells were cut on them: every settled digit unreadable). A wider one is
                # kept: the reference's own search may have missed digits (an LCD's
                # leading 1s, its right-hand segments only)
                win = process_window(
                    frame, cal, ocr, transform=transform, row=cached[1], cuts=known_cuts
                )
            elif (
                cached is not None and cached[2] and not win.row_sure and _same_span(cached[1], row)
            ):
                # the same digits, but this frame's cells are only of an estimated
                # height: the measured ones of before fit them better
                win = process_window(
                    frame, cal, ocr, transform=transform, row=cached[1], cuts=known_cuts
                )
            elif cached is None or win.row_sure or not cached[2]:
                self._row = (key, row, win.row_sure, win.cuts)
        self.last_window = win
        return win

    # -- per frame -----------------------------------------------------------------------
    def _verdict(
        self,
        win: Window,
        forward: ModelRead | None = None,
        *,
        strict: bool = True,
        relaxed: bool = False,
    ) -> tuple[str, bool]:
        """The display kind of a frame, and whether anything in it said so (False:
        drums only for want of an LCD's segment patterns, nothing drum-like seen).

        ``strict`` test: lcd7 when the seven-segment decoder finds clean segment
        patterns in most cells, each the digit the model reads there too, settled (a
        drum digit can pass for a segment pattern — a one-digit window has no other
        cells to outvote it — but then the decoder's digit is rarely the model's, or
        the model sees the drum turning); one such frame settles it for the calibration.

        Drums whatever the decoder finds: a window whose cells the row search cut between
        drum faces seen one per digit (an LCD's one glass never shows them), or a cell
        the model places a quarter step or more from any digit (no LCD digit stands
        between two). On the frame bench's unseen printed faces the decoder found clean
        patterns of the model's digits in 12 of 355 drum frames, 8 of them with faces
        seen and 2 with a drum turning: taken for an LCD, a drum meter is read by rules
        that know no turning last drum. A frame with faces, or with its last cell
        turning, settles drums for the calibration (undoing an LCD detected before): a
        drum meter read through a stream of frames passes the strict test now and then,
        and read as an LCD a last drum nearly turned is its next digit. Another cell
        turning decides drums for its frame and undoes an LCD detected before, but does
        not settle drums: an LCD row cut at half the pitch, or an italic fourteen-segment
        face, leaves the model unsure of middle cells. Blank cells are left out of the
        turning test (the model places an unlit LCD position anywhere). ``forward`` is
        the model's pass over the cells when the caller has it (the reading uses the
        same one).

        ``relaxed`` test, where the strict one (if made) falls short: the decoder's
        patterns of thin segments count too (read otherwise only to confirm the model's
        digit, see :data:`~meter_agent.engines.seven_segment.THIN_ON`), and an italic
        row is also decoded stood upright (its segment regions are upright). Weaker
        evidence, so it asks more: the model, and every lit cell settled on a digit (a
        drum a fifth of a step from its next digit is not "turning", and read as an
        LCD it would be that next digit); and it decides for this frame only: a drum
        meter taken for an LCD once would have read every later frame by the LCD's
        rules. Both tests count from the decoder's one reading of the cells."""
        if self.config.calibration.display != "auto":
            return self.config.calibration.display, True
        faces = win.cuts is not None  # kept, calibrated as auto, only where faces were seen
        model: list[str | None] = [None] * len(win.cells)
        turning = last_turning = False
        if self.cnn is not None:
            fwd = forward if forward is not None else self._forward(win.cells)
            guesses = fwd.guesses(rolling=True)
            off = [abs(g.value - round(g.value)) if g.value is not None else 0.0 for g in guesses]
            # an LCD digit never sits between two digits: a cell the model places there
            # is a turning drum, however clean a segment pattern its nearer digit makes
            turning = any(
                d >= LCD_TURNING for d, c in zip(off, win.cells, strict=True) if not c.blank
            )
            # a counter's last drum is the one that turns (the others only with it, in
            # a carry); the cells an unseen LCD face leaves the model unsure of, or a
            # row cut at half the pitch, are anywhere
            last_turning = off[-1] >= LCD_TURNING and not win.cells[-1].blank
            model = [
                g.char if g.value is not None and d < LCD_SETTLED else None
                for g, d in zip(guesses, off, strict=True)
            ]
            # an LCD digit is placed on its value or a hair past it (the model learnt
            # settled digits so); a last cell placed under its digit is turning in to
            # it, not settled
            v = guesses[-1].value
            if v is not None and round(v) - v > HALF_TENTH and not win.cells[-1].blank:
                model[-1] = None
        if faces or last_turning:
            # a drum meter: that sticks for the calibration as a clean LCD frame does.
            # A drum meter's frame can pass for an LCD's (a settled row of bold printed
            # figures makes clean segment patterns), and a later frame read as an LCD
            # read its last drum 0.86 turned as the next digit
            self._detected = "drum"
            return "drum", True
        if self._detected == "lcd7" and turning:
            self._detected = None
        if self._detected is not None:
            return self._detected, True
        if turning:
            return "drum", True
        seven = self.seven or SevenSegmentEngine()
        got = seven.read([c.binary for c in win.cells])
        need = max(1, math.ceil(len(got) * 0.8))
        against = None if self.cnn is None else model
        # the cells the decoder may miss are not the last one when the model does not
        # see it settled on its digit: a drum meter's last drum 0.86 turned (placed
        # 0.087 under 5), its other five cells clean, passed for an LCD and was read as
        # its next digit
        last_unsettled = against is not None and not win.cells[-1].blank and model[-1] is None
        if strict and not last_unsettled and _clean(got, against, thin=False) >= need:
            self._detected = "lcd7"  # a clean LCD frame settles it for the calibration
            return "lcd7", True
        if (
            not relaxed
            or self.cnn is None
            or any(m is None for m, c in zip(model, win.cells, strict=True) if not c.blank)
        ):
            return "drum", False
        if _clean(got, model, thin=True) >= need:
            return "lcd7", True
        upright = _upright_binaries(win, self._row_slant(win))
        if upright is not None and _clean(seven.read(upright), model, thin=True) >= need:
            return "lcd7", True
        return "drum", False

    def _faint_equalised(self, cells: list[Cell], fwd: ModelRead, last_rolls: bool) -> ModelRead:
        """The model's pass with the faint drum cells read again locally equalised
        (:func:`~meter_agent.vision.equalised`).

        A faint cell (``blank``: too little camera contrast for the vision's ink; held-out
        ``pp`` water drums stand 13-17 grey levels off their ground) is read only when the
        model is sure of it (:data:`FAINT_DRUM_SURE`), and on the raw cell it seldom is:
        the standardisation that makes exposure not matter lifts the sensor's noise with
        the figure. Equalised, the held-out makers' faint clean water drums were read
        right 90.3 → 97.6 % by the model alone, and 67 → 92 of 124 at 0.8 or more, none
        wrong. Not the last drum while it turns: there the position near a digit decides
        the reading, and equalising moved two faint drums labelled x.9 (a hair under
        the next digit) to 0.07-0.12 past it, where a lone drum is read as that digit."""
        top = len(cells) - 1 if last_rolls else len(cells)
        faint = [i for i, c in enumerate(cells[:top]) if c.blank]
        if not faint or self.cnn is None:
            return fwd
        again = self.cnn.forward([equalised(cells[i].model_image) for i in faint])
        pos, emb, agree = fwd.positions.copy(), fwd.embeddings.copy(), fwd.agreement.copy()
        pos[faint], emb[faint], agree[faint] = again.positions, again.embeddings, again.agreement
        return ModelRead(pos, emb, agree)

    def _forward(self, cells: list[Cell]) -> ModelRead:
        """The model's one pass over the cells (camera grey, or colour when kept)."""
        assert self.cnn is not None
        return self.cnn.forward([c.model_image for c in cells])

    def _row_slant(self, win: Window) -> float:
        """The window's row slant (:func:`~meter_agent.slant.row_slant`), measured once
        per window: an undecided italic frame needs it for the decoder's test and again
        for the drums' model images (about 4 ms each time)."""
        if self._slant is None or self._slant[0] is not win:
            self._slant = (win, row_slant([c.binary for c in win.cells]))
        return self._slant[1]

    def _upright(self, win: Window, display: str) -> list[Cell]:
        """A drum row in an italic face stood upright for the model (see
        :mod:`meter_agent.slant`); the window's own cells otherwise (the same list). The
        whole row is sheared and the cells cut from it at their boxes (a figure sheared
        inside its own cell loses the corners it leans into). Only the model's images
        change: the binary cells (the drums' line, Tesseract) are the camera's."""
        cells = win.cells
        if self.cnn is None or display != "drum" or len(cells) < MIN_CELLS:
            return cells
        s = self._row_slant(win)
        if not s:
            return cells
        row = shear(cv2.cvtColor(win.color, cv2.COLOR_BGR2GRAY), s)
        return [replace(c, raw=row[:, c.box[0] : c.box[0] + c.box[2]]) for c in cells]

    def _model_cells(self, frame: np.ndarray) -> tuple[Window, list[Cell], str, ModelRead | None]:
        """The frame's window, the cells the model reads, the display kind, and the
        model's pass over those cells when display detection already ran it (None: the
        reading runs it). The model runs first only to detect the display (``auto``),
        and again only when the row then turns out italic drums.

        Detecting (``auto``), a frame in which nothing says drums (no faces, no drum
        turning) nor LCD is not read as drums at once. The decoder's thin-segment
        patterns count as LCD evidence first; then the row is looked for again by an
        LCD's rules: the rules common to both kinds merge only close pieces, and in
        thin seven-segment faces (DSEG's "Mini Light") they found rows of the digits'
        halves at half the pitch, each cell a lone bar the model took for a sure 1
        (three of the frame bench's 1,080 LCD frames read wrong as drums, 1807882 as
        1111111). Found by an LCD's rules, the whole digits make segment patterns of
        the model's digits and the frame is read as an LCD; where they do not, two rows
        that read differently are refused (:meth:`_one_reading`)."""
        win = self._window(frame)
        fwd = None
        if self.cnn is not None and self.config.calibration.display == "auto":
            fwd = self._forward(win.cells)
        display, decided = self._verdict(win, fwd, relaxed=True)
        if not decided:
            lcd = self._lcd_window(frame)
            if lcd is not None and lcd.row != win.row:
                lcd_fwd = self._forward(lcd.cells) if self.cnn is not None else None
                if self._verdict(lcd, lcd_fwd, strict=False, relaxed=True) == ("lcd7", True):
                    win, fwd, display = lcd, lcd_fwd, "lcd7"
                    self.last_window = win
                elif fwd is not None and lcd_fwd is not None:
                    self._one_reading(fwd, lcd_fwd, (win, lcd))
        cells = self._upright(win, display)
        return win, cells, display, fwd if cells is win.cells else None

    def _one_reading(self, drums: ModelRead, lcd: ModelRead, rows: tuple[Window, Window]) -> None:
        """Raise DigitRowError when the row an LCD's rules find reads other digits than
        the row read as drums: two rows of one window give two readings, and nothing
        tells which is the meter's. Other digits: every cell of the LCD's row sure and
        settled and the rows' digits not the same; or, where the two rows (``rows``:
        the drums' window, the LCD's) cut the same cells (:func:`_same_cells`), a cell
        the LCD's row leans to (:data:`AMBIGUOUS` or more) as a settled digit other
        than the one the drums' row reads there. (On the frame bench in ``auto``, nine
        seeds: 17 of 1,080 LCD frames and none of 1,080 drum frames were refused by the
        first, each refused by the code before it too. The second: a thin italic LCD
        86126 in a loose window, read as drums 66126 at 0.86, its LCD row leaning to 8
        at 0.69 in the first cell, was accepted. Rows cut a cell apart, the LCD's row
        taking in the window's frame, do not compare cell for cell.)"""
        sure = self.config.ocr.confidence_threshold
        guesses = lcd.guesses(rolling=True)  # with the positions (settled guesses have none)
        drum_guesses = drums.guesses(rolling=True)
        settled = [
            g.char is not None
            and g.value is not None
            and abs(g.value - round(g.value)) < LCD_SETTLED
            for g in guesses
        ]
        if all(ok and g.confidence >= sure for ok, g in zip(settled, guesses, strict=True)):
            other = [g.char for g in guesses] != [g.char for g in drum_guesses]
        else:
            other = _same_cells(*rows) and any(
                ok and g.confidence >= AMBIGUOUS and d.char is not None and g.char != d.char
                for ok, g, d in zip(settled, guesses, drum_guesses, strict=True)
            )
        if other:
            raise DigitRowError(
                "two rows of digits in the window read differently; set the display "
                "kind (lcd7 or drum) in the calibration, or draw the window closer."
            )

    def _lcd_window(self, frame: np.ndarray) -> Window | None:
        """The frame's window with its row found by an LCD's rules (aligned as the last
        :meth:`_window` was), or None where they find none."""
        cal = self.config.calibration.model_copy(update={"display": "lcd7"})
        transform = None
        if self.reference is not None and self.alignment is not None:
            transform = self.alignment.matrix
        try:
            return process_window(frame, cal, self.config.ocr, transform=transform, locate=True)
        except ImageError:
            return None

    def read_cells(
        self,
        cells: list[Cell],
        display: str,
        *,
        use_tesseract: bool = True,
        last_rolls: bool = True,
        forward: ModelRead | None = None,
        possible: list[frozenset[int]] | None = None,
    ) -> list[CellResult]:
        """Engine votes for every cell of one window (the burst-free core).

        ``last_rolls=False`` (drums) reads the last cell as a settled higher drum, e.g.
        a single digit cut from a meter whose turning last drum is outside the window.
        ``forward``: the model's pass over these cells, when already run. ``possible``:
        the digits the history allows per drum (see :func:`resolve_drums`)."""
        n = len(cells)
        per_engine: dict[str, list[DigitGuess | None]] = {}
        rolling = display == "drum"
        emb = None
        self._last_cnn = None
        self._last_history_helped = False
        if self.cnn is not None:
            fwd = forward if forward is not None else self._forward(cells)
            if rolling:
                fwd = self._faint_equalised(cells, fwd, last_rolls)
            cnn_guesses, emb = fwd.guesses(rolling), fwd.embeddings
            per_engine["cnn"] = list(cnn_guesses)
            self._last_cnn = (list(cnn_guesses), emb)
        if self.seven is not None and display == "lcd7":
            per_engine["seven_segment"] = list(self.seven.read([c.binary for c in cells]))
        # Tesseract is no help on seven-segment digits (11 % right and 25 % wrong on the
        # held-out real LCD crops; 8-20 % in the research notes), so LCDs do without it
        if self.tesseract is not None and use_tesseract and display != "lcd7":
            unsure = []
            for i, c in enumerate(cells):
                if c.blank:
                    continue
                g = [x for lst in per_engine.values() if (x := lst[i]) is not None]
                chars = {x.char for x in g}
                cnn_g = per_engine.get("cnn", [None] * n)[i]
                if cnn_g is not None and cnn_g.kind == "other":
                    continue
                mid_roll = (
                    rolling
                    and cnn_g is not None
                    and cnn_g.value is not None
                    and 0.15 < (cnn_g.value % 1.0) < 0.85
                )
                if mid_roll:
                    continue  # Tesseract has no "between digits" answer
                if len(chars) != 1 or None in chars or min(x.confidence for x in g) < SURE:
                    unsure.append(i)
            if unsure:
                # the least sure first; each costs a tesseract process start
                unsure = sorted(unsure, key=lambda i: self._sureness(per_engine, i))[
                    :MAX_TESSERACT_CELLS
                ]
                got = self.tesseract.read([cells[i].binary for i in unsure])
                lst: list[DigitGuess | None] = [None] * n
                for i, guess in zip(unsure, got, strict=True):
                    lst[i] = guess
                per_engine["tesseract"] = lst
        if self.references is not None and emb is not None and len(emb):
            # after Tesseract's turn: a reference that has no opinion must not make a
            # cell look unsure and cost a Tesseract call
            # (given the model's digit: they cannot gainsay one they have never seen)
            per_engine["refs"] = [
                self.references.match(e, g.char if g is not None else None)
                for e, g in zip(emb, per_engine["cnn"], strict=True)
            ]
        results = []
        for i, c in enumerate(cells):
            votes = {k: x for k, v in per_engine.items() if (x := v[i]) is not None}
            blank = c.blank
            cnn_g = votes.get("cnn")
            if blank and rolling and cnn_g is not None and cnn_g.char is not None:
                # a drum always shows a digit: a faint one (low camera contrast, common on
                # water meters) the model is sure of is read, not called blank; an LCD
                # position stays blank (unlit segments look like a faint 8). The meter's
                # own examples do not make it readable: they compare the model's view of
                # the cell, as faint as the cell (they agreed with the 24-epoch model's
                # 8 for two faint held-out 6s it gave 0.57-0.61)
                sure = FAINT_LAST_DRUM_SURE if last_rolls and i == n - 1 else FAINT_DRUM_SURE
                blank = (cnn_g.p_top or 0.0) < sure
            results.append(combine_cell(votes, blank))
        if rolling:
            offset = (
                last_drum_offset(cells, carry_free([r.value for r in results]))
                if last_rolls
                else None
            )
            held = possible if possible is not None and len(possible) == n else None
            resolved = resolve_drums(
                results, last_rolls=last_rolls, last_offset=offset, possible=held
            )
            self._last_history_helped = held is not None and self._history_helped(
                resolve_drums(results, last_rolls=last_rolls, last_offset=offset), resolved
            )
            results = resolved
        return results

    def _history_helped(self, alone: list[CellResult], given: list[CellResult]) -> bool:
        """The cells read without the history had a digit under the bar that, given the
        history, all stand over: the history decided the reading (shown in its method,
        so a person can see which readings leaned on the last one)."""
        bar = self.config.ocr.confidence_threshold
        weakest_alone = min((c.confidence for c in alone), default=0.0)
        weakest_given = min((c.confidence for c in given), default=0.0)
        return weakest_alone < bar <= weakest_given

    @staticmethod
    def _sureness(per_engine: dict[str, list[DigitGuess | None]], i: int) -> float:
        confs = [x.confidence for lst in per_engine.values() if (x := lst[i]) is not None]
        return min(confs) if confs else 0.0

    def _read_frame(
        self, frame: np.ndarray, possible: list[frozenset[int]] | None = None
    ) -> tuple[list[CellResult], str, Window]:
        win, model_cells, display, fwd = self._model_cells(frame)
        turning = self.config.calibration.last_digit == "turning"
        cells = self.read_cells(
            model_cells, display, forward=fwd, possible=possible, last_rolls=turning
        )
        if self._last_cnn is not None:
            self._burst_cnn.append(self._last_cnn)
        self._burst_history.append(self._last_history_helped)
        return cells, display, win

    # -- learning this meter's digits ----------------------------------------------------
    def _learn(self, digits: str, cnn: tuple[list[DigitGuess], np.ndarray], sure: bool) -> int:
        """Keep the cells whose model digit is the known one, not turning, as examples;
        with ``sure`` only those the model alone would have accepted (its calibrated
        probability at the reading threshold: from accepted readings, a digit only the
        examples carried over the threshold is not learnt, so they never feed on
        themselves)."""
        guesses, emb = cnn
        if self.references is None or len(guesses) != len(digits):
            return 0
        added = 0
        for i, g in enumerate(guesses):
            if not learnable(g, digits[i]):
                continue
            if sure and (g.p_top or 0.0) < self.config.ocr.confidence_threshold:
                continue
            added += int(self.references.add(digits[i], emb[i]))
        return added

    def learn_frame(self, frame: np.ndarray, digits: str) -> int:
        """Learn this meter's digits from a frame whose true reading a person has just
        given (``PUT /reading``): every cell the model reads as that digit, however
        unsure, and not turning. Returns how many examples were new; a frame that
        cannot be read raises ImageError."""
        if self.references is None or self.cnn is None:
            return 0
        _, cells, display, fwd = self._model_cells(frame)
        return self.learn_cells(cells, digits, display, forward=fwd)

    def learn_cells(
        self, cells: list[Cell], digits: str, display: str, *, forward: ModelRead | None = None
    ) -> int:
        """:meth:`learn_frame` on a window's cells."""
        if self.references is None or self.cnn is None:
            return 0
        fwd = forward if forward is not None else self._forward(cells)
        if display == "drum":
            # examples are settled digits: a faint one is learnt as it is read
            fwd = self._faint_equalised(cells, fwd, last_rolls=False)
        guesses = fwd.guesses(rolling=display == "drum")
        return self._learn(digits, (guesses, fwd.embeddings), sure=False)

    # -- a burst -------------------------------------------------------------------------
    def read_frames(self, frames: list[np.ndarray], ts: datetime) -> ReadResult:
        """A burst of BGR frames taken together = one reading."""
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        per_frame: list[list[CellResult]] = []
        displays: list[str] = []
        errors: list[ImageError] = []
        self._burst_cnn = []
        self._burst_history = []
        possible = self._possible_digits(ts)
        for f in frames:
            try:
                cells, display, _ = self._read_frame(f, possible)
            except ImageError as exc:
                errors.append(exc)
                continue
            per_frame.append(cells)
            displays.append(display)
        if not per_frame:
            return self._reject(ts, _image_rejection(errors), [], None, 0)
        display = Counter(displays).most_common(1)[0][0]
        return self._decide(per_frame, display, ts)

    def _last_good(self) -> LastGood | None:
        """The last accepted reading, as the history checks compare with it."""
        la = self.last_accepted
        if la is None or la.digits is None:
            return None
        rolls = self._drum_rolls and self._drums_known()
        return LastGood(la.digits, la.reading_kwh or 0.0, la.ts, la.turned if rolls else None)

    def _drums_known(self) -> bool:
        """The meter is known to be drums: so calibrated, or ``auto`` has settled it (a
        frame of an LCD meter read as drums places its settled digits like a drum at
        rest, and the meter's next tick is a whole step at once)."""
        display = self.config.calibration.display
        return display == "drum" or (display == "auto" and self._detected == "drum")

    def _possible_digits(self, ts: datetime) -> list[frozenset[int]] | None:
        """The digits each drum may show at ``ts`` for the reading to pass the history
        checks against the last accepted one (None: no history)."""
        last = self._last_good()
        return None if last is None else checks.possible_digits(last, ts, self.config.ocr)

    def read_image_file(self, path: str | Path, ts: datetime) -> ReadResult:
        """Read one image file as a burst of one; a bad file → one-sentence ValueError."""
        p = Path(path)
        if p.is_dir():
            raise ValueError(f"{p} is a folder, not an image; give its images ({p}/*.jpg).")
        if not p.is_file():
            raise ValueError(f"image file {p} does not exist.")
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"image file {p} is not a readable image.")
        return self.read_frames([img], ts)

    def _decide(self, per_frame: list[list[CellResult]], display: str, ts: datetime) -> ReadResult:
        ocr = self.config.ocr
        n = ocr.expected_digits
        method = "+".join(self._method_names(display))
        # screens first, per frame: a burst containing the test screen is not a reading
        for cells in per_frame:
            why = self._screen_reason(cells, display)
            if why is not None:
                pd = [(c.char, c.confidence) for c in cells]
                return self._reject(ts, why, pd, display, len(per_frame), method)
        merged: list[tuple[str | None, float]] = []
        frames_disagree = False
        engines_disagree = False
        for i in range(n):
            col = [cells[i] for cells in per_frame]
            votes: dict[str, float] = {}
            for c in col:
                if c.char is not None:
                    votes[c.char] = votes.get(c.char, 0.0) + c.confidence
            if any(c.kind == "disagree" for c in col):
                engines_disagree = True
            if not votes:
                merged.append((None, 0.0))
                continue
            ranked = sorted(votes.items(), key=lambda kv: kv[1], reverse=True)
            win, s = ranked[0]
            other = sum(v for _, v in ranked[1:])
            if other > 0:
                frames_disagree = True
            if other >= 0.5 * s:
                merged.append((None, s / (s + other)))
                continue
            confs = [c.confidence for c in col if c.char == win]
            conf = float(np.median(confs)) * (s / (s + other))
            # a digit seen by fewer than half of the frames is not confirmed
            if len(confs) * 2 < len(col):
                conf *= 0.5
            merged.append((win, conf))
        # only a meter configured as drums may truly show 888888
        configured = "drum" if self.config.calibration.display == "drum" else "lcd7"
        why = checks.screen_checks(merged, n, configured)
        if why is not None:
            if why.code == checks.UNREADABLE_DIGITS:
                if frames_disagree:
                    why = Rejection(checks.FRAMES_DISAGREE, why.text + " (the frames disagree)")
                elif engines_disagree:
                    why = Rejection(checks.ENGINES_DISAGREE, why.text + " (the engines disagree)")
            return self._reject(ts, why, merged, display, len(per_frame), method)
        digits = "".join(c for c, _ in merged if c is not None)
        confidence = min(p for _, p in merged)
        why = checks.confidence_check(confidence, ocr)
        if why is None:
            why = checks.history_checks(digits, ts, self._last_good(), ocr)
        if why is not None:
            return self._reject(
                ts,
                why,
                merged,
                display,
                len(per_frame),
                method,
                digits=digits,
                confidence=confidence,
            )
        if any(self._burst_history):
            method += "+history"
        result = ReadResult(
            turned=_turned(per_frame, digits[-1]) if self._drums_known() else None,
            ts=ts,
            digits=digits,
            reading_kwh=checks.to_kwh(digits, ocr.decimals),
            confidence=confidence,
            accepted=True,
            reason=None,
            method=method,
            per_digit=merged,
            display=display,
            frames=len(per_frame),
        )
        self.last_accepted = result
        if result.turned is not None and result.turned >= ROLLS:
            self._drum_rolls = True
        if self._burst_cnn:
            self._learn(digits, self._burst_cnn[0], sure=True)
        return result

    def _screen_reason(self, cells: list[CellResult], display: str) -> Rejection | None:
        """Screens that are not the reading, recognised per frame."""
        n = len(cells)
        if n and all(c.kind == "blank" for c in cells):
            if display == "drum":
                # drums always show digits: what looks empty is too faint or too dark
                return Rejection(
                    checks.BLANK,
                    "no digit stands out from the drums (too faint or too dark: more light "
                    "or exposure may help)",
                )
            return Rejection(checks.BLANK, "the display shows nothing")
        # the all-8s test screen: skipped only for a meter *configured* as drums (an
        # auto-detected "drum" may be an LCD whose first frame was this very screen)
        if self.config.calibration.display != "drum":
            chars = [c.char for c in cells if c.char is not None]
            if n >= 3 and len(chars) * 2 >= n and set(chars) == {"8"}:
                # all lit segments (the decimal points too, which can upset single cells)
                return Rejection(
                    checks.TEST_SCREEN, "every digit is 8, the LCD segment test screen"
                )
        if display != "drum":
            others = [i for i, c in enumerate(cells) if c.kind == "other"]
            if others:
                return Rejection(
                    checks.OTHER_SCREEN,
                    f"cell {others[0] + 1} shows a sign that is not a digit, so this is not the reading screen",
                )
            expected_dot = (
                n - self.config.ocr.decimals - 1 if self.config.ocr.decimals > 0 else None
            )
            seen = {i for i, c in enumerate(cells) if c.dot}
            seen |= {i - 1 for i, c in enumerate(cells) if c.dot_before and i > 0}
            dots = sorted(i for i in seen if i != expected_dot and i != n - 1)
            if dots:
                return Rejection(
                    checks.OTHER_SCREEN,
                    f"a decimal point after digit {dots[0] + 1} does not belong to the reading (a date or another register)",
                )
            blanks = sum(c.kind == "blank" for c in cells)
            if blanks > n // 2:
                return Rejection(checks.BLANK, f"{blanks} of {n} digit positions are empty")
        return None

    def _method_names(self, display: str) -> list[str]:
        names = []
        if self.cnn is not None:
            names.append("cnn")
        if self.seven is not None and display == "lcd7":
            names.append("seven_segment")
        if self.tesseract is not None and display != "lcd7":
            names.append("tesseract")
        return names

    def _reject(
        self,
        ts: datetime,
        why: Rejection,
        per_digit: list[tuple[str | None, float]],
        display: str | None,
        frames: int,
        method: str = "none",
        *,
        digits: str | None = None,
        confidence: float | None = None,
    ) -> ReadResult:
        code = why.code.value
        self.rejected_counts[code] = self.rejected_counts.get(code, 0) + 1
        if confidence is None:
            known = [p for c, p in per_digit if c is not None]
            confidence = min(known) if known and len(known) == len(per_digit) else 0.0
        return ReadResult(
            ts=ts,
            digits=None,
            reading_kwh=None,
            confidence=float(max(0.0, min(1.0, confidence))),
            accepted=False,
            reason=why,
            method=method,
            per_digit=per_digit,
            display=display,
            frames=frames,
        )


def _same_span(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Two rows over the same digits: their left and right ends within a tenth of the
    row's width."""
    tol = 0.1 * max(a[2], b[2])
    return abs(a[0] - b[0]) <= tol and abs(a[0] + a[2] - b[0] - b[2]) <= tol


def _same_cells(a: Window, b: Window) -> bool:
    """Two windows' rows cut the same cells: as many, and every edge of one row within
    a quarter of a cell's pitch of the other's (then a cell of one holds the figure
    the other's cell holds, and their digits compare). Stricter than
    :func:`_same_span`, whose tenth of the row's width lets the cells slip by most of a
    pitch."""
    if a.row is None or b.row is None or len(a.cells) != len(b.cells) or not a.cells:
        return False
    (ax, ay, aw, ah), (bx, by, bw, bh) = a.row, b.row
    slack = min(aw, bw) / len(a.cells) / 4
    edges = (ax - bx, ax + aw - bx - bw, ay - by, ay + ah - by - bh)
    return all(abs(e) <= slack for e in edges)


def _narrower(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Row ``a`` is narrower than row ``b`` by more than ROW_WIDTH of ``b``'s width."""
    return a[2] < (1.0 - ROW_WIDTH) * b[2]


def _clean(got: list[DigitGuess], model: list[str | None] | None, *, thin: bool) -> int:
    """How many of the decoder's readings ``got`` are clean segment patterns (of thin
    segments too with ``thin``), each the model's settled digit there (any digit when
    ``model`` is None: no model to ask)."""
    return sum(
        1
        for i, g in enumerate(got)
        if g.kind == "digit"
        and g.confidence >= 0.75
        and (thin or not g.confirm_only)
        and (model is None or g.char == model[i])
    )


def _upright_binaries(win: Window, s: float) -> list[np.ndarray] | None:
    """The window's binary cells from its row sheared upright by its slant ``s`` (see
    :mod:`meter_agent.slant`), or None when the row does not lean."""
    if not s:
        return None
    row = shear(win.binary, s)
    return [row[:, c.box[0] : c.box[0] + c.box[2]] for c in win.cells]


def _image_rejection(errors: list[ImageError]) -> Rejection:
    """Why a burst whose every frame failed before the engines is refused: a moved camera
    first (the calibration must be checked), then a window without a digit row."""
    for kind, code in (
        (CameraMovedError, checks.CAMERA_MOVED),
        (DigitRowError, checks.NO_DIGIT_ROW),
    ):
        for exc in errors:
            if isinstance(exc, kind):
                return Rejection(code, str(exc).rstrip("."))
    why = str(errors[0]) if errors else "no frames were given."
    return Rejection(checks.UNREADABLE_IMAGE, why.rstrip("."))


def process_for_preview(
    frame: np.ndarray, calibration: CalibrationConfig, ocr: OcrConfig
) -> dict[str, np.ndarray]:
    """``window`` (upright crop in colour) and ``processed`` (binary with cell lines)
    for the calibration screen and ``GET /frame.jpg``."""
    return _preview(frame, calibration, ocr)
