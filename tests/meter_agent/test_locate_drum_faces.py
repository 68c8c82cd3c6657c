"""Drum faces in a loose window: the faces give the cells' height even when a large or
bold figure takes more than a third of its face, and the cells are cut between the faces
even when the frame between drums falls on the figures' side of the threshold."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from read_support import T0, config_for

from meter_agent.config import CalibrationConfig, OcrConfig
from meter_agent.locate import Row, find_row
from meter_agent.reader import MeterReader
from meter_agent.synth import SynthFrame, loose_roi, render_frame
from meter_agent.training import fonts as F
from meter_agent.vision import process_window, upright_window

PRINTED = [f for f in F.present_fonts(F.HELDOUT_FONTS) if F.face_kind(f) == "printed"]
BOLD = [f for f in PRINTED if "Bold" in f.name]

needs_fonts = pytest.mark.skipif(
    not BOLD, reason="the held-out printed font faces are not installed"
)


@needs_fonts
def test_bold_figures_in_their_faces_give_the_faces_height() -> None:
    off = []
    for seed in range(12):
        f = render_frame("drum", "28308", seed=seed, font=BOLD[seed % len(BOLD)], roll=0.3)
        roi = loose_roi(f, 0.12)
        row = find_row(upright_window(f.image, f.rotation, roi), 5)
        if row is None:
            continue  # no row found: refused, a matter for another day, never misread
        ty, th = f.roi[1] - roi[1], f.roi[3]
        x, y, w, h = row.box
        off.append(abs(y - ty) + abs(y + h - ty - th) > 0.1 * th)
    # the window the cells are cut from is the drums' own (faces and frame margin), not
    # an estimate from the figures' height a fifth too tall
    assert len(off) >= 9 and not any(off), off


@needs_fonts
def test_cells_are_cut_between_the_faces() -> None:
    uneven = []
    for seed in range(12):
        f = render_frame("drum", "151416", seed=seed, font=PRINTED[seed % len(PRINTED)])
        cal = CalibrationConfig(roi=loose_roi(f, 0.12), rotate_degrees=f.rotation, display="drum")
        win = process_window(f.image, cal, OcrConfig(expected_digits=6), locate=True)
        widths = np.array([c.box[2] for c in win.cells[1:-1]], float)
        # the inner cells are each one pitch wide: a cut moved onto the plain face beside
        # a 1 makes one cell a quarter narrower and its neighbour a quarter wider
        uneven.append(float(widths.max() - widths.min()) > 0.12 * float(np.median(widths)))
    assert sum(uneven) <= 1, uneven


MONO = [f for f in PRINTED if f.name.startswith("LiberationMono")]


def _bench_frame_row(
    face: str, digits: str, seed: int, nuisance_seed: int, roll: float, roi: list[int]
) -> tuple[SynthFrame, list[int], Row]:
    """One of the frame bench's drum frames (a 1280×720 meter in a Liberation Mono face)
    and the row found in its window; the row must be found."""
    f = render_frame(
        "drum",
        digits,
        seed=seed,
        nuisance_seed=nuisance_seed,
        font=next(m for m in MONO if m.name == face),
        roll=roll,
        frame_size=(1280, 720),
    )
    row = find_row(upright_window(f.image, f.rotation, roi), len(digits))
    assert row is not None
    return f, roi, row


@pytest.mark.skipif(not MONO, reason="the held-out Liberation Mono faces are not installed")
def test_a_zeros_counter_is_no_digit_of_the_row() -> None:
    # Liberation Mono's 0 holds a dotted counter nearly its own height: with the window's
    # edge beside the row, the counters made a row of five that outnumbered the four
    # settled figures, and the cells were cut a drum to the left (the bench's frame)
    f, roi, row = _bench_frame_row(
        "LiberationMono-Regular.ttf", "80303", 1120052390, 283038934, 0.7169, [228, 345, 483, 217]
    )
    tx, tw = f.roi[0] - roi[0], f.roi[2]
    x, _, w, _ = row.box
    assert abs(x - tx) < 0.3 * row.pitch and abs(x + w - tx - tw) < 0.3 * row.pitch


@pytest.mark.skipif(not MONO, reason="the held-out Liberation Mono faces are not installed")
def test_a_turning_last_drum_of_another_colour_is_placed_by_its_face() -> None:
    found = placed = 0
    for seed in range(16):
        # some of these meters have a red last drum, caught turning: no whole figure in
        # it, and its ground unlike the other faces', so only its face says it is a drum
        f = render_frame("drum", "80300", seed=seed, font=MONO[seed % len(MONO)], roll=0.7)
        roi = loose_roi(f, 0.12)
        row = find_row(upright_window(f.image, f.rotation, roi), 5)
        if row is None:
            continue
        found += 1
        tx, tw = f.roi[0] - roi[0], f.roi[2]
        x, _, w, _ = row.box
        placed += abs(x - tx) < 0.3 * row.pitch and abs(x + w - tx - tw) < 0.3 * row.pitch
    # every row found; one meter's row is still placed too wide (a separate fault: the
    # window's edge beside it lines up with the drums), as before these changes
    assert found == 16 and placed >= 15, (found, placed)


@pytest.mark.skipif(not MONO, reason="the held-out Liberation Mono faces are not installed")
def test_faces_are_not_glued_to_the_bezel_above_and_below() -> None:
    # a thin frame between dark faces and a dark bezel: merging pieces (for LCD
    # segments) glued each face to scraps of the bezel, and the cells were cut nearly
    # twice the faces' height (the bench's frame)
    f, roi, row = _bench_frame_row(
        "LiberationMono-BoldItalic.ttf",
        "59028",
        1724651124,
        959857363,
        0.6327,
        [482, 235, 496, 186],
    )
    ty, th = f.roi[1] - roi[1], f.roi[3]
    _, y, _, h = row.box
    assert abs(y - ty) + abs(y + h - ty - th) < 0.1 * th, (row.box, ty, th)


@needs_fonts
def test_a_frame_read_through_the_row_of_before_is_cut_between_the_faces() -> None:
    """A frame whose own row is not found (or only estimated) is cut through the row this
    calibration's window showed before: between the faces as then, not by the ink."""
    from meter_agent.config import AgentConfig
    from meter_agent.reader import MeterReader

    differ = 0
    for seed in range(8):
        f = render_frame("drum", "151416", seed=seed, font=PRINTED[seed % len(PRINTED)])
        cal = CalibrationConfig(roi=loose_roi(f, 0.12), rotate_degrees=f.rotation, display="drum")
        ocr = OcrConfig(expected_digits=6)
        found = process_window(f.image, cal, ocr, locate=True)
        if found.cuts is None:
            continue
        again = process_window(f.image, cal, ocr, row=found.row, cuts=found.cuts)
        assert [c.box for c in again.cells] == [c.box for c in found.cells]
        by_ink = process_window(f.image, cal, ocr, row=found.row)
        differ += [c.box for c in by_ink.cells] != [c.box for c in found.cells]
        # the reader keeps the cuts with the row it remembers
        cfg = AgentConfig()
        cfg.calibration, cfg.ocr = cal, ocr
        reader = MeterReader(cfg)
        reader.process_for_preview(f.image)
        assert reader._row is not None and reader._row[3] == found.cuts
    assert differ >= 1  # cut by the ink instead, some of these rows' cells move


def test_the_faces_height_comes_from_settled_figures_not_a_carrys() -> None:
    """In a carry (162499, the last three drums 0.21 past their digits) the turning
    figures stand higher, and the walk up from them passed the faces' top and stopped on
    the bezel: the faces came out a fifth too tall, the turn read 0.07, and the loose
    window was refused. Settled figures, centred in their faces, give the faces' height."""
    face = next((f for f in PRINTED if f.name == "LiberationMono-BoldItalic.ttf"), None)
    if face is None:
        pytest.skip("fonts-liberation is not installed")
    f = render_frame(
        "drum",
        "162499",
        seed=1366022526,
        nuisance_seed=1979381504,
        font=face,
        roll=0.2126,
        frame_size=(1280, 720),
    )
    roi = [497, 291, 581, 214]  # drawn around the display, as bench.frames draws it
    row = find_row(upright_window(f.image, f.rotation, roi), 6, "drum")
    assert row is not None
    top, height = f.roi[1] - roi[1], f.roi[3]
    assert abs(row.box[1] - top) < 0.05 * height and abs(row.box[3] - height) < 0.05 * height
    cfg = config_for(f, display="drum")
    cfg.calibration.roi = roi
    res = MeterReader(cfg).read_frames([f.image], T0)
    assert res.accepted and res.digits == "162499", (res.digits, res.reason)


#: frames of bench.frames: (face, digits, style seed, nuisance seed, roll, window)
ROWS_AMONG_BARS = [
    # a carry lowers the last three figures: the frame's bars between the faces, lined
    # up by their right edges with two figures, made a row of four at a third too
    # small a pitch, and the cells were cut from the second drum on
    (
        "LiberationMono-BoldItalic.ttf",
        "51799",
        1115920464,
        1034811125,
        0.88238,
        [520, 218, 372, 145],
    ),
    # lined up by centres alone, a bar beside the last face spoiled the median and the
    # smallest spacing, and the row's own pitch was never tried
    ("DejaVuSans-Bold.ttf", "59731", 1211150155, 191775579, 0.0, [666, 315, 283, 90]),
]


@pytest.mark.parametrize("face,digits,seed,nuisance,roll,roi", ROWS_AMONG_BARS)
def test_drum_figures_are_lined_up_by_their_centres_at_any_spacing_seen(
    face: str, digits: str, seed: int, nuisance: int, roll: float, roi: list[int]
) -> None:
    """Printed figures are centred on their drums: on a drum display rows are lined up
    by centres only (the right-edge key is for seven-segment 1s) and every spacing seen
    is tried as the pitch, so the frame's bars between the faces make no row."""
    font = next((f for f in PRINTED if f.name == face), None)
    if font is None:
        pytest.skip(f"{face} is not installed")
    f = render_frame(
        "drum",
        digits,
        seed=seed,
        nuisance_seed=nuisance,
        font=font,
        roll=roll,
        frame_size=(1280, 720),
    )
    row = find_row(upright_window(f.image, f.rotation, roi), len(digits), "drum")
    assert row is not None
    tx, tw = f.roi[0] - roi[0], f.roi[2]
    x, _, w, _ = row.box
    assert abs(x - tx) < 0.3 * row.pitch and abs(x + w - tx - tw) < 0.3 * row.pitch, (row, tx, tw)


def _three_digits(faces_apart: bool) -> tuple[np.ndarray, Any]:
    """Three light figures on dark ground in a grey frame: each in a window of its own,
    or all on one dark glass."""
    from meter_agent.locate import Blob, _Candidate

    gray = np.full((100, 180), 120, np.uint8)  # the frame
    if faces_apart:
        for x in (10, 70, 130):
            gray[10:90, x : x + 40] = 30  # one face per digit
    else:
        gray[10:90, 10:170] = 30  # one glass under all three
    members = []
    for x in (22, 82, 142):
        gray[30:70, x : x + 16] = 220
        members.append(Blob(x, 30, 16, 40, 16 * 40))
    return gray, _Candidate(members=members, pitch=60.0, first=30.0, index=[0, 1, 2])


def test_the_frame_between_drum_windows_tells_them_from_one_glass() -> None:
    from meter_agent.locate import _faces_apart

    gray, row = _three_digits(faces_apart=True)
    assert _faces_apart(gray, row, 10.0, 90.0)
    gray, row = _three_digits(faces_apart=False)
    assert not _faces_apart(gray, row, 10.0, 90.0)
    # edges measured at or past the window's own edge: an answer, never an IndexError
    gray, row = _three_digits(faces_apart=True)
    for top, bottom in ((-4.0, 104.0), (0.0, 100.0), (29.0, 71.0)):
        assert _faces_apart(gray, row, top, bottom) in (True, False)
