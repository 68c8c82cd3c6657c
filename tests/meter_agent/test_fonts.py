"""Digit cells rendered from Debian's font faces (meter_agent/training/fonts.py): real
rendering with Pillow and OpenCV, read by the shipped digit model."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from meter_agent.engines.digits import DigitsEngine
from meter_agent.training import fonts as F

DEJAVU_SANS = F.FONT_ROOT / "dejavu" / "DejaVuSans.ttf"
needs_fonts = pytest.mark.skipif(
    not F.present_fonts([DEJAVU_SANS]) or not F.present_fonts(F.HELDOUT_FONTS),
    reason="the Debian font packages are not installed (scripts/bootstrap.sh installs them)",
)


def test_split_is_disjoint_by_family_and_has_both_kinds_on_each_side() -> None:
    train = {F.family(f) for f in F.TRAIN_FACES}
    held = {F.family(f) for f in F.HELDOUT_FACES}
    assert not train & held
    assert set(F.TRAIN_FACES) | set(F.HELDOUT_FACES) == set(F.FACES)
    for side in (F.TRAIN_FACES, F.HELDOUT_FACES):
        kinds = {F.face_kind(f) for f in side}
        assert {"seven", "printed"} <= kinds
    # about a quarter of the faces
    assert 0.15 <= len(F.HELDOUT_FACES) / len(F.FACES) <= 0.45


def test_split_is_stable() -> None:
    # the families held out are part of the bench's meaning: a change here must be deliberate
    assert {F.family(f) for f in F.HELDOUT_FACES} == {
        "DSEG14Classic",
        "DSEG7Modern",
        "DejaVuSans",
        "LiberationMono",
    }
    shuffled = list(F.FACES)
    random.Random(3).shuffle(shuffled)
    train, held = F.split_faces(shuffled)
    assert set(train) == set(F.TRAIN_FACES) and set(held) == set(F.HELDOUT_FACES)


def test_a_missing_font_dir_gives_no_fonts_and_cells_still_come(tmp_path: Path) -> None:
    assert F.fonts_under(tmp_path / "no-such-dir") == []
    assert F.fonts_under(tmp_path / "no-such-dir", heldout=True) == []
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font")
    assert F.present_fonts([junk, tmp_path / "missing.ttf"]) == []
    # no face present: the drawn styles stand in, so training still gets cells
    cells, pos = F.font_cells(20, 1, fonts=[tmp_path / "missing.ttf"])
    assert len(cells) == 20 and pos.shape == (20,)


@needs_fonts
def test_cells_and_positions_are_in_range() -> None:
    cells, pos = F.font_cells(400, 11)
    assert len(cells) == 400 and pos.shape == (400,)
    for c in cells:
        assert c.dtype == np.uint8 and c.ndim == 2
        assert 24 <= c.shape[0] <= 80 and c.shape[1] >= 6
        assert float(c.std()) > 0.5  # something was drawn, not an empty plane
    digit = pos[pos != F.NOT_A_DIGIT]
    assert np.all((digit >= 0.0) & (digit <= 9.9))
    assert np.allclose(digit * 10, np.round(digit * 10))  # whole tenths
    # the mix: settled digits, rolling drums, and a few cells that are not a digit
    n_not = int(np.sum(pos == F.NOT_A_DIGIT))
    rolling = digit[digit != np.round(digit)]
    assert 5 <= n_not <= 45
    assert len(rolling) >= 60
    assert len(set(np.round(digit).astype(int) % 10)) == 10


@needs_fonts
def test_cells_are_deterministic_per_seed() -> None:
    a, pa = F.font_cells(40, 5)
    b, pb = F.font_cells(40, 5)
    c, pc = F.font_cells(40, 6)
    assert np.array_equal(pa, pb)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(pa, pc)


@needs_fonts
def test_given_fonts_are_the_only_faces_drawn() -> None:
    # one segment face only: it draws settled digits only (a segment face is no drum)
    seven = [f for f in F.present_fonts(F.HELDOUT_FONTS) if F.face_kind(f) == "seven"]
    _, pos = F.font_cells(150, 2, fonts=seven[:1])
    digit = pos[pos != F.NOT_A_DIGIT]
    assert np.array_equal(digit, np.round(digit))


@needs_fonts
@pytest.mark.parametrize("light_on_dark", [False, True])
def test_the_shipped_model_reads_clean_renders_of_a_common_face(light_on_dark: bool) -> None:
    cells = [F.clean_cell(DEJAVU_SANS, d, light_on_dark=light_on_dark) for d in F.DIGITS]
    guesses = DigitsEngine().read(cells)
    right = sum(g.char == d for g, d in zip(guesses, F.DIGITS, strict=True))
    assert right >= 8, [g.char for g in guesses]
    # and a letter in the same face is not read as a confident digit
    letter = DigitsEngine().read([F.clean_cell(DEJAVU_SANS, "H", light_on_dark=light_on_dark)])
    assert letter[0].char is None or letter[0].confidence < 0.95


@needs_fonts
@pytest.mark.parametrize("kind", ["lcd7", "drum"])
def test_synth_frames_in_a_face_keep_their_geometry(kind: str) -> None:
    from meter_agent.synth import make_stream, render_frame

    face = F.HELDOUT_FONTS[0] if kind == "lcd7" else DEJAVU_SANS
    plain = render_frame(kind, "093199", seed=8, roll=0.3 if kind == "drum" else 0.0)  # type: ignore[arg-type]
    faced = render_frame(kind, "093199", seed=8, roll=0.3 if kind == "drum" else 0.0, font=face)  # type: ignore[arg-type]
    assert faced.roi == plain.roi and faced.bezel == plain.bezel
    assert faced.rotation == plain.rotation and faced.digits == plain.digits
    # only the digits changed: the same frame outside the window
    diff = np.abs(faced.image.astype(np.int16) - plain.image.astype(np.int16)).sum(axis=2)
    m = cv2.getRotationMatrix2D((640, 360), plain.rotation, 1.0)
    diff = cv2.warpAffine(diff.astype(np.float32), m, (1280, 720))
    x, y, w, h = plain.roi
    assert diff.sum() > 0
    assert diff[y : y + h, x : x + w].sum() >= 0.97 * diff.sum()
    stream = make_stream(kind, 4, seed=2, font=face)  # type: ignore[arg-type]
    assert len({tuple(f.roi) for f in stream}) == 1


@needs_fonts
def test_a_character_the_face_lacks_falls_back_to_segments() -> None:
    from meter_agent.synth import draw_lcd_cell

    # a blank in a face is the plain background
    blank = draw_lcd_cell(" ", 40, 70, face=DEJAVU_SANS, ghost=0.0)
    assert np.array_equal(blank, np.broadcast_to(np.array((170, 180, 170), np.uint8), blank.shape))
    # a face's own letter is its glyph, not the segment drawing
    assert not np.array_equal(
        draw_lcd_cell("r", 40, 70, face=DEJAVU_SANS), draw_lcd_cell("r", 40, 70)
    )
    # the dot matrix style has no "r": the segments are drawn instead
    dots = Path("drawn:dots")
    assert np.array_equal(draw_lcd_cell("r", 40, 70, face=dots), draw_lcd_cell("r", 40, 70))
    assert not np.array_equal(draw_lcd_cell("4", 40, 70, face=dots), draw_lcd_cell("4", 40, 70))


@needs_fonts
@pytest.mark.parametrize("seed", range(6))
def test_a_plain_zero_gets_a_mark_inside_its_counter(seed: int) -> None:
    """Training zeros marked as other faces mark theirs (a dot, a bar, a slash): the
    ring is kept, ink is added in the middle, and only the middle's neighbourhood."""
    g = F._face_glyphs(str(DEJAVU_SANS))
    zero = g.scaled(30, 48)["0"]
    gh, gw = zero.shape
    centre = (slice(gh * 2 // 5, gh * 3 // 5), slice(gw * 2 // 5, gw * 3 // 5))
    assert float(zero[centre].mean()) < 0.05  # DejaVu Sans draws a plain 0
    marked = F._marked_zero(zero, np.random.default_rng(seed))
    assert float(marked[centre].mean()) > 0.15
    assert np.all(marked >= zero - 1e-6)  # the ring is untouched
    assert float((marked - zero).sum()) < 0.5 * float(zero.sum())
