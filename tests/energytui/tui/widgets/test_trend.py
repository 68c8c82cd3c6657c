"""The trend chart: exact time window, one zero-based scale, signs, gaps (issue 15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from energytui.tui.widgets.trend import EIGHTHS, LABEL_W, ROWS, bucket_means, render_trend

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
START = NOW - timedelta(minutes=10)


def _rows(text: str) -> list[str]:
    return text.split("\n")


def _strips(text: str, height: int) -> dict[str, list[str]]:
    lines = _rows(text)
    h = (height - 1) // len(ROWS)
    return {r.flow: [x[LABEL_W:] for x in lines[i * h : (i + 1) * h]] for i, r in enumerate(ROWS)}


def test_one_sample_is_one_column_not_the_whole_width() -> None:
    text = render_trend({"solar": [(NOW, 3000.0)]}, START, NOW, 76, 17).plain
    solar = _strips(text, 17)["solar"]
    assert sum(ch == "█" for ch in solar[-1]) == 1


def test_the_time_axis_covers_exactly_the_window() -> None:
    # a sample 9 minutes old sits near the left edge, not at the right
    text = render_trend({"home": [(NOW - timedelta(minutes=9), 1000.0)]}, START, NOW, 76, 17).plain
    bottom = _strips(text, 17)["home"][-1]
    assert bottom.index("█") < len(bottom) // 5
    assert _rows(text)[-1].rstrip().endswith("now") and "-10 min" in _rows(text)[-1]


def test_one_zero_based_scale_for_every_row() -> None:
    # 3,812 W and 3,862 W are nearly the same bar, not ▁ and █ (per-row min-max scaling)
    pts = [(NOW - timedelta(seconds=60 * k), 3812.0 + 50 * (k % 2)) for k in range(10)]
    home = [(NOW - timedelta(seconds=60 * k), 500.0) for k in range(10)]
    text = render_trend({"solar": pts, "home": home}, START, NOW, 76, 17).plain
    strips = _strips(text, 17)
    solar_ink = sum(ch == "█" for row in strips["solar"] for ch in row)
    home_ink = sum(ch == "█" for row in strips["home"] for ch in row)
    assert solar_ink > 4 * max(home_ink, 1)  # the same kW per row in both strips
    heights = []
    for x in range(len(strips["solar"][0])):
        column = [row[x] for row in strips["solar"]]
        if set(column) != {" "}:
            heights.append(sum(8 if ch == "█" else EIGHTHS.find(ch) for ch in column if ch != " "))
    assert len(heights) >= 10 and max(heights) - min(heights) <= 1  # not ▁ against █


def test_charging_and_export_go_down_discharge_and_import_go_up() -> None:
    pts = [(NOW - timedelta(seconds=30 * k), -2000.0) for k in range(20)]
    text = render_trend(
        {"battery": pts, "grid": [(t, -v) for t, v in pts]}, START, NOW, 76, 17
    ).plain
    strips = _strips(text, 17)
    half = len(strips["battery"]) // 2
    assert not any(ch in "█▇▆▅▄▃▂▁" for row in strips["battery"][:half] for ch in row)
    assert any(ch == "█" for row in strips["battery"][half:] for ch in row)
    assert any(ch == "█" for row in strips["grid"][:half] for ch in row)


def test_a_gap_is_blank_and_a_zero_is_a_dot() -> None:
    means = bucket_means([(NOW - timedelta(minutes=1), 0.0)], START, NOW, 10)
    assert means.count(None) == 9 and 0.0 in means
    text = render_trend({"grid": [(NOW - timedelta(minutes=1), 0.0)]}, START, NOW, 26, 9).plain
    grid = "".join(_strips(text, 9)["grid"])
    assert grid.count("·") == 1 and set(grid) <= {" ", "·"}


def test_the_console_gets_no_eighth_blocks() -> None:
    pts = [(NOW - timedelta(seconds=20 * k), 1234.0 + 97 * k) for k in range(30)]
    text = render_trend(
        {"solar": pts, "battery": [(t, -v) for t, v in pts]}, START, NOW, 76, 17, fine=False
    ).plain
    assert not set(text) & set("▁▂▃▄▅▆▇▔▀")


def test_samples_further_apart_than_a_column_are_one_line_and_a_real_gap_stays() -> None:
    # one sample a minute (an accelerated site), then three minutes without any
    pts = [(NOW - timedelta(minutes=m), 1000.0) for m in (10, 9, 8, 7, 6, 5, 4, 0)]
    means = bucket_means(pts, START, NOW, 60)
    assert all(v == 1000.0 for v in means[: 6 * 6])  # held between samples a minute apart
    assert all(v is None for v in means[6 * 6 + 13 : 59])  # nothing for 3 min: a gap
