"""A camera that moves: each frame is aligned to the calibration's reference frame before
the window is cut. Frames shifted by a few percent and turned by up to 2° read right;
a frame that cannot be aligned (the meter mostly out of view, moved far, another meter)
is refused as camera_moved, and nothing wrong is ever accepted."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from read_support import T0, config_for, hourly

from meter_agent import checks
from meter_agent.align import MOVED, Reference, roi_in_raw
from meter_agent.reader import MeterReader
from meter_agent.synth import loose_roi, make_stream, move_frame, move_image, render_frame


def _true_matrix(size: tuple[int, int], dx: float, dy: float, degrees: float) -> np.ndarray:
    w, h = size
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    m[0, 2] += dx
    m[1, 2] += dy
    return m


@pytest.mark.parametrize("kind", ["lcd7", "drum"])
def test_the_alignment_finds_the_move_to_a_pixel(kind: str) -> None:
    frames = make_stream(kind, 4, seed=7)  # type: ignore[arg-type]
    ref = Reference(frames[0].image)
    rng = np.random.default_rng(1)
    for f in frames[1:]:
        dx, dy = rng.uniform(-0.03, 0.03) * 1280, rng.uniform(-0.03, 0.03) * 720
        deg = float(rng.uniform(-2, 2))
        a = ref.align(move_image(f.image, dx, dy, deg), f.roi, f.rotation)
        assert a.ok, a.why
        corners = roi_in_raw(f.roi, f.rotation, (1280, 720))
        m = _true_matrix((1280, 720), dx, dy, deg)
        want = corners @ m[:, :2].T + m[:, 2]
        got = corners @ a.matrix[:, :2].T + a.matrix[:, 2]
        assert np.abs(want - got).max() < 1.5
        assert abs(a.degrees - deg) < 0.2


def test_a_still_camera_is_cut_exactly_as_without_a_reference() -> None:
    frames = make_stream("lcd7", 3, seed=8)
    ref = Reference(frames[0].image)
    a = ref.align(frames[2].image, frames[2].roi, frames[2].rotation)
    assert a.ok and a.still and np.array_equal(a.matrix, np.eye(2, 3))


@pytest.mark.parametrize("kind", ["lcd7", "drum"])
def test_moved_frames_read_right_after_alignment(kind: str) -> None:
    frames = make_stream(kind, 7, seed=21)  # type: ignore[arg-type]
    still = MeterReader(config_for(frames[0]))
    moved = MeterReader(config_for(frames[0]))
    moved.set_reference(frames[0].image)
    rng = np.random.default_rng(2)
    agree = 0
    for i, f in enumerate(frames[1:]):
        dx, dy = rng.choice([-1, 1]) * 0.03 * 1280, rng.choice([-1, 1]) * 0.03 * 720
        deg = float(rng.choice([-2.0, 2.0]))
        a = still.read_frames([f.image], hourly(i))
        b = moved.read_frames([move_frame(f, dx, dy, deg).image], hourly(i))
        assert moved.alignment is not None and moved.alignment.ok
        assert not b.accepted or b.digits == f.digits, (i, b.digits, f.digits)
        agree += (a.accepted, a.digits) == (b.accepted, b.digits)
    assert agree >= len(frames) - 2


def test_a_loose_window_on_a_moved_camera_reads_right() -> None:
    frames = make_stream("drum", 5, seed=22, roll_every=0)
    still = MeterReader(config_for(frames[0]))
    cfg = config_for(frames[0])
    cfg.calibration.roi = loose_roi(frames[0], 0.1)
    reader = MeterReader(cfg)
    reader.set_reference(frames[0].image)
    agree = accepted = 0
    for i, f in enumerate(frames[1:]):
        a = still.read_frames([f.image], hourly(i))
        b = reader.read_frames([move_frame(f, -30, 18, 1.5).image], hourly(i))
        assert not b.accepted or b.digits == f.digits, (i, b.digits, f.digits)
        agree += (a.accepted, a.digits) == (b.accepted, b.digits)
        accepted += b.accepted
    assert agree >= 3 and accepted >= 2


@pytest.mark.parametrize(
    "move",
    [(600, 0, 0.0), (0, 330, 0.0), (-700, 200, 4.0), (150, 120, 9.0), (400, -250, -7.0)],
)
def test_a_frame_that_cannot_be_aligned_is_refused_as_moved(move: tuple) -> None:
    frames = make_stream("lcd7", 2, seed=23, screens=False)
    reader = MeterReader(config_for(frames[0]))
    reader.set_reference(frames[0].image)
    res = reader.read_frames([move_frame(frames[1], *move).image], T0)
    assert not res.accepted and res.digits is None
    assert res.reason is not None and res.reason.code == checks.CAMERA_MOVED
    assert res.reason.text.startswith(MOVED)
    assert reader.rejected_counts.get("camera_moved") == 1


def test_another_meter_is_not_aligned_onto_a_similar_spot() -> None:
    for seed in range(4):
        a = render_frame("drum", "123456", seed=seed)
        b = render_frame("drum", "123456", seed=seed + 50)
        reader = MeterReader(config_for(a))
        reader.set_reference(a.image)
        res = reader.read_frames([b.image], T0)
        assert not res.accepted, seed


def test_without_a_reference_frames_are_read_where_they_are() -> None:
    f = render_frame("lcd7", "271828", seed=4, glare=False)
    reader = MeterReader(config_for(f))
    assert reader.read_frames([f.image], T0).digits == "271828"
    assert reader.alignment is None
    reader.set_reference(f.image)
    reader.set_reference(None)
    assert reader.reference is None
    assert reader.read_frames([f.image], hourly(1)).digits == "271828"


def test_a_reference_of_another_size_refuses_with_a_sentence() -> None:
    f = render_frame("lcd7", "271828", seed=4, glare=False)
    reader = MeterReader(config_for(f))
    reader.set_reference(cv2.resize(f.image, (640, 360)))
    res = reader.read_frames([f.image], T0)
    assert res.reason is not None and res.reason.code == checks.CAMERA_MOVED
    assert "1280x720" in res.reason.text and "640x360" in res.reason.text
