"""Find the digit row inside a loosely drawn window.

Why: a user draws the window around the whole display — its bezel, its frame and some of
the meter around it — rather than tightly around the digits. The cells must then be cut
from where the digits really are, or the equal split of :mod:`meter_agent.vision` cuts
the bezel into cells and every reading is refused.

How: the digits are the one thing in the window that forms a row of about
``expected_digits`` blobs of the same height, on one line, at a regular pitch. Blobs are
found in both polarities (dark LCD segments on light glass, light drum digits on dark
faces, a last drum of another colour) with a local threshold; the separate segments of
an LCD digit are merged into one blob when they overlap horizontally. The row with the
most members wins; it must hold at least ``expected_digits - 2`` of them (a drum caught
mid-roll shows two half digits, no whole one), and positions missing at the ends are
placed where the picture is busy (a half-turned drum), not where it is plain (the frame).

The answer is the box a tight window would have had around the row (the cells' height is
taken from the digits' height and pitch, so a drum's turning face fits), which the vision
pipeline then cuts and splits as it always did. A window that is already tight gives
``tight=True`` and is used whole, exactly as before. No row, or a row that does not fit
``expected_digits`` (more members than expected, no clear place for the missing ones), is
``None``: the reading is refused rather than cut from a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

#: the share of a window a row's box must cover for the window to count as tight
TIGHT_AREA = 0.8
#: a row needs at least this many members below ``expected_digits`` (mid-roll drums)
MISSING_AT_MOST = 2
#: the frame shown above and below the drum faces, as a share of their height (what a
#: window drawn tightly around the drums holds)
FRAME_MARGIN = 0.12
#: how much (grey levels) ink must stand out from its neighbourhood to make a blob
BLOB_MARGIN = 12
#: a blob inside another at most this much taller is that digit's counter (a 0's inside)
COUNTER_RATIO = 1.4
#: a member sits this close (share of the pitch) to its place on the regular row
PITCH_TOLERANCE = 0.18
#: a window is the row itself when the row's pitch is within this share of its width
#: over the digit count, and its figures at least this share of its height (drawn
#: around the display, with 8-15 % margin, neither holds)
TIGHT_PITCH = 0.08
TIGHT_FIGURE = 0.3
#: on an LCD, rows whose digits are at least this share of the tallest row's height
#: (of as many members) compete on regularity; shorter ones are rows of half digits
TALLEST_SHARE = 0.8
#: a drum face is at least this much taller than the figure it shows
FACE_RATIO = 1.3
#: a member at a row's end narrower than this share of the digits is a bar (a drum
#: face's or the frame's edge, the window's own edge), not a digit. On an LCD a 1 is
#: its right-hand segments alone, a tenth of a digit's width in light faces (dropped
#: as a bar, it left the row a digit short, placed a cell off): there a bar is what is
#: thinner still, or touches the window's side
THIN_END = 0.3
THIN_END_LCD = 0.06
#: on drums, a row whose members are this slender (median width over height) is the
#: frame's strips between the faces, not figures (a bench frame's shaded strips, 8 × 62
#: pixels, 0.13, outnumbered the figures and the row was cut half a drum off; printed
#: figures stand 0.5-0.7, a flagged 1 about 0.3)
BAR_ROW = 0.2
#: a figure whose centre is within this share of its face's height of the face's centre
#: stands centred in it: a settled drum (a turning one stands higher or lower)
CENTRED = 0.04
#: drum faces are at least this share of the pitch wide: they nearly touch, with only the
#: frame between them (printed figures stand 0.33-0.65 of it on the frame bench)
FACES_TOUCH = 0.68
#: a drum turning in a carry shows at least this share of a figure's height (the
#: larger of the two it stands between)
CUT_FIGURE = 0.5
#: on an LCD, segments whose vertical gap is at most this share of the taller are merged
SEGMENT_GAP = 0.5
#: the least step of grey (levels) between the drum faces and the frame around them for
#: the frame between two faces to tell the faces apart (:func:`_faces_apart`)
FACE_STEP = 15
#: the frame between two faces is within this share of that step of the frame's grey
#: above and below them; the face's ground above and below its figure spreads (its
#: quartiles) over less than FACE_FLAT of it, and the figure's ink stands at least the
#: step off that ground and FRAME_NEAR of it off the frame's grey
FRAME_NEAR = 0.35
FACE_FLAT = 0.25


@dataclass(frozen=True)
class Blob:
    """One digit-like blob in window pixels."""

    x: int
    y: int
    w: int
    h: int
    area: int = 0  # its pixels (0: a merged blob, not counted)

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Row:
    """The digit row found in a window."""

    box: tuple[int, int, int, int]  # x, y, w, h of the tight window around the row
    pitch: float  # digit to digit, in window pixels
    members: int  # digits seen whole (the rest were placed by the pitch)
    tight: bool  # the window already was tight: use it whole
    #: the cells' height was measured (the drum faces, or digits that fill their
    #: cells as on an LCD), not estimated from the pitch
    sure: bool = True
    #: where to cut between the cells (window x), when the drum faces were seen: the
    #: middle of the frame between two faces; None leaves the cut to the vision split
    cuts: tuple[float, ...] | None = None
    #: the faces were seen as blobs of their own, not only as a brightness step above
    #: and below the digits (which an LCD's glass makes too)
    faces_seen: bool = False


def _blobs(gray: np.ndarray, dark: bool, block: int, max_w: float, gap: float = 0.25) -> list[Blob]:
    """Blobs of one polarity under a local threshold; LCD segments merged per digit."""
    img = gray if not dark else cv2.bitwise_not(gray)
    # ink is lighter than its neighbourhood by a clear margin (the plain frame is not)
    binary = cv2.adaptiveThreshold(
        img, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block | 1, -BLOB_MARGIN
    )
    n, _, st, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    H = gray.shape[0]
    # what is wider than a digit or nearly as tall as the window (the bezel, the glass)
    # is never part of one, and must not swallow the digits when segments are merged
    stats = [
        (int(x), int(y), int(w), int(h), int(a))
        for x, y, w, h, a in st[1:]
        if a >= 6 and h >= 3 and w <= max_w and h < 0.95 * H
    ]
    boxes = [list(b[:4]) for b in stats]
    # a drum's digit is one blob already, and merging could join it to the face's edge;
    # an LCD digit is whole only merged: both are offered to the row search
    merged = [b for b in _merge_columns([list(b) for b in boxes], gap) if b not in boxes]
    # a solid blob nearly as wide as a merged box and most of its height is a drum face
    # the merge glued to scraps of the frame or bezel above and below it (a thin frame
    # between faces and a dark bezel): the box is no digit, nor the face's true height
    solid = [b for b in stats if b[4] >= 0.7 * b[2] * b[3]]
    merged = [m for m in merged if not any(_glued_to(m, b) for b in solid)]
    return [Blob(*b) for b in stats] + [Blob(*b) for b in merged]


def _glued_to(m: list[int], b: tuple[int, int, int, int, int]) -> bool:
    """The merged box ``m`` is mostly the solid blob ``b`` (inside it, at least 80 % of
    its width and 60 % of its height)."""
    x, y, w, h = b[:4]
    inside = m[0] <= x and m[1] <= y and x + w <= m[0] + m[2] and y + h <= m[1] + m[3]
    return inside and w >= 0.8 * m[2] and h >= 0.6 * m[3]


def _without_counters(blobs: list[Blob]) -> list[Blob]:
    """The blobs less the insides of 0s: a blob centred in another one hardly taller is
    that digit's counter (the other polarity's blob, pooled with the digits). Of the
    height of the digits around it, a row of them would take a 0's counter for a digit
    and the window's edge beside the row for another. A drum's figure sits in a face
    taller by half again and more, and stays."""
    out = []
    for b in blobs:
        held = any(
            o is not b
            and o.h <= COUNTER_RATIO * b.h
            and o.h > b.h
            and o.w > b.w
            and abs(o.cx - b.cx) < 0.15 * o.w
            and abs(o.cy - b.cy) < 0.15 * o.h
            and o.x < b.x
            and o.y < b.y
            and o.x + o.w > b.x + b.w
            and o.y + o.h > b.y + b.h
            for o in blobs
        )
        if not held:
            out.append(b)
    return out


def _bar(b: Blob) -> bool:
    """A solid upright bar (the frame between two drums), not a digit: even a
    seven-segment 1 has the notch between its two segments and their pointed ends."""
    return b.area > 0 and b.w < 0.3 * b.h and b.area >= 0.88 * b.w * b.h


def _merge_columns(boxes: list[list[int]], gap_share: float = 0.25) -> list[list[int]]:
    """Merge boxes that overlap horizontally and touch (or nearly) vertically: the
    segments of one seven-segment digit, the dot of an i-like glyph."""
    changed = True
    while changed:
        changed = False
        out: list[list[int]] = []
        for b in sorted(boxes, key=lambda b: (b[0], b[1])):
            for o in out:
                ox0, ox1 = max(b[0], o[0]), min(b[0] + b[2], o[0] + o[2])
                overlap = ox1 - ox0
                narrow = min(b[2], o[2])
                gap = max(b[1], o[1]) - min(b[1] + b[3], o[1] + o[3])
                tall = max(b[3], o[3])
                if overlap >= 0.4 * narrow and gap <= gap_share * tall:
                    x0, y0 = min(b[0], o[0]), min(b[1], o[1])
                    x1, y1 = max(b[0] + b[2], o[0] + o[2]), max(b[1] + b[3], o[1] + o[3])
                    o[:] = [x0, y0, x1 - x0, y1 - y0]
                    changed = True
                    break
            else:
                out.append(list(b))
        boxes = out
    return boxes


@dataclass
class _Candidate:
    members: list[Blob]
    pitch: float
    first: float  # the centre x of position 0 of the members' run
    index: list[int]  # each member's position on the regular row
    spread: float = 0.0  # how far (pixels, rms) the members sit off the regular row


def _centre(b: Blob) -> float:
    return b.cx


def _right(b: Blob) -> float:
    return float(b.x + b.w)


def _rows(
    blobs: list[Blob],
    n: int,
    min_pitch: float,
    max_pitch: float,
    every_gap: bool = False,
    printed: bool = False,
) -> list[_Candidate]:
    """Rows of blobs: same height, one line, regular pitch; lined up by their centres
    (printed digits, whose 1 is centred) and, unless the digits are known to be
    ``printed`` (drums), by their right edges (seven-segment digits, whose 1 is only the
    right-hand segments: on drums that key lined up the frame's bars between the faces
    with every other digit). ``every_gap`` tries each spacing seen as the pitch, not
    only their median and the smallest."""
    out: list[_Candidate] = []
    for key in (_centre,) if printed else (_centre, _right):
        out += _rows_by(blobs, n, min_pitch, max_pitch, key, every_gap)
    return out


def _slenderness(c: _Candidate) -> float:
    """The members' median width over their height."""
    return float(np.median([b.w / max(b.h, 1) for b in c.members]))


def _height(c: _Candidate) -> float:
    return float(np.median([b.h for b in c.members]))


def _with_carry(best: _Candidate, cands: list[_Candidate], n: int) -> _Candidate | None:
    """``best`` joined by the drums a carry turns with the last one: they turn together,
    so their figures stand on a line of their own, higher than the others', at ``best``'s
    pitch and on its columns, as tall as the settled figures or, cut by the drums'
    windows, down to half as tall (CUT_FIGURE; 8278399 with its last three drums 0.74
    turned showed its 4 and 0s three quarters high). The turning drums are the
    rightmost: a row to the right of ``best`` joins it, and so does a row to its left
    standing lower, when ``best`` is itself the turning drums (three drums in a carry
    tie with three settled ones and line up more regularly: 573399, its 3 and 9s
    raised, found the 3 and 9s and was refused as having no row). None when no such
    row completes ``best``."""
    gh = _height(best)
    left = min(b.x for b in best.members)
    right = max(b.x + b.w for b in best.members)
    best_cy = float(np.median([b.cy for b in best.members]))
    joined: list[_Candidate] = []
    for c in cands:
        if c is best or abs(c.pitch - best.pitch) > 0.1 * best.pitch:
            continue
        c_right = max(b.x + b.w for b in c.members)
        before = c_right <= left and float(np.median([b.cy for b in c.members])) > best_cy
        if min(b.x for b in c.members) < right and not before:
            continue
        # the turning drums' figures are cut by their windows, down to half a figure
        # (a drum 0.74 turned shows three quarters of the next): as tall as the settled
        # ones, or shorter
        settled, turning = (_height(c), gh) if before else (gh, _height(c))
        if not CUT_FIGURE * settled <= turning <= 1.2 * settled:
            continue
        steps = [(b.cx - best.first) / best.pitch for b in c.members]
        if any(abs(k - round(k)) > PITCH_TOLERANCE for k in steps):
            continue  # not on the row's columns
        index = [*best.index, *(int(round(k)) for k in steps)]
        if len(set(index)) != len(index) or max(index) - min(index) + 1 > n:
            continue
        lo = min(index)
        joined.append(
            _Candidate(
                [*best.members, *c.members],
                best.pitch,
                best.first + lo * best.pitch,
                [i - lo for i in index],
            )
        )
    if not joined:
        return None
    out = max(joined, key=lambda c: len(c.members))
    return out if len(out.members) >= max(2, n - MISSING_AT_MOST) else None


def _figures_in_faces(best: _Candidate, rows: list[_Candidate], n: int) -> _Candidate | None:
    """The figures' row when ``best`` is the row of drum faces holding them on two lines:
    a carry raises the turning drums' figures above the settled ones, so each line is a
    row shorter than the faces' (which a carry does not move) and the faces win the
    search; cut from the faces as figures, every cell took in the frame around them (a
    bench frame's 4072999, its 2 and 9s raised, was cut the window's whole height and
    refused). The best row of figures ``best`` holds, joined by the other line (see
    :func:`_with_carry`); None unless ``best``'s members are as wide as faces
    (FACES_TOUCH) and most hold figures of other rows, and these make a row of at least
    ``n - MISSING_AT_MOST``."""
    if float(np.median([m.w for m in best.members])) < FACES_TOUCH * best.pitch:
        return None  # figures, not faces (a row of 0s holds a row of their counters)
    others = [c for c in rows if c is not best]
    every = _Candidate([b for c in others for b in c.members], best.pitch, best.first, [])
    if not others or not _holds(best, every):
        return None
    held = [c for c in others if _holds(best, c) or _held_by(best, c)]
    if not held:
        return None
    figures = max(held, key=_score)
    joined = _with_carry(figures, rows, n)
    return joined if joined is not None and len(joined.members) > len(figures.members) else None


def _held_by(faces: _Candidate, c: _Candidate) -> bool:
    """Every member of ``c`` stands in one of ``faces``' members."""
    return all(any(_face_holds(o, b) for o in faces.members) for b in c.members)


def _whole_window(best: _Candidate, n: int, W: int, H: int) -> Row | None:
    """The window itself as the row, when the digits seen stand exactly on the cells of an
    equal split of it into ``n``: the window was drawn tightly around the digits, and the
    row search found too few whole figures to place the rest (a carry turning half the
    drums shows only halves of figures) or placed them past its edges. Such a window is
    cut as a tight window always was; any other weak row is no answer (None)."""
    cell = W / n
    if len(best.members) < 2 or abs(best.pitch - cell) > TIGHT_PITCH * cell:
        return None
    if _height(best) < TIGHT_FIGURE * H:
        return None  # small figures for the window: a loose window, not a tight one
    slots = [b.cx / cell - 0.5 for b in best.members]
    shift = round(slots[0]) - best.index[0]
    for k, i in zip(slots, best.index, strict=True):
        if abs(k - (i + shift)) > PITCH_TOLERANCE:
            return None
    if shift < 0 or max(best.index) + shift >= n:
        return None
    return Row(box=(0, 0, W, H), pitch=cell, members=len(best.members), tight=True)


def _row_edges(first: float, pitch: float, n: int, display: str) -> tuple[float, float]:
    """The left and right edges of a row of ``n`` cells whose first is centred at
    ``first``: a pitch wide each on an LCD (wider outer cells took in the glass's edge
    beside the first digit), 1.1 pitches for the outer drums."""
    side = 0.5 if display == "lcd7" else 0.6
    return first - side * pitch, first + (n - 1 + side) * pitch


def _runs_out(x0: float, x1: float, pitch: float, width: int) -> bool:
    """The row runs out of the window by more than a third of a cell: cells would be cut
    off."""
    return x0 < -0.35 * pitch or x1 > width + 0.35 * pitch


def _face_holds(o: Blob, b: Blob) -> bool:
    """``o`` is a drum face around the figure ``b``: ``b`` stands inside it, and ``o`` is
    a third taller or more."""
    return (
        o.x <= b.x
        and o.y <= b.y
        and b.x + b.w <= o.x + o.w
        and b.y + b.h <= o.y + o.h
        and o.h >= FACE_RATIO * b.h
    )


def _holds(outer: _Candidate, inner: _Candidate) -> bool:
    """Most of ``outer``'s members each hold a member of ``inner`` a third shorter or
    more: ``outer`` is the row of drum faces around ``inner``'s figures."""
    held = sum(any(_face_holds(o, b) for b in inner.members) for o in outer.members)
    return held * 2 > len(outer.members)


def _rows_by(
    blobs: list[Blob],
    n: int,
    min_pitch: float,
    max_pitch: float,
    key: Callable[[Blob], float],
    every_gap: bool = False,
) -> list[_Candidate]:
    out: list[_Candidate] = []
    for a in blobs:
        same = [
            b
            for b in blobs
            if abs(b.cy - a.cy) < 0.2 * a.h and 0.75 * a.h <= b.h <= 1.33 * a.h and b.w <= 1.2 * a.h
        ]
        if a not in same or len(same) < 2:
            continue
        same.sort(key=key)
        gaps = np.diff([key(b) for b in same])
        gaps = gaps[(gaps >= min_pitch) & (gaps <= max_pitch)]
        if not len(gaps):
            continue
        # the pitch: the typical spacing between neighbours (the median, or the smallest
        # when digits are missing), refined on the spacings that are whole steps of it
        guesses = {float(np.median(gaps)), float(np.min(gaps))}
        if every_gap:
            guesses |= {float(g) for g in gaps}
        for guess in guesses:
            cand = _on_grid(a, same, gaps, guess, n, key)
            if cand is not None:
                out.append(cand)
    return out


def _on_grid(
    a: Blob, same: list[Blob], gaps: np.ndarray, guess: float, n: int, key: Callable[[Blob], float]
) -> _Candidate | None:
    """The blobs of ``same`` on a regular row through ``a`` with about ``guess`` pitch."""
    near = gaps[np.abs(gaps / guess - np.round(gaps / guess)) < PITCH_TOLERANCE]
    steps = np.round(near / guess)
    pitch = float(np.sum(near) / np.sum(steps)) if np.sum(steps) else guess
    if not 0.55 * a.h <= pitch <= 2.2 * a.h:
        return None
    # two blobs on one place (a digit and a piece of it, found at another threshold):
    # the one nearest its place on the row, the first of equals
    placed: dict[int, tuple[float, Blob]] = {}
    for b in same:
        k = (key(b) - key(a)) / pitch
        off = abs(k - round(k))
        if off < PITCH_TOLERANCE and (round(k) not in placed or off < placed[round(k)][0]):
            placed[int(round(k))] = (off, b)
    idx = sorted(placed)
    mem = [placed[i][1] for i in idx]
    lo = min(idx)
    idx = [i - lo for i in idx]
    if max(idx) >= n + 2:
        # spread wider than a meter's row: keep the run of n positions holding most
        best = max(range(0, max(idx) + 1), key=lambda s: sum(s <= i < s + n for i in idx))
        keep = [j for j, i in enumerate(idx) if best <= i < best + n]
        mem = [mem[j] for j in keep]
        idx = [idx[j] - best for j in keep]
        lo += best
    if len(mem) > n + 1:
        return None  # more digits than the meter has (or half the pitch): not this row
    wide = max(b.w for b in mem)
    if float(np.median([b.w for b in mem if b.w >= 0.6 * wide])) > 0.85 * pitch:
        return None  # digits touching their neighbours: the bars between drums interleaved
    # the cells' centres: a seven-segment digit's right edge is half a full digit's
    # width right of its centre
    shift = (
        0.0 if key is _centre else -float(np.median([b.w for b in mem if b.w >= 0.6 * wide])) / 2
    )
    # the row's start from every member, not from one: each is off by a pixel or two
    starts = np.array([key(b) - i * pitch for b, i in zip(mem, idx, strict=True)])
    start = float(np.median(starts))
    spread = float(np.sqrt(np.mean((starts - start) ** 2)))
    return _Candidate(mem, pitch, start + shift, idx, spread)


def find_row(window_bgr: np.ndarray, n: int, display: str = "auto") -> Row | None:
    """The digit row in a (possibly loose) window of ``n`` digits, or None.

    Not told the display kind (``auto``), and finding no row with the rules common to
    both, the row is looked for as an LCD's and then as drums': the segments of an
    LCD's thin 1 stand apart (a colon, to the common rules, which merge only close
    pieces), and on the synthetic meter's LCD one frame in eight found no row while
    calibrated as ``lcd7`` every one did. Rules for a kind only run where the common
    ones found nothing, so a row found before is found the same."""
    row = _find_row(window_bgr, n, display)
    if row is None and display == "auto":
        row = _find_row(window_bgr, n, "lcd7") or _find_row(window_bgr, n, "drum")
    return row


def _find_row(window_bgr: np.ndarray, n: int, display: str) -> Row | None:
    """:func:`find_row` under one display kind's rules.

    ``display`` is the calibration's display kind. On an LCD (``lcd7``) a row of the
    digits' upper or lower halves competes with the row of whole digits: the segments of
    thin faces (DSEG's "Mini" styles) leave a gap at the middle that the segment merge
    does not bridge at every threshold, and a half row lines up as regularly as the
    whole one. There every spacing seen is tried as the pitch (a 1, lined up by its
    right edge, spoils the median), and the tallest rows win among rows of as many
    members: an LCD's reading is its largest figures."""
    gray = cv2.cvtColor(window_bgr, cv2.COLOR_BGR2GRAY) if window_bgr.ndim == 3 else window_bgr
    H, W = gray.shape[:2]
    if n < 1 or H < 8 or W < 8:
        return None
    # a window holds the row and at most a little more than as much again around it
    max_pitch = W / max(n - 0.5, 0.5) if n > 1 else float(W)
    min_pitch = W / (3.0 * n)
    # an LCD digit of thin segments has a gap at its middle up to about half a segment
    # long: its halves are merged across it (a drum's digit is one blob, and a wider
    # reach would glue it to the face's edges)
    gap = SEGMENT_GAP if display == "lcd7" else 0.25
    cands: list[_Candidate] = []
    pool: list[tuple[Blob, _Candidate]] = []
    every: list[Blob] = []
    for block in {max(7, int(min_pitch)), max(7, int(max_pitch * 0.9))}:
        # both polarities in one pool: a last drum of another colour shows its digit
        # the other way round from the rest
        blobs = [
            b
            for dark in (True, False)
            for b in _blobs(gray, dark, block, max_pitch, gap)
            if b.h >= 0.3 * min_pitch and b.h <= 0.95 * H and b.w <= max_pitch and not _bar(b)
        ]
        found = _rows(
            _without_counters(blobs),
            n,
            min_pitch,
            max_pitch,
            # every spacing seen: a thin blob between two figures (a 1's serif, the
            # frame between faces) spoils the median and the smallest spacing
            every_gap=display != "auto",
            printed=display == "drum",
        )
        for c in found:
            cands.append(_trim(c, n, THIN_END_LCD, W) if display == "lcd7" else _trim(c, n))
            pool.extend((b, c) for b in c.members)
        every.extend(blobs)
    if n == 1:
        return _single(gray)
    if not cands:
        return None
    every_row = cands
    if display == "drum":
        # nor is a row of the frame's strips between the faces (shaded, so not solid
        # enough to be dropped as bars one by one): printed figures are wider, even a 1
        # with its flag, and a row holds more than 1s
        figures = [c for c in cands if _slenderness(c) >= BAR_ROW]
        cands = figures or cands
    rows = cands
    if display != "auto":
        top = max(_score(c)[0] for c in cands)
        level = [c for c in cands if _score(c)[0] == top]
        if display == "lcd7":
            tallest = max(_height(c) for c in level)
            cands = [c for c in level if _height(c) >= TALLEST_SHARE * tallest]
        else:
            # drums: the faces, plain and evenly spaced, line up more regularly than
            # the figures in them; a row of faces is not the digit row
            inner = [c for c in level if not any(_holds(c, o) for o in level)]
            cands = inner or cands
    best = max(cands, key=_score)
    if display == "drum":
        best = _figures_in_faces(best, rows, n) or best
    if display == "drum" and len(best.members) < max(2, n - MISSING_AT_MOST):
        # from every row found, not only the best-scoring: the turning drums' line is
        # as long as the settled one only by chance
        best = _with_carry(best, rows, n) or best
    span = max(best.index) + 1
    if span > n or len(best.members) < max(2, n - MISSING_AT_MOST):
        return _whole_window(best, n, W, H)
    first: float | None = best.first
    if span < n:
        first = _faces_place(gray, best, cands, n)
        if first is None:
            first = _place(gray, best, n, drum=display == "drum")
        if (
            first is None
            and display == "drum"
            and not _runs_out(*_row_edges(best.first, best.pitch, n, display), best.pitch, W)
        ):
            # nothing tells where the missing drums are (a last drum of another colour
            # is of neither the faces' nor the frame's ground): on a counter only the
            # last drum turns alone, and a carry turns the drums next to it, so drums
            # caught turning, with no whole figure to find, are the rightmost. (Were a
            # leading one unseen instead, the last cell would hold the frame, read as
            # no digit: refused, never misread.)
            first = best.first
    if first is None:
        return _whole_window(best, n, W, H)
    hs = [b.h for b in best.members]
    gh = float(np.median(hs))
    cy = float(np.median([b.cy for b in best.members]))
    if display == "lcd7":
        whole = _whole_figures(best, every_row, first, n)
        if whole is not None:
            gh, cy = whole
    # drum faces are the cells themselves (plus the frame's margin); digits need room
    # above and below for a turning drum. A drum's digit sits where its window is, not
    # where the digit is (the model reads how far a drum has turned from that), so when
    # the faces around the digits are seen, the cells take their height from them
    faces = _are_faces(best, every, gray)
    around = None if faces else _faces_around(best, cands)
    # the faces seen as blobs of their own (a brightness step above and below the
    # digits, found next, may be an LCD's glass as well as a drum's face)
    seen = faces or around is not None
    if not faces and around is None and gh < 0.9 * best.pitch:
        # small digits for their pitch, as in drum windows: the faces' edges above and
        # below them
        around = _face_edges(gray, best)
        # a window of its own around each digit is a drum's, never an LCD's
        seen = around is not None and _faces_apart(gray, best, *around)
    if faces or around is not None:
        top, bottom = (
            around
            if around is not None
            else (
                float(np.median([b.y for b in best.members])),
                float(np.median([b.y + b.h for b in best.members])),
            )
        )
        margin = FRAME_MARGIN * (bottom - top)
        y0, y1 = top - margin, bottom + margin
        if around is not None and (y1 - y0 < 1.6 * gh or not y0 < cy < y1):
            around = None  # not a window around these digits after all
    if not faces and around is None:
        cell_h = max(1.55 * gh, 1.5 * best.pitch)
        y0, y1 = cy - cell_h / 2, cy + cell_h / 2
    x0, x1 = _row_edges(first, best.pitch, n, display)
    if _runs_out(x0, x1, best.pitch, W):
        # the row runs out of the window: cells would be cut off, unless the window
        # itself is the row
        return _whole_window(best, n, W, H)
    box = _clip(x0, y0, x1, y1, W, H)
    tight = box[2] * box[3] >= TIGHT_AREA * W * H
    if tight:
        box = (0, 0, W, H)
    sure = tight or faces or around is not None or gh >= 0.9 * best.pitch
    # with the faces seen, the cells are cut halfway between the faces' centres on the
    # row's pitch: the emptiest column between two digits (the vision's split) may lie
    # on the blank face beside a narrow digit, when the frame between drums falls on the
    # digits' side of the threshold (dark digits on light faces in a darker frame)
    cuts = (
        tuple(first + (i - 0.5) * best.pitch for i in range(1, n))
        if faces or around is not None
        else None
    )
    return Row(
        box=box,
        pitch=best.pitch,
        members=len(best.members),
        tight=tight,
        sure=sure,
        cuts=cuts,
        faces_seen=seen,
    )


def _whole_figures(
    best: _Candidate, cands: list[_Candidate], first: float, n: int
) -> tuple[float, float] | None:
    """The height and centre line of an LCD's whole digits, when ``best`` is a row of
    their lower or upper halves: a row of figures at least half again as tall, on the
    cells of ``best``'s row (its pitch, its members on the row's columns) and holding
    ``best``'s band. A seven-segment 5 or 2 has its two upright segments on opposite
    sides, so no merge joins its halves, and a reading of 5s, 2s, 7s and 1s lines up
    more halves than whole digits: the cells, sized from the halves, cut the digits'
    other halves off (read as signs that are not digits). None when there is no such
    row."""
    gh = _height(best)
    top = float(np.median([b.y for b in best.members]))
    bottom = float(np.median([b.y + b.h for b in best.members]))
    slack = 0.15 * gh
    for c in sorted(cands, key=_score, reverse=True):
        if len(c.members) < 2 or abs(c.pitch - best.pitch) > 0.1 * best.pitch:
            continue
        if _height(c) < 1.5 * gh:
            continue
        c_top = float(np.median([b.y for b in c.members]))
        c_bottom = float(np.median([b.y + b.h for b in c.members]))
        if c_top > top + slack or c_bottom < bottom - slack:
            continue  # does not hold the row's band: another row of figures
        # every member in one of the row's cells (a 1 is its right-hand segments, off
        # its cell's centre but inside the cell)
        steps = [(b.cx - first) / best.pitch for b in c.members]
        if any(abs(k - round(k)) > 0.35 or not 0 <= round(k) < n for k in steps):
            continue
        return _height(c), float(np.median([b.cy for b in c.members]))
    return None


def _trim(c: _Candidate, n: int, thin: float = THIN_END, width: int | None = None) -> _Candidate:
    """Drop members at the ends of a row longer than ``n`` that are least like the rest
    (the edge of the frame or the bezel lines up with the drums), and a bar at an end
    under ``thin`` of the digits' width (see :data:`THIN_END`) or, given the window's
    ``width``, touching its side (the window's own edge)."""
    mem, idx = list(c.members), list(c.index)
    mw = float(np.median([b.w for b in mem]))
    mh = float(np.median([b.h for b in mem]))

    def odd(b: Blob) -> float:
        return abs(np.log(max(b.w, 1) / mw)) + abs(np.log(max(b.h, 1) / mh))

    # a bar at an end far thinner than a digit (a face's or the frame's edge) is no digit
    while len(mem) > 2:
        lo, hi = idx.index(min(idx)), idx.index(max(idx))
        bars = [
            j
            for j in (lo, hi)
            if mem[j].w < thin * mw
            or (width is not None and (mem[j].x <= 0 or mem[j].x + mem[j].w >= width))
        ]
        if not bars:
            break
        del mem[bars[0]], idx[bars[0]]
    while len(mem) > 2 and max(idx) - min(idx) + 1 > n:
        lo = idx.index(min(idx))
        hi = idx.index(max(idx))
        drop = lo if odd(mem[lo]) >= odd(mem[hi]) else hi
        del mem[drop], idx[drop]
    base = min(idx)
    return _Candidate(mem, c.pitch, c.first + base * c.pitch, [i - base for i in idx], c.spread)


def _faces_around(best: _Candidate, cands: list[_Candidate]) -> tuple[float, float] | None:
    """Top and bottom of the drum faces holding ``best``'s digits: a row of the same
    pitch whose members are taller and hold the digits; None when there is none."""
    gh = float(np.median([b.h for b in best.members]))
    for c in sorted(cands, key=_score, reverse=True):
        if abs(c.pitch - best.pitch) > 0.1 * best.pitch:
            continue
        held = [
            f
            for f in c.members
            if f.h >= 1.3 * gh
            and f.area >= 0.7 * f.w * f.h
            and any(
                f.x <= d.cx <= f.x + f.w and f.y < d.y and d.y + d.h < f.y + f.h
                for d in best.members
            )
        ]
        if len(held) * 2 > len(best.members):
            return (
                float(np.median([f.y for f in held])),
                float(np.median([f.y + f.h for f in held])),
            )
    return None


def _faces_apart(gray: np.ndarray, best: _Candidate, top: float, bottom: float) -> bool:
    """Whether ``best``'s digits each stand in a drum window of their own: between each
    two, at the digits' height, runs the frame that lies above and below the windows
    (``top``/``bottom``, :func:`_face_edges`), of another grey than the faces' ground.

    An LCD's glass runs on between its digits, so the step of brightness above and below
    them (the glass meeting the bezel) alone could be either; a drum meter with no other
    sign of its faces read frames as an LCD (``display: auto``), and its last drum 0.88-
    0.93 turned, placed by the model on the next digit, became that digit: four of 280
    first frames of the held-out faces. Asked strictly so that an LCD never passes: the
    ground above and below each figure is flat (no segments of a half-digit row there),
    and the figures' ink is neither the frame's grey nor near the ground (which rows of
    the glass's own shading would be). Measured before it was wired in, on
    ``bench.frames`` frames (seeds 13, 7, 21 and 5, auto, every window): 73 of 480
    drum frames passed, among them the four taken for LCDs, and none of 480 LCD frames."""
    H = gray.shape[0]
    ms = sorted(zip(best.index, best.members, strict=True), key=lambda t: t[0])
    gh = float(np.median([b.h for b in best.members]))
    k = max(2, int(0.15 * gh))
    x0, x1 = min(d.x for _, d in ms), max(d.x + d.w for _, d in ms)
    outs = []
    if top - k - 1 >= 0:
        outs.append(gray[int(top) - k - 1 : int(top) - 1, x0:x1].ravel())
    if bottom + k + 1 <= H:
        outs.append(gray[int(bottom) + 1 : int(bottom) + k + 1, x0:x1].ravel())
    if not outs:
        return False
    frame = float(np.median(np.concatenate(outs)))
    grounds: list[tuple[float, float]] = []
    inks: list[float] = []
    for _, d in ms:
        above = (top + 0.2 * (d.y - top), d.y - 0.2 * (d.y - top))
        below_top = d.y + d.h
        below = (below_top + 0.2 * (bottom - below_top), bottom - 0.2 * (bottom - below_top))
        parts = [
            gray[max(0, int(y0)) : min(H, int(y1)), d.x : d.x + d.w].ravel()
            for y0, y1 in (above, below)
            if y1 - y0 >= 2
        ]
        parts = [p for p in parts if p.size]
        if parts:
            q1, med, q3 = np.percentile(np.concatenate(parts), [25, 50, 75])
            grounds.append((float(med), float(q3 - q1)))
    if len(grounds) < 2:
        return False
    ground = float(np.median([m for m, _ in grounds]))
    step = abs(frame - ground)
    if step < FACE_STEP or sum(q < FACE_FLAT * step for _, q in grounds) * 4 < 3 * len(grounds):
        return False
    for _, d in ms:
        lo, hi = np.percentile(gray[d.y : d.y + d.h, d.x : d.x + d.w], [5, 95])
        inks.append(float(lo if abs(lo - ground) > abs(hi - ground) else hi))
    ink = float(np.median(inks))
    if abs(ink - frame) < FRAME_NEAR * step or abs(ink - ground) < step:
        return False
    between = []
    for (i, a), (j, b) in zip(ms, ms[1:], strict=False):
        g0, g1 = a.x + a.w, b.x
        y0, y1 = max(a.y, b.y), min(a.y + a.h, b.y + b.h)
        if j != i + 1 or g1 - g0 < 3 or y1 - y0 < 4:
            continue
        cols = np.median(gray[y0:y1, g0:g1], axis=0)
        q = len(cols) // 4
        mid = cols[q : len(cols) - q]
        between.append(abs(float(mid[np.argmin(np.abs(mid - frame))]) - frame) <= FRAME_NEAR * step)
    return len(between) >= 2 and sum(between) * 4 >= 3 * len(between)


def _faces_place(
    gray: np.ndarray, best: _Candidate, cands: list[_Candidate], n: int
) -> float | None:
    """Where a row with positions missing starts, from the drum faces around it: a row
    of faces at the same pitch that holds the digits, whose faces past the digits are
    the drums caught turning (no whole figure in them). A last drum of another colour
    (red, as decimals often are) stands out from the others' ground, so only its face
    tells it from the frame. None unless the faces and digits make exactly ``n``
    positions."""
    gh = float(np.median([b.h for b in best.members]))
    pitch = best.pitch
    digits = {int(i) for i in best.index}
    for c in sorted(cands, key=_score, reverse=True):
        if abs(c.pitch - pitch) > 0.1 * pitch:
            continue
        faces = [
            f
            for f in c.members
            if f.h >= 1.3 * gh and (f.area >= 0.7 * f.w * f.h or _rectangular(gray, f))
        ]
        held = [
            f
            for f in faces
            if any(
                f.x <= d.cx <= f.x + f.w and f.y < d.y and d.y + d.h < f.y + f.h
                for d in best.members
            )
        ]
        if len(held) < 2:
            continue
        steps = [(f.cx - best.first) / pitch for f in faces]
        if any(abs(k - round(k)) > PITCH_TOLERANCE for k in steps):
            continue  # not on the digits' row
        places = digits | {int(round(k)) for k in steps}
        if max(places) - min(places) + 1 == n:
            return best.first + min(places) * pitch
    return None


def _face_edges(gray: np.ndarray, best: _Candidate) -> tuple[float, float] | None:
    """Top and bottom of the drum windows around ``best``'s digits: walking out from each
    digit, the first clear change of brightness (the face meeting the frame; the bezel
    beyond the frame changes more, but further out).

    Settled figures stand centred in their faces; when some do (at least two), only
    theirs are taken. The figures of drums turning in a carry stand higher, and the walk
    up from them passed the face's top and stopped on the bezel: with half the row
    turning, the faces came out a fifth too tall, and the turn of a drum 0.21 past its
    digit was read as 0.07."""
    H = gray.shape[0]
    tops: list[float] = []
    bottoms: list[float] = []
    centred: list[tuple[float, float]] = []
    for d in best.members:
        band = gray[:, d.x : d.x + d.w].astype(np.float32).mean(axis=1)
        band = cv2.GaussianBlur(band.reshape(-1, 1), (1, 3), 0).ravel()
        grad = np.abs(np.diff(band))  # grad[i]: between rows i and i + 1
        skip = max(2, int(0.2 * d.h))  # past the digit's own blurred edge
        up = grad[int(max(0, d.y - 1.0 * d.h)) : max(0, d.y - skip)][::-1]
        down = grad[min(H - 1, d.y + d.h + skip) : int(min(H - 1, d.y + 2.0 * d.h))]
        t, b = _first_edge(up), _first_edge(down)
        if t is None or b is None:
            continue
        tops.append(d.y - skip - t)
        bottoms.append(d.y + d.h + skip + b + 1)
        if abs(d.cy - (tops[-1] + bottoms[-1]) / 2) <= CENTRED * (bottoms[-1] - tops[-1]):
            centred.append((tops[-1], bottoms[-1]))
    if len(tops) * 2 <= len(best.members):
        return None
    if len(centred) >= 2:
        tops, bottoms = [t for t, _ in centred], [b for _, b in centred]
    top, bottom = float(np.median(tops)), float(np.median(bottoms))
    gh = float(np.median([b.h for b in best.members]))
    if not 1.3 * gh <= bottom - top <= 3.0 * gh:
        return None
    return top, bottom


def _first_edge(grad: np.ndarray) -> int | None:
    """Index of the first peak of ``grad`` at least 40 % of its largest value."""
    if len(grad) < 3 or grad.max() < 4.0:
        return None
    bar = 0.4 * float(grad.max())
    for i in range(len(grad)):
        if grad[i] >= bar:
            while i + 1 < len(grad) and grad[i + 1] >= grad[i]:
                i += 1
            return i
    return None


def _are_faces(c: _Candidate, blobs: list[Blob], gray: np.ndarray) -> bool:
    """The members are drum faces (each holds a digit-sized blob) rather than digits."""
    if float(np.median([m.w for m in c.members])) < FACES_TOUCH * c.pitch:
        return False  # faces nearly touch (only the frame between them); digits do not
    inside = 0
    for m in c.members:
        if m.area < 0.7 * m.w * m.h and not _rectangular(gray, m):
            # a face is solid around its digit, a 0 around its counter is not; but a
            # bold or large digit (or the two halves of a turning drum) takes more than
            # a third of its face, and then only the face's square corners tell
            continue
        for b in blobs:
            if (
                b.x > m.x
                and b.y > m.y
                and b.x + b.w < m.x + m.w
                and b.y + b.h < m.y + m.h
                and b.h >= 0.3 * m.h
            ):
                inside += 1
                break
    return inside * 2 > len(c.members)


def _rectangular(gray: np.ndarray, b: Blob) -> bool:
    """The blob's box is filled to its corners, as a drum face is: all four corners are
    of one grey, set off from what surrounds the box by the local threshold's own margin
    (and to the same side). A digit's box, even a 0's or an 8's, has background in its
    corners, as around it; a box merged from pieces of the face and the bezel has the
    bezel's grey in its corners and around them."""
    H, W = gray.shape[:2]
    inset_x, inset_y = max(1, int(0.05 * b.w)), max(1, int(0.05 * b.h))
    pw, ph = max(2, int(0.12 * b.w)), max(2, int(0.12 * b.h))
    xs = (b.x + inset_x, b.x + b.w - inset_x - pw)
    ys = (b.y + inset_y, b.y + b.h - inset_y - ph)
    patches = [gray[max(0, y) : y + ph, max(0, x) : x + pw] for y in ys for x in xs]
    if any(p.size == 0 for p in patches):
        return False  # a box too small (or cut by the window's edge) to have corners
    corners = [float(np.median(p)) for p in patches]
    # the ring just outside the box (the frame between drums, around the faces)
    d = max(2, int(0.06 * min(b.w, b.h)))
    x0, y0 = max(0, b.x - 1 - d), max(0, b.y - 1 - d)
    x1, y1 = min(W, b.x + b.w + 1 + d), min(H, b.y + b.h + 1 + d)
    ring = np.ones((y1 - y0, x1 - x0), bool)
    ring[
        max(0, b.y - 1) - y0 : min(H, b.y + b.h + 1) - y0,
        max(0, b.x - 1) - x0 : min(W, b.x + b.w + 1) - x0,
    ] = False
    if ring.sum() < 8:
        return False  # the box fills the window: nothing around it to set it off from
    around = float(np.median(gray[y0:y1, x0:x1][ring]))
    diffs = [v - around for v in corners]
    one_grey = max(corners) - min(corners) < 0.5 * min(abs(v) for v in diffs)
    same_side = all(v > 0 for v in diffs) or all(v < 0 for v in diffs)
    return same_side and one_grey and min(abs(v) for v in diffs) >= BLOB_MARGIN


def _score(c: _Candidate) -> tuple[float, float]:
    """More members first; between equals, digit-shaped ones (the bars between drums
    form a row too, but of thin bars), then the most regular (printed digits line up
    by their centres, seven-segment digits by their right edges)."""
    aspect = float(np.median([b.w / b.h for b in c.members]))
    shaped = 0.5 if 0.3 <= aspect <= 1.0 else 0.0
    return len(c.members) + shaped, -c.spread - 0.1 * float(np.std([b.h for b in c.members]))


def _clip(x0: float, y0: float, x1: float, y1: float, w: int, h: int) -> tuple[int, int, int, int]:
    a, b = max(0, int(round(x0))), max(0, int(round(y0)))
    c, d = min(w, int(round(x1))), min(h, int(round(y1)))
    return a, b, max(1, c - a), max(1, d - b)


def _place(gray: np.ndarray, cand: _Candidate, n: int, drum: bool = False) -> float | None:
    """Where a row with positions missing at its ends starts: the placement whose extra
    positions are busiest (a turning drum shows ink, the frame beyond the row is plain);
    None when two placements are about as busy (then any choice would be a guess).

    On drums (``drum``) the positions right of the row win whenever something stands
    there, whatever its ground: the last drum is the one that turns alone, and it is
    often red (a red last drum caught turning was placed on the bezel left of the row)."""
    span = max(cand.index) + 1
    missing = n - span
    H, W = gray.shape[:2]
    gh = float(np.median([b.h for b in cand.members]))
    cy = float(np.median([b.cy for b in cand.members]))
    # a drum between two digits shows them above and below the others' band: measure
    # over the whole cell's height
    reach = max(gh / 2, 0.6 * cand.pitch)
    y0, y1 = int(max(0, cy - reach)), int(min(H, cy + reach))
    half = cand.pitch * 0.35

    def busy(k: int) -> float:
        cx = cand.first + k * cand.pitch
        a, b = int(cx - half), int(cx + half)
        if a < 0 or b > W:
            return -1.0  # outside the window: not a place for a digit
        patch = gray[y0:y1, a:b].astype(np.float32)
        return float(patch.std()) if patch.size else -1.0

    inside = [busy(k) for k in range(span)]
    ref = float(np.median([v for v in inside if v >= 0])) if inside else 1.0
    # a missing digit sits on the same face or glass as the others: the frame or bezel
    # beyond the row is busy at its edges too, but of another grey
    grounds = [_ground(gray, y0, y1, int(b.cx - half), int(b.cx + half)) for b in cand.members]
    ground = float(np.median(grounds))

    def fits(k: int) -> float:
        cx = cand.first + k * cand.pitch
        g = _ground(gray, y0, y1, int(cx - half), int(cx + half))
        return max(0.0, 1.0 - abs(g - ground) / max(2.0 * ref, 1.0))

    scores: list[tuple[float, int]] = []
    #: how busy the places right of the row are, whatever their ground (drums only)
    right_busy = 0.0
    for left in range(missing + 1):
        extra = [k for k in range(-left, 0)] + [span + k for k in range(missing - left)]
        vals = [busy(k) for k in extra]
        if min(vals) < 0:
            continue
        if drum and left == 0:
            right_busy = min(vals) / max(ref, 1e-3)
        scores.append(
            (min(v / max(ref, 1e-3) * fits(k) for v, k in zip(vals, extra, strict=True)), left)
        )
    if not scores:
        return None
    scores.sort(reverse=True)
    right = max(right_busy, next((v for v, left in scores if left == 0), 0.0))
    if right >= 0.35:
        # the drums that turn (the last, and those a carry turns with it) are on the
        # right: when something stands there, that is where the missing digits are
        return cand.first
    best, left = scores[0]
    if best < 0.35:
        return None  # nothing there that could be a digit
    if len(scores) > 1 and scores[1][0] > 0.6 * best:
        return None  # two places look alike: do not guess
    return cand.first - left * cand.pitch


def _ground(gray: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> float:
    """The background grey of a box: its median (ink is the minority)."""
    patch = gray[y0:y1, max(0, x0) : max(0, x1)]
    return float(np.median(patch)) if patch.size else 0.0


def _single(gray: np.ndarray) -> Row | None:
    """One digit: the window is taken as it is (nothing to line up)."""
    H, W = gray.shape[:2]
    return Row(box=(0, 0, W, H), pitch=float(W), members=1, tight=True)
