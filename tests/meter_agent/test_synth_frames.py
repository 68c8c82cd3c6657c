"""The synthetic meter: deterministic, honest ground truth, odometer carries."""

from __future__ import annotations

import numpy as np
import pytest

from meter_agent.synth import drum_positions, make_stream, render_frame


def test_same_seed_same_frame_and_different_seed_differs() -> None:
    a = render_frame("lcd7", "012345", seed=4)
    b = render_frame("lcd7", "012345", seed=4)
    c = render_frame("lcd7", "012345", seed=5)
    assert np.array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)
    assert a.image.shape == (720, 1280, 3)


@pytest.mark.parametrize("kind", ["lcd7", "drum"])
def test_roi_lies_inside_the_frame(kind: str) -> None:
    for seed in range(6):
        f = render_frame(kind, "987654", seed=seed)  # type: ignore[arg-type]
        x, y, w, h = f.roi
        assert x >= 0 and y >= 0 and x + w <= 1280 and y + h <= 720
        assert f.digits == "987654"
        assert -6 <= f.rotation <= 6


def test_odometer_carry_turns_every_nine_above_the_last_drum() -> None:
    assert drum_positions("129399", 0.4) == [
        (1, 0.0),
        (2, 0.0),
        (9, 0.0),
        (3, 0.4),
        (9, 0.4),
        (9, 0.4),
    ]
    assert drum_positions("000123", 0.5) == [(0, 0.0)] * 3 + [(1, 0.0), (2, 0.0), (3, 0.5)]


def test_screens_to_reject_have_no_truth() -> None:
    for screen in ("test", "blank", "date", "register"):
        f = render_frame("lcd7", "001234", seed=2, screen=screen)  # type: ignore[arg-type]
        assert f.digits is None and f.screen == screen
    assert render_frame("drum", "001234", seed=2, occlude=3).digits is None


def test_drums_have_no_other_screens() -> None:
    with pytest.raises(ValueError, match="drum"):
        render_frame("drum", "001234", seed=1, screen="test")


def test_stream_rises_and_keeps_one_geometry() -> None:
    frames = make_stream("drum", 9, seed=3)
    values = [int(f.digits) for f in frames if f.digits]
    assert values == sorted(values)
    assert len({tuple(f.roi) for f in frames}) == 1
    assert any(f.roll > 0 for f in frames)
    lcd = make_stream("lcd7", 8, seed=3)
    assert {f.screen for f in lcd} >= {"reading", "test", "blank"}
