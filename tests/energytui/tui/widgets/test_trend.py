"""The trend chart: exact time window, one zero-based scale, signs, gaps (issue 15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from energytui.model import PowerSample
from energytui.tui.widgets.trend import (
    EIGHTHS,
    LABEL_W,
    ROWS,
    TrendData,
    bucket_means,
    nice_step,
    render_trend,
)

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


def _samples(n: int, end: datetime = NOW) -> list[PowerSample]:
    return [
        PowerSample(
            end - timedelta(seconds=n - 1 - k),
            2000.0 + 10 * (k % 7),
            -800.0,
            50.0 * (k % 3),
            1300.0,
        )
        for k in range(n)
    ]


def test_labels_are_the_window_peaks_up_and_down() -> None:
    # the latest column's mean read as the live figure and was not it; the peaks are
    # what a trend adds to the flow diagram above it
    pts = [(NOW - timedelta(seconds=30 * k), 1000.0 + 100 * k) for k in range(10)]
    batt = [(NOW - timedelta(minutes=8), 1500.0), (NOW - timedelta(minutes=2), -700.0)]
    lines = _rows(render_trend({"solar": pts, "battery": batt}, START, NOW, 76, 17).plain)
    assert lines[0].startswith("solar") and "1.90 kW" in lines[0][:LABEL_W]
    battery = lines[8:12]
    assert "+1.50 kW" in battery[0][:LABEL_W] and "-700 W" in battery[-1][:LABEL_W]


def test_the_scale_is_a_round_figure() -> None:
    assert [nice_step(v) for v in (0.7, 1.0, 1.3, 2.2, 3.62, 6000.0)] == [1, 1, 2, 2.5, 5, 10000]
    pts = [(NOW - timedelta(seconds=30 * k), 3620.0) for k in range(10)]
    last = _rows(render_trend({"solar": pts}, START, NOW, 76, 17).plain)[-1]
    assert last.startswith("row = 1.00 kW")  # 3.62 kW over four rows: 0.905 → 1 kW


def test_trend_data_taken_second_by_second_equals_the_window_taken_at_once() -> None:
    samples = _samples(900)
    live = TrendData()
    for n in [*range(300, 900, 7), 900]:  # a view every few samples, the window moving on
        window_start = samples[n - 1].ts - timedelta(minutes=10)
        live.update(samples[:n], window_start)
    fresh = TrendData()
    fresh.update(samples, window_start)
    for r in ROWS:
        assert live.flows[r.flow].times == fresh.flows[r.flow].times
        assert live.flows[r.flow].values == fresh.flows[r.flow].values
    assert live.flows["solar"].times[0] >= window_start.timestamp()
    a = render_trend(live, window_start, samples[-1].ts, 76, 17).plain
    assert a == render_trend(fresh, window_start, samples[-1].ts, 76, 17).plain


def test_trend_data_starts_again_when_the_history_is_refilled() -> None:
    # after a restart the hub refills its history from the store: older samples appear
    # before the ones already taken
    samples = _samples(600)
    data = TrendData()
    data.update(samples[500:], START)
    data.update(samples, START)
    assert len(data.flows["home"].times) == 600


def test_a_one_row_signed_strip_keeps_its_sign() -> None:
    # at 80x24 the grid's strip is one row: its peak still says which way (+ imports)
    pts = [(NOW - timedelta(seconds=30 * k), 2090.0) for k in range(10)]
    lines = _rows(render_trend({"grid": pts}, START, NOW, 46, 8).plain)
    grid = next(line for line in lines if line.startswith("grid"))
    assert "+2.09 kW" in grid[:LABEL_W]


def test_an_idle_signed_strip_says_zero_not_nothing() -> None:
    # a grid idle all the window showed its name alone, where solar at night says 0 W
    pts = [(NOW - timedelta(seconds=30 * k), 0.0) for k in range(10)]
    lines = _rows(render_trend({"grid": pts, "solar": pts}, START, NOW, 76, 17).plain)
    grid = next(line for line in lines if line.startswith("grid"))
    assert grid[:LABEL_W].split() == ["grid", "0", "W"]
