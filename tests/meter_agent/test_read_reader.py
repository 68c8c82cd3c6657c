"""The combined reader on synthetic meters: right values are accepted, wrong ones never.

Every test here pins the one promise that matters — no wrong value is ever accepted —
on the situations that cause it in the field: LCD screens that are not the reading,
glare, a drum caught mid-roll, an occluded digit, a burst whose frames disagree, and a
wrong-looking value after a good one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from read_support import (
    T0,
    BenchDrum,
    bench_drum_frames,
    config_for,
    digit_rows,
    hourly,
    shared_digits,
)

from meter_agent import checks
from meter_agent.config import AgentConfig
from meter_agent.reader import MeterReader, ReaderState, ReadResult
from meter_agent.synth import make_stream, render_frame


def code_of(res: ReadResult) -> checks.RejectionCode | None:
    return None if res.reason is None else res.reason.code


def run_stream(kind: str, seed: int, count: int = 20) -> tuple[int, int, int, list[ReadResult]]:
    frames = make_stream(kind, count, seed=seed)  # type: ignore[arg-type]
    reader = MeterReader(config_for(frames[0]))
    right = wrong = readings = 0
    results = []
    for i, f in enumerate(frames):
        res = reader.read_frames([f.image], hourly(i))
        results.append(res)
        if f.digits is not None:
            readings += 1
        if res.accepted:
            if res.digits == f.digits:
                right += 1
            else:
                wrong += 1
    return right, wrong, readings, results


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lcd_stream_accepts_readings_and_rejects_every_other_screen(seed: int) -> None:
    right, wrong, readings, results = run_stream("lcd7", seed)
    assert wrong == 0
    assert right >= 0.8 * readings  # measured: 100 % on these seeds
    frames = make_stream("lcd7", 20, seed=seed)
    for f, res in zip(frames, results, strict=True):
        if f.screen != "reading":
            assert not res.accepted and res.reason and res.digits is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_drum_stream_never_accepts_a_wrong_value(seed: int) -> None:
    right, wrong, readings, _ = run_stream("drum", seed)
    assert wrong == 0
    # refused: a last drum near a digit the drums' line does not settle, and the
    # stream's dotted 0, which the position model places at 0.0 with a tenth of its
    # belief on 8.0 (0.66-0.9); measured 25-45 % on these seeds
    assert right >= 0.2 * readings


def test_all_eights_test_screen_is_rejected_as_such() -> None:
    reasons = []
    for seed in range(4):
        f = render_frame("lcd7", "000000", seed=seed, screen="test", glare=False)
        res = MeterReader(config_for(f, display="lcd7")).read_frames([f.image], T0)
        assert not res.accepted
        reasons.append(code_of(res))
    assert reasons.count(checks.TEST_SCREEN) >= 2, reasons


@pytest.mark.parametrize("kind", ["lcd7", "drum"])
def test_an_occluded_digit_is_never_guessed(kind: str) -> None:
    for pos in range(6):
        f = render_frame(kind, "123456", seed=40 + pos, occlude=pos)  # type: ignore[arg-type]
        res = MeterReader(config_for(f)).read_frames([f.image], T0)
        assert not res.accepted, (pos, res.per_digit)
        assert res.digits is None and res.reason


def test_glare_is_read_or_refused_but_never_misread() -> None:
    right = 0
    for seed in range(10):
        kind = "lcd7" if seed % 2 else "drum"
        f = render_frame(kind, f"{seed * 104729 % 10**6:06d}", seed=seed, glare=True)  # type: ignore[arg-type]
        res = MeterReader(config_for(f)).read_frames([f.image], T0)
        if res.accepted:
            assert res.digits == f.digits
            right += 1
    assert right >= 6  # measured 8 of 10


def test_mid_roll_drum_resolves_the_carry_or_refuses() -> None:
    """129399 with the last drum 0.4 of the way: three drums turn together (carry)."""
    seen = 0
    for seed in range(8):
        f = render_frame("drum", "129399", seed=seed, roll=0.4, glare=False)
        res = MeterReader(config_for(f, display="drum")).read_frames([f.image], T0)
        if res.accepted:
            assert res.digits == "129399"
            seen += 1
        else:
            assert res.reason
    f = render_frame("drum", "129399", seed=3, roll=0.0, glare=False)
    assert MeterReader(config_for(f, display="drum")).read_frames([f.image], T0).digits == "129399"


def test_a_last_drum_well_between_two_digits_reads_as_the_lower_one() -> None:
    """A last drum that turns all the time (the red 0.1 kWh drum) is mostly caught
    mid-roll: clearly between two digits its lower digit is read, never a wrong one.
    Measured 28 of 48 frames accepted here (none before this rule), all right."""
    accepted = 0
    for digits in ("129399", "204513"):
        for roll in (0.3, 0.5, 0.7):
            for seed in range(8):
                f = render_frame("drum", digits, seed=seed, roll=roll, glare=False)
                res = MeterReader(config_for(f, display="drum")).read_frames([f.image], T0)
                if res.accepted:
                    assert res.digits == digits, (roll, seed, res.per_digit)
                    accepted += 1
    assert accepted >= 12  # measured 13 with the position model


def drum(pos: float, spread: float = 0.3, methods: tuple[str, ...] = ("cnn",)):
    """A drum cell as the model would report it: a position distribution around ``pos``
    (a discretised normal, ``spread`` in tenths), the nearest digit and its probability;
    with "refs" in ``methods`` the meter's examples voted for that digit too."""
    from meter_agent.engines.digits import N_BINS, fold_round, position
    from meter_agent.reader import CellResult
    from meter_agent.references import examples_share

    b = np.arange(N_BINS)
    d = (b - pos * 10 + N_BINS / 2) % N_BINS - N_BINS / 2
    q = np.exp(-0.5 * (d / spread) ** 2)
    q = np.append(q / q.sum(), 0.0)
    r = fold_round(q)
    c = int(np.argmax(r[:10]))
    return CellResult(
        str(c),
        float(r[c]),
        "digit",
        value=position(q),
        methods=methods,
        p_top=float(r[c]),
        positions=tuple(q[:N_BINS]),
        confirm_share=examples_share() if "refs" in methods else 0.0,
    )


def test_the_last_drum_reads_its_lower_digit_with_the_models_probability() -> None:
    """Between two digits the lower one is read, as sure as the model's mass on its ten
    tenths; a model torn across the boundary is refused, never rounded."""
    from meter_agent.reader import resolve_drums

    got = resolve_drums([drum(5.5)])[0]
    assert got.char == "5" and got.confidence > 0.99
    assert resolve_drums([drum(5.2)])[0].char == "5"
    torn = resolve_drums([drum(5.02, spread=1.5)])[0]  # half its mass under 5.0
    assert torn.confidence < 0.8


def test_a_turning_last_drum_one_network_reads_otherwise_is_refused() -> None:
    """The ensemble's average may lean to a digit that one of its networks does not: on
    unseen water makers a red 8 turning half-way to 9 averaged 0.83 on 6 while one
    network gave 6 only 0.35 (read as 6, wrong). Between two digits the last drum is
    the model's alone, so every network must lean to the digit read."""
    from dataclasses import replace

    from meter_agent.reader import MEMBERS_AGREE, resolve_drums

    c = drum(6.5)
    agree = [0.0] * 10
    agree[6] = MEMBERS_AGREE + 0.3
    assert resolve_drums([replace(c, floor_agreement=tuple(agree))])[0].confidence >= 0.8
    agree[6] = MEMBERS_AGREE - 0.15
    doubted = resolve_drums([replace(c, floor_agreement=tuple(agree))])[0]
    assert doubted.char == "6" and doubted.confidence < 0.8


def test_the_networks_agreement_is_the_least_any_one_gives() -> None:
    """``DigitModel.read_all``: per digit, the smallest mass a single network puts on its
    ten tenths — never more than the average, and the average itself for one network."""
    from meter_agent.engines.digits import MODEL_PATH, DigitModel, fold_floor, prepare

    model = DigitModel.load(MODEL_PATH)
    f = render_frame("drum", "407132", seed=1, roll=0.5, glare=False)
    x, y, w, h = f.roi
    crop = f.image[y : y + h, x + 5 * w // 6 : x + w]
    q, _, agree = model.read_all(prepare(crop)[None])
    assert np.all(agree <= fold_floor(q)[:, :10] + 1e-6)
    one = DigitModel(model.members[:1], model.info)
    q1, _, agree1 = one.read_all(prepare(crop)[None])
    assert np.allclose(agree1, fold_floor(q1)[:, :10], atol=1e-6)


def test_a_last_drum_near_a_digit_needs_the_drums_line() -> None:
    """8.9 turned and a settled 9 look alike: near a digit the last drum is read only
    when the other drums' line agrees with the model — under the line the lower digit,
    level with it the digit; alone, or when they disagree, it is refused."""
    from meter_agent.reader import LAST_DRUM_OFFSET, NEAR_NEXT, resolve_drums

    under = LAST_DRUM_OFFSET + 0.04
    nearly = drum(6.0 - NEAR_NEXT + 0.05)
    assert resolve_drums([nearly])[0].confidence < 0.8
    below = resolve_drums([nearly], last_offset=under)[0]
    assert below.char == "5" and below.confidence >= 0.8
    # level with the others a tenth under 6 is the 6 settled, framed a hair low
    assert resolve_drums([drum(5.92)], last_offset=0.0)[0].char == "6"
    assert resolve_drums([drum(5.92)], last_offset=0.0)[0].confidence >= 0.8
    # more than the band under 6 the model decides: 5.8 is the 5 still turning
    assert resolve_drums([drum(5.8, spread=0.2)], last_offset=0.0)[0].char == "5"
    settled = drum(6.0)
    assert resolve_drums([settled])[0].confidence < 0.8
    assert resolve_drums([settled], last_offset=under)[0].confidence < 0.8
    level = resolve_drums([settled], last_offset=0.0)[0]
    assert level.char == "6" and level.confidence >= 0.8
    # well between two digits the model decides alone
    assert resolve_drums([drum(5.4)])[0].confidence >= 0.8


def test_a_lone_last_drum_past_its_digit_reads_that_digit() -> None:
    """Alone (no drums' line) a drum placed more than half a tenth past a digit shows
    that digit, settled or turning out of it: one still turning in to it stands under it
    (the labels are rounded to a tenth). Nearer the digit, or under it, it is refused."""
    from meter_agent.reader import HALF_TENTH, resolve_drums

    past = resolve_drums([drum(6.0 + HALF_TENTH + 0.03)])[0]
    assert past.char == "6" and past.confidence >= 0.8
    for pos in (6.0, 6.0 + HALF_TENTH - 0.02, 5.93):
        assert resolve_drums([drum(pos)])[0].confidence < 0.8, pos
    # with a line a little above the drum the line decides: passed, the 6
    got = resolve_drums([drum(6.08)], last_offset=-0.04)[0]
    assert got.char == "6" and got.confidence >= 0.8
    # a model whose networks part on the digit is refused here too
    torn = replace(past, floor_agreement=tuple(0.4 if d == 6 else 0.0 for d in range(10)))
    assert resolve_drums([torn])[0].confidence < 0.8


def test_a_last_drum_the_model_alone_reads_must_be_surer_than_the_bar() -> None:
    """A lone last drum (no drums' line) between two digits, or past its digit: nothing
    but the model says which digit it shows, and a model that never saw the meter's type
    is confidently wrong there (red 8s turning to 9 read as 6.5 at 0.81-0.87). So it is
    read only when the model is LAST_DRUM_ALONE_SURE of it, unless the history rules the
    rival digits out; the meter's examples and Tesseract agreeing do not count. In a
    window of three drums or more the reader's own bar stays."""
    from meter_agent.engines.digits import N_BINS
    from meter_agent.reader import AMBIGUOUS, LAST_DRUM_ALONE_SURE, resolve_drums

    def mixed(pos: float, share: float, other: float, methods=("cnn",)):
        a, b = drum(pos, methods=methods), drum(other)
        q = share * np.asarray(a.positions) + (1 - share) * np.asarray(b.positions)
        assert len(q) == N_BINS
        return replace(a, positions=tuple(q))

    doubtful = mixed(6.5, 0.86, 8.5)  # 0.86 on the 6 turning, the rest on an 8 turning
    assert 0.8 < 0.86 < LAST_DRUM_ALONE_SURE
    got = resolve_drums([doubtful])[0]
    assert got.char == "6" and got.confidence <= AMBIGUOUS
    # in a window the other drums stand beside it, line measured or not (a drum half
    # turned shows no one figure to measure)
    for offset in (None, 0.0):
        in_window = resolve_drums([drum(1.0), drum(4.0), doubtful], last_offset=offset)[-1]
        assert in_window.char == "6" and in_window.confidence >= 0.8, offset
    # the meter's own examples agreeing do not make the model surer
    confirmed = resolve_drums([mixed(6.5, 0.86, 8.5, methods=("cnn", "refs"))])[0]
    assert confirmed.confidence <= AMBIGUOUS
    # a last reading of 6 a minute ago rules the 8 out: the history decides with the model
    got = resolve_drums([doubtful], possible=[frozenset({6, 7})])[0]
    assert got.char == "6" and got.confidence >= 0.8
    # sure enough, the model reads it alone
    got = resolve_drums([mixed(6.5, 0.95, 8.5)])[0]
    assert got.char == "6" and got.confidence >= 0.9
    # alone past its digit (the 6 shows either way) the same bar holds
    assert resolve_drums([mixed(6.1, 0.86, 8.5)])[0].confidence <= AMBIGUOUS
    assert resolve_drums([mixed(6.1, 0.95, 8.5)])[0].confidence >= 0.9


def test_far_under_the_line_a_last_drum_is_not_settled() -> None:
    """A last drum 0.9 turned (its coming digit far under the other drums' line) that the
    model splits between 7.9 and a settled 8.0: the line rules out the settled 8, and the
    7 is read; a drum only a little under the line, or one the model places on 8 itself,
    is refused."""
    from meter_agent.engines.digits import N_BINS
    from meter_agent.reader import LAST_DRUM_OFFSET, SURELY_LOW, resolve_drums

    split = drum(7.93, spread=0.45)
    q = np.asarray(split.positions)
    assert 0.5 <= q[70:80].sum() < 0.8 and q[80:82].sum() > 0.2 and len(q) == N_BINS
    assert resolve_drums([split], last_offset=LAST_DRUM_OFFSET + 0.01)[0].confidence < 0.8
    got = resolve_drums([split], last_offset=SURELY_LOW + 0.02)[0]
    assert got.char == "7" and got.confidence >= 0.8
    # split the other way (a little more on 8.0 than on 7.x, as the frame bench's unseen
    # faces were at 0.9 turned): at a digit the model cannot tell the sides apart, and
    # the line far under says turning
    leaning = drum(7.96, spread=0.45)
    q = np.asarray(leaning.positions)
    assert 0.3 < q[70:80].sum() < 0.5 and q[80:82].sum() > 0.6
    got = resolve_drums([leaning], last_offset=SURELY_LOW + 0.02)[0]
    assert got.char == "7" and got.confidence >= 0.8
    assert resolve_drums([leaning], last_offset=LAST_DRUM_OFFSET + 0.01)[0].confidence < 0.8
    # the model sure of 8.0 (the 7 under half as likely as 8 settled) is not overruled
    for pos in (7.97, 7.99):
        on_eight = drum(pos, spread=0.45)
        assert np.asarray(on_eight.positions)[70:80].sum() < 0.3
        assert resolve_drums([on_eight], last_offset=SURELY_LOW + 0.02)[0].confidence < 0.8


def test_a_window_cut_a_little_high_moves_every_drum_alike() -> None:
    """The model places every settled drum of a window cut a little off their digits by
    the same amount (bench.frames seed 5 careful 3: 8, 0 and 7 at 7.8, 9.8 and 6.8): the
    higher drums clear of a carry measure that bias, and it is taken off every higher
    drum and off how far the last drum is into its roll. Drums that disagree, or too few
    of them, measure none."""
    from meter_agent.reader import resolve_drums, row_bias

    # 807599, the last drum 0.2 into its 9 -> 0 roll carrying the 9 and the 5 above it,
    # each placed 0.2 under where it stands
    row = [drum(7.8), drum(9.8), drum(6.8), drum(5.0), drum(9.0), drum(9.0)]
    assert row_bias(row) == pytest.approx(-0.2)
    got = resolve_drums(row, last_offset=-0.08)
    assert "".join(c.char for c in got) == "807599"
    assert min(c.confidence for c in got) >= 0.8
    # the same row read without the bias: the higher drums stand between two digits
    assert resolve_drums(row[:3], last_rolls=False)[0].confidence < 0.8
    # drums that disagree by more than a tenth, or a single clear drum, measure nothing
    assert row_bias([drum(7.8), drum(9.0), drum(6.8), drum(5.3)]) == 0.0
    assert row_bias([drum(7.8), drum(9.0), drum(3.4)]) == 0.0
    assert row_bias([drum(7.8), drum(9.1), drum(3.4)]) == 0.0
    assert row_bias([drum(7.8), drum(8.8), drum(3.4)]) == pytest.approx(-0.2)
    assert row_bias([drum(7.95), drum(0.02), drum(6.97), drum(3.4)]) == 0.0


def test_above_the_line_a_last_drum_has_passed_its_digit() -> None:
    """The drum scrolls upward, so a figure standing above the other drums' line has
    been passed and is the reading (7.1 turned shows the 7 raised): near a digit it is
    read as that digit. A little above the line it is that digit too — settled and
    measured a hair high, or passed: a drum still turning in would stand under the line
    (bench.frames seed 42, loose 14: an ExtraLight settled 9 measured 0.039 above)."""
    from meter_agent.reader import LAST_DRUM_OFFSET, SURELY_LOW, resolve_drums

    past = resolve_drums([drum(7.05)], last_offset=-(SURELY_LOW + 0.02))[0]
    assert past.char == "7" and past.confidence >= 0.8
    # the model a hair under the digit: the raised figure says it is past it
    assert resolve_drums([drum(6.93)], last_offset=-(SURELY_LOW + 0.02))[0].char == "7"
    for off in (LAST_DRUM_OFFSET + 0.01, 0.039):
        got = resolve_drums([drum(7.05)], last_offset=-off)[0]
        assert got.char == "7" and got.confidence >= 0.8
        got = resolve_drums([drum(8.97)], last_offset=-off)[0]
        assert got.char == "9" and got.confidence >= 0.8
    # under the line the same drum is the 8 still turning in
    assert resolve_drums([drum(8.97)], last_offset=SURELY_LOW + 0.02)[0].char == "8"
    # near a 0 a carry may be finishing: the 9s above it, turning with it, pull the line
    # down, so the line is no reference there
    assert resolve_drums([drum(0.05)], last_offset=-(SURELY_LOW + 0.02))[0].confidence < 0.8


def test_a_sliver_of_frame_at_the_cells_side_is_not_its_digit() -> None:
    """``ink_centre`` measures the digit, not a tall strip of the window's frame left at
    the side of a cell (it is digit-sized too, and was smaller than the digit's box)."""
    from meter_agent.reader import ink_centre

    cell = np.zeros((100, 80), np.uint8)
    cell[28:73, 20:54] = 255  # the digit, centred on 0.505
    cell[40:60, 30:44] = 0  # its counter
    cell[3:81, 62:78] = 255  # the frame's sliver, higher and narrower
    assert ink_centre(cell) == pytest.approx(0.505, abs=0.01)


#: frames of bench.frames whose last drum stands on or a little past its digit, in
#: faces the model never saw: (digits, style seed, nuisance seed, face, roll, window);
#: a strip of frame beside a dark last drum was measured as its digit, and a 7 turned 0.13
#: (raised above the line) was refused
SETTLED_LAST_DRUMS = [
    ("6887947", 1742190809, 586559856, "LiberationMono-Italic.ttf", 0.13229148265443477, None),
    ("32325", 1779952716, 513455469, "DejaVuSans-ExtraLight.ttf", 0.0, [381, 255, 422, 153]),
    (
        "73801",
        1089315383,
        442645498,
        "DejaVuSans-Bold.ttf",
        0.1121809086638665,
        [380, 242, 335, 137],
    ),
]


def _read_right_as_drums(cases: list[BenchDrum]) -> None:
    """Each of ``bench.frames``' drum frames in ``cases``, calibrated as drums, is read
    and read right."""
    for f, cfg in bench_drum_frames(cases):
        cfg.calibration.display = "drum"
        res = MeterReader(cfg).read_frames([f.image], T0)
        assert res.accepted and res.digits == f.digits, (f.digits, res.digits, res.per_digit)


def test_a_last_drum_on_or_just_past_its_digit_is_read() -> None:
    _read_right_as_drums(SETTLED_LAST_DRUMS)


def test_the_drums_a_carry_may_turn_draw_no_line() -> None:
    """With the last drum near 9 or 0 (in its 9 -> 0 roll) the run of 9s above it and
    the drum above that run may be turning with it: they are left out of the line."""
    from meter_agent.reader import carry_free

    assert carry_free([5.0, 1.0, 7.88, 9.88, 9.9]) == [True, True, False, False]
    assert carry_free([5.0, 1.0, 7.0, 0.02]) == [True, True, False]
    # in its 9 -> 0 roll, just past 9: the 9 above and the 2 above it turn with it
    assert carry_free([3.0, 5.0, 2.1, 9.1, 9.05]) == [True, True, False, False]
    # the last drum elsewhere: no carry, every drum draws the line
    assert carry_free([5.0, 1.0, 7.0, 9.0, 4.5]) == [True, True, True, True]
    assert carry_free([5.0, 1.0, 7.0, 9.0, 8.7]) == [True, True, True, True]
    assert carry_free([2.0, 6.9, 9.9, 9.9, 9.9]) == [True, False, False, False]


#: bench.frames drums in a carry: 51799 with the last three drums 0.88 turned (the two
#: carried drums stood low with the last one, the line through all four others came out
#: level with it, and the last drum was refused), 35299 with the last three 0.14 past
#: (raised with it, they put the last drum under the line: read 8 at 0)
CARRIES = [
    (
        "51799",
        1115920464,
        1034811125,
        "LiberationMono-BoldItalic.ttf",
        0.88238,
        [520, 218, 372, 145],
    ),
    ("35299", 1721556042, 942233137, "DejaVuSans-Oblique.ttf", 0.136009, [370, 386, 484, 183]),
]


def test_a_last_drum_in_a_carry_is_read_against_the_settled_drums() -> None:
    _read_right_as_drums(CARRIES)


def test_a_higher_drum_follows_the_carry_of_the_drum_below() -> None:
    """An odometer turns a drum only while the one below rolls from 9 to 0: 3.5 above a
    9.5 is the 3 being carried, read 3; 3.5 above a settled 4 is refused; and with no
    readable drum below a drum mid-carry cannot be placed."""
    from meter_agent.reader import CellResult, resolve_drums

    got = resolve_drums([drum(3.5), drum(9.5)])
    assert [c.char for c in got] == ["3", "9"]
    assert min(c.confidence for c in got) > 0.95
    got = resolve_drums([drum(3.5), drum(4.0)])
    assert got[0].confidence < 0.8
    unreadable = CellResult(None, 0.0, "unknown")
    assert resolve_drums([drum(3.5), unreadable])[0].confidence < 0.8
    # a higher drum turning with nothing below to explain it is not rounded: 3.7 is
    # neither 3 nor 4 (read as 4 it was wrong on 59 real rolling crops)
    assert resolve_drums([drum(3.7)], last_rolls=False)[0].confidence < 0.8
    assert resolve_drums([drum(3.7), drum(2.0)])[0].confidence < 0.8
    # a settled higher drum reads its digit whatever the last drum does
    assert resolve_drums([drum(7.0), drum(2.4)])[0].char == "7"
    # … placed two tenths past it too (unseen makers' settled drums were): past a digit a
    # drum still shows it, so that is no turning to refuse; three tenths past it is
    past = resolve_drums([drum(3.2)], last_rolls=False)[0]
    assert past.char == "3" and past.confidence >= 0.8
    assert resolve_drums([drum(3.3)], last_rolls=False)[0].confidence < 0.8
    # a settled 0 the model places a hair under it (9.99) has finished its roll: the
    # drum above is not carried back (it read 6 for this 7 in an unseen face)
    got = resolve_drums([drum(7.0), drum(9.995), drum(3.0)], last_rolls=False)
    assert [c.char for c in got] == ["7", "0", "3"]


def test_other_engines_confirm_the_model_but_never_overrule_it() -> None:
    from meter_agent.reader import resolve_drums

    unsure = drum(4.0, spread=2.2)  # the model alone under the bar
    alone = resolve_drums([unsure], last_rolls=False)[0]
    confirmed = resolve_drums([drum(4.0, spread=2.2, methods=("cnn", "refs"))], last_rolls=False)[0]
    assert alone.char == confirmed.char == "4"
    assert alone.confidence < confirmed.confidence <= 1.0
    leaning_elsewhere = drum(4.5, spread=4.0, methods=("cnn", "refs"))
    out = resolve_drums([leaning_elsewhere], last_rolls=False)[0]
    assert out.confidence < 0.8


def test_tesseract_confirms_as_much_as_it_is_right_at_its_confidence() -> None:
    """Tesseract's own confidence is no probability (measured: right about 60 % of the
    time under 0.4, 92 % over 0.8 on real drums), so when it reads the model's digit the
    doubt left is cut by its measured accuracy at that confidence, not by a fixed half:
    an oblique 1 the model gives 0.52, read 1 by a sure Tesseract, stood at 0.76 and was
    refused (bench.frames seed 7, moved, frames 32 and 33)."""
    from meter_agent.engines import DigitGuess
    from meter_agent.engines.tesseract import accuracy
    from meter_agent.reader import combine_cell, resolve_drums
    from meter_agent.references import examples_share

    cell = drum(1.0, spread=2.2)
    p = cell.confidence
    model = DigitGuess("1", p, "digit", value=cell.value, p_top=p, positions=cell.positions)

    def read(tess_conf: float) -> float:
        tess = DigitGuess("1", tess_conf, "digit", value=1.0)
        c = combine_cell({"cnn": model, "tesseract": tess}, blank=False)
        assert c.confirm_share == accuracy(tess_conf)
        return resolve_drums([c], last_rolls=False)[0].confidence

    sure, unsure = read(0.95), read(0.1)
    alone = resolve_drums([combine_cell({"cnn": model}, blank=False)], last_rolls=False)[0]
    assert alone.confidence < unsure < sure
    assert sure >= 0.8 > alone.confidence
    # the meter's own examples take away as much as they were measured to be right
    refs = DigitGuess("1", 0.9, "digit", value=1.0)
    assert combine_cell({"cnn": model, "refs": refs}, blank=False).confirm_share == examples_share()


def test_tesseract_dissent_counts_only_where_the_model_doubts() -> None:
    """Tesseract reading another digit than a model at least 0.8 sure is outvoted
    (measured: its digit was never the right one there, 0 of 27); against a doubting
    model it still takes confidence away (it was right in 5 of 8 such dissents)."""
    from meter_agent.engines import DigitGuess
    from meter_agent.reader import TESSERACT_OUTVOTED, combine_cell, resolve_drums

    def read(model_digit: float, spread: float, tess_char: str) -> tuple[float, float]:
        cell = drum(model_digit, spread=spread)
        p = cell.confidence
        model = DigitGuess(
            cell.char, p, "digit", value=cell.value, p_top=p, positions=cell.positions
        )
        tess = DigitGuess(tess_char, 0.9, "digit", value=float(tess_char))
        alone = resolve_drums([combine_cell({"cnn": model}, blank=False)], last_rolls=False)[0]
        both = combine_cell({"cnn": model, "tesseract": tess}, blank=False)
        got = resolve_drums([both], last_rolls=False)[0]
        assert got.char == alone.char == cell.char
        return p, got.confidence - alone.confidence

    p, lost = read(6.0, 1.2, "8")
    assert p >= TESSERACT_OUTVOTED and lost == 0.0
    p, lost = read(7.0, 4.0, "1")
    assert p < TESSERACT_OUTVOTED and lost < 0.0


#: bench.frames drum frames (seed 5 loose) whose Liberation Mono dotted 0 Tesseract read
#: as another digit against a sure model: as 8 at 0.88 against a model 0.96 sure of the
#: 0 (refused while Tesseract's dissent counted against any model), and as 9 against
#: 0.87. Picked again for the wider digit model of 3 December 2026: the first pair, read
#: by the narrower model, no longer needed the rule
OUTVOTED_TESSERACT: list[BenchDrum] = [
    ("309699", 1620443417, 1113777009, "LiberationMono-BoldItalic.ttf", 0.0, [416, 189, 606, 187]),
    ("6008228", 528243820, 534226454, "LiberationMono-Bold.ttf", 0.0, [511, 270, 593, 194]),
]


def test_a_sure_model_is_read_whatever_tesseract_says() -> None:
    _read_right_as_drums(OUTVOTED_TESSERACT)


def _turning(q: dict[int, float], char: str):
    """A last drum as the model reports it, its mass on the given tenths."""
    from meter_agent.reader import CellResult

    pos = np.zeros(100)
    for b, m in q.items():
        pos[b] = m
    top = max(q, key=lambda b: q[b])
    return CellResult(
        char, q[top], "digit", value=top / 10, methods=("cnn",), p_top=q[top], positions=tuple(pos)
    )


def test_the_history_rules_out_the_digits_the_checks_would_refuse() -> None:
    """A drum 7.6 turned that the model also half takes for 9.6: alone under the bar;
    with the history allowing only 7 or 8 there, the mass on 9 is ruled out and the 7 is
    read. The history never picks a digit the model does not read first, and doubt that
    is on no digit (a higher drum between two) stays doubt."""
    from meter_agent.reader import resolve_drums

    drum_7_or_9 = {76: 0.65, 86: 0.1, 96: 0.25}
    alone = resolve_drums([_turning(drum_7_or_9, "7")])[0]
    assert alone.char == "7" and alone.confidence < 0.8
    told = resolve_drums([_turning(drum_7_or_9, "7")], possible=[frozenset({7, 8})])[0]
    assert told.char == "7" and told.confidence == pytest.approx(0.65 / 0.75)
    # the model's digit ruled out: the history adds nothing to the model's own mass (the
    # history checks refuse the reading)
    ruled_out = resolve_drums([_turning(drum_7_or_9, "7")], possible=[frozenset({8, 9})])[0]
    assert ruled_out.char == "7" and ruled_out.confidence == pytest.approx(0.65)
    # the model leaning to 9: the history does not make it read the 7
    leaning = {76: 0.4, 96: 0.6}
    out = resolve_drums([_turning(leaning, "9")], possible=[frozenset({7, 8})])[0]
    assert out.char == "9" and out.confidence == pytest.approx(0.6)
    # a higher drum between 4 and 5 (a carry the drum below does not explain)
    between = drum(4.5, spread=0.5)
    higher = resolve_drums([between], last_rolls=False, possible=[frozenset({4})])[0]
    assert higher.confidence < 0.5


def test_near_a_digit_the_history_may_say_which_side_the_drum_is() -> None:
    """A last drum at the 9 (8.9 turned or 9 settled, alone: refused). Read 9 when the
    last reading was already 9 (8 would be a step back); still refused when 8 and 9 are
    both possible, or when the drums' line says it is still turning in."""
    from meter_agent.reader import AMBIGUOUS, LAST_DRUM_OFFSET, resolve_drums

    at_9 = {89: 0.4, 90: 0.5, 91: 0.1}
    alone = resolve_drums([_turning(at_9, "9")])[0]
    assert alone.confidence <= AMBIGUOUS
    passed = resolve_drums([_turning(at_9, "9")], possible=[frozenset({9, 0, 1})])[0]
    assert passed.char == "9" and passed.confidence == pytest.approx(1.0)
    either = resolve_drums([_turning(at_9, "9")], possible=[frozenset({7, 8, 9})])[0]
    assert either.confidence <= AMBIGUOUS
    under_the_line = resolve_drums(
        [_turning(at_9, "9")], last_offset=2 * LAST_DRUM_OFFSET, possible=[frozenset({9, 0, 1})]
    )[0]
    assert under_the_line.confidence <= AMBIGUOUS


def test_a_meter_read_every_minute_is_read_through_its_history() -> None:
    """A drum meter with a tenth drum read every minute (bench.ocr's minute streams): a
    last drum a third turned that the model reads at 0.67 alone is read once the last
    accepted reading, a minute before, allows only three digits there. (Frame 5: the
    24-epoch model of 5 December reads frame 2, the one picked before, its drum 0.47
    turned, at 0.5 either way.)"""
    frames = make_stream("drum", 12, seed=102, max_step=1, decimals=1)
    f = frames[5]
    assert f.digits == "044309"

    def reader(state: ReaderState | None) -> MeterReader:
        cfg = config_for(frames[0], display="drum", decimals=1)
        return MeterReader(cfg, state=state)

    fresh = reader(None).read_frames([f.image], T0)
    assert not fresh.accepted and code_of(fresh) == checks.LOW_CONFIDENCE
    before = ReaderState(last_digits="044308", last_kwh=4430.8, last_ts=T0 - timedelta(minutes=1))
    res = reader(before).read_frames([f.image], T0)
    assert res.accepted and res.digits == "044309"
    # the reading says the history decided it; one the model reads alone does not
    assert res.method == "cnn+tesseract+history"
    sure = frames[0]
    alone = reader(None).read_frames([sure.image], T0)
    assert alone.accepted and alone.digits == sure.digits, alone.per_digit
    last = f"{int(sure.digits) - 1:06d}"
    prior = ReaderState(
        last_digits=last, last_kwh=int(last) / 10, last_ts=T0 - timedelta(minutes=1)
    )
    again = reader(prior).read_frames([sure.image], T0)
    assert again.accepted and again.method == alone.method == "cnn+tesseract"


def test_a_lone_last_drum_on_its_digit_is_read_once_read_there_before() -> None:
    """Alone (a one-digit window, a row whose line cannot be measured) a drum on its
    digit and one a tenth under it look alike, and it is refused. A minute after a
    reading of that digit, the digit under it would be a step back: the drum has not
    gone back, so it is read. Every held-out clean electricity drum of the tests' set,
    read with the model that never saw its maker; a minute after a reading one under
    it, the ambiguity stays and nothing is read wrong."""
    import cv2

    from meter_agent.engines.digits import DigitsEngine

    data = shared_digits()
    model = Path(__file__).resolve().parents[2] / "bench" / "models" / "digits-heldout.npz"
    held = set(DigitsEngine(model).model.info["held_out_files"])
    rows = [
        r
        for r in digit_rows(data)
        if r["file"] in held and r["kind"] == "powermeter" and r["category"] == "clean"
    ]
    assert len(rows) >= 30

    def read(img: np.ndarray, last: str | None) -> ReadResult:
        cfg = AgentConfig()
        cfg.ocr.expected_digits = 1
        cfg.calibration.display = "drum"
        cfg.calibration.roi = [0, 0, img.shape[1], img.shape[0]]
        state = None
        if last is not None:
            state = ReaderState(
                last_digits=last, last_kwh=float(last), last_ts=T0 - timedelta(minutes=1)
            )
        return MeterReader(cfg, state=state, digit_model=model).read_frames([img], T0)

    alone = same = 0
    for r in rows:
        img = cv2.imread(str(data / r["file"]))
        a = read(img, None)
        alone += a.accepted
        assert not a.accepted or a.digits == r["digit"], r["file"]
        b = read(img, r["digit"])
        assert not b.accepted or b.digits == r["digit"], r["file"]
        same += b.accepted
        c = read(img, str((int(r["digit"]) - 1) % 10))
        assert not c.accepted or c.digits == r["digit"], r["file"]
    assert alone <= 0.2 * len(rows)
    # the history only confirms the model's own first digit: the two Landis+Gyr T330 7s
    # the model takes for 1s stay refused (127 of 129 with the model of 3 December 2026)
    assert same >= len(rows) - 2, (same, len(rows))


def test_a_burst_agrees_and_a_disagreeing_burst_is_refused() -> None:
    frames = [render_frame("lcd7", "004711", seed=9, nuisance_seed=k) for k in range(3)]
    reader = MeterReader(config_for(frames[0]))
    res = reader.read_frames([f.image for f in frames], T0)
    assert res.accepted and res.digits == "004711" and res.frames == 3
    mixed = [
        render_frame("lcd7", d, seed=9, nuisance_seed=k) for k, d in enumerate(["004712", "004719"])
    ]
    res = reader.read_frames([f.image for f in mixed], T0 + timedelta(hours=1))
    assert not res.accepted
    assert code_of(res) == checks.FRAMES_DISAGREE


def test_rejections_are_counted_and_never_become_the_last_good_value() -> None:
    good = render_frame("lcd7", "005000", seed=12, glare=False)
    lower = render_frame("lcd7", "004990", seed=12, glare=False)
    jump = render_frame("lcd7", "009000", seed=12, glare=False)
    reader = MeterReader(config_for(good))
    assert reader.read_frames([good.image], hourly(0)).accepted
    r1 = reader.read_frames([lower.image], hourly(1))
    r2 = reader.read_frames([jump.image], hourly(2))
    assert code_of(r1) == checks.NOT_MONOTONIC
    assert code_of(r2) == checks.INCREASE_TOO_LARGE
    assert reader.last_accepted is not None and reader.last_accepted.digits == "005000"
    assert reader.rejected_counts == {checks.NOT_MONOTONIC: 1, checks.INCREASE_TOO_LARGE: 1}


def test_state_survives_a_restart() -> None:
    good = render_frame("drum", "020000", seed=22, glare=False)
    lower = render_frame("drum", "019999", seed=22, glare=False)
    reader = MeterReader(config_for(good))
    assert reader.read_frames([good.image], hourly(0)).accepted
    saved = reader.state.to_dict()
    # where the last drum stood survives too (the rise limit counts from it)
    assert reader.last_accepted is not None and reader.last_accepted.turned is not None
    assert saved["last_turned"] == reader.last_accepted.turned
    assert 0.0 <= saved["last_turned"] < 1.0
    again = MeterReader(config_for(good), state=ReaderState.from_dict(saved))
    assert again.last_accepted is not None and again.last_accepted.digits == "020000"
    assert again.last_accepted.turned == reader.last_accepted.turned
    res = again.read_frames([lower.image], hourly(1))
    assert not res.accepted and code_of(res) == checks.NOT_MONOTONIC
    with pytest.raises(ValueError, match="damaged"):
        ReaderState.from_dict({"last_digits": "12a"})
    with pytest.raises(ValueError, match="last_turned"):
        ReaderState.from_dict({**saved, "last_turned": 1.5})
    # a state saved before the drum's place was kept
    older = {k: v for k, v in saved.items() if k != "last_turned"}
    assert ReaderState.from_dict(older).last_turned is None


def test_the_rise_limit_counts_from_the_last_drum_once_it_is_seen_rolling() -> None:
    """A counter that jumps a whole digit at a time (an impulse counter, the demo's
    synthetic meter) keeps the rise limit's step of slack: a reading a minute after
    another may tick over by one. Once the last drum has been read between two digits,
    the meter rolls, and the next digit must be reachable from where the drum stood:
    read about half-way, the rest of the step in a minute is more than 200 kWh a day
    (0.14 of a step a minute) and the model's margin of a quarter step allow."""

    def frame(digits: str, roll: float = 0.0) -> np.ndarray:
        return render_frame("drum", digits, seed=31, glare=False, roll=roll).image

    cfg = config_for(render_frame("drum", "000100", seed=31, glare=False), display="drum")
    assert cfg.ocr.max_increase_per_day == 200.0
    reader = MeterReader(cfg)
    minute = timedelta(minutes=1)
    assert reader.read_frames([frame("000100")], T0).accepted
    jumped = reader.read_frames([frame("000101")], T0 + minute)
    assert jumped.accepted and jumped.digits == "000101"
    half = reader.read_frames([frame("000101", roll=0.65)], T0 + 2 * minute)
    assert half.accepted and half.digits == "000101"
    assert half.turned is not None and 0.3 < half.turned < 0.7
    # refused: the drum may show only its 1 (the model's 2 is left as doubt), or, read 2,
    # the rise is too large
    too_soon = (checks.LOW_CONFIDENCE, checks.INCREASE_TOO_LARGE)
    res = reader.read_frames([frame("000102")], T0 + 3 * minute)
    assert not res.accepted and code_of(res) in too_soon
    # the state keeps it
    again = MeterReader(cfg, state=ReaderState.from_dict(reader.state.to_dict()))
    res = again.read_frames([frame("000102")], T0 + 3 * minute)
    assert not res.accepted and code_of(res) in too_soon
    # later the drum may have got there
    assert reader.read_frames([frame("000102")], T0 + 6 * minute).accepted


def test_result_json_has_the_contract_keys() -> None:
    f = render_frame("lcd7", "000123", seed=5, glare=False)
    out = MeterReader(config_for(f)).read_frames([f.image], T0).to_json(file="x.png")
    assert list(out)[:6] == ["file", "digits", "reading_kwh", "confidence", "accepted", "reason"]
    assert out["digits"] == "000123" and out["reading_kwh"] == 123.0 and out["accepted"] is True


def test_bad_images_give_one_sentence_errors(tmp_path) -> None:
    reader = MeterReader(config_for(render_frame("lcd7", "000001", seed=1)))
    bad = tmp_path / "not-an-image.jpg"
    bad.write_text("hello")
    with pytest.raises(ValueError, match="not a readable image"):
        reader.read_image_file(bad, T0)
    with pytest.raises(ValueError, match="does not exist"):
        reader.read_image_file(tmp_path / "missing.png", T0)
    res = reader.read_frames([np.zeros((0, 0, 3), np.uint8)], T0)
    assert not res.accepted and code_of(res) == checks.UNREADABLE_IMAGE


def test_decimals_give_kwh() -> None:
    f = render_frame("lcd7", "0123456", seed=30, decimals=1, glare=False)
    res = MeterReader(config_for(f, n=7, decimals=1)).read_frames([f.image], T0)
    assert res.accepted and res.reading_kwh == pytest.approx(12345.6)


def test_auto_display_detection() -> None:
    lcd = render_frame("lcd7", "314159", seed=2, glare=False)
    drum = render_frame("drum", "314159", seed=2, glare=False)
    assert MeterReader(config_for(lcd)).read_frames([lcd.image], T0).display == "lcd7"
    assert MeterReader(config_for(drum)).read_frames([drum.image], T0).display == "drum"


def test_update_calibration_moves_the_window() -> None:
    f = render_frame("lcd7", "271828", seed=4, glare=False)
    cfg = config_for(f)
    cfg.calibration.roi = [0, 0, 200, 100]  # somewhere else entirely
    reader = MeterReader(cfg)
    assert not reader.read_frames([f.image], T0).accepted
    good = config_for(f)
    reader.update_calibration(good.calibration, good.ocr)
    res = reader.read_frames([f.image], T0 + timedelta(hours=1))
    assert res.accepted and res.digits == "271828"


def test_a_nearly_turned_last_drum_is_never_rounded_up() -> None:
    """0.85-0.97 turned, the next digit is almost in place; the floor convention says the
    lower digit, and nothing below the last drum can show the carry: read it as the
    lower digit or refuse it."""
    for seed, roll in enumerate((0.85, 0.9, 0.93, 0.97)):
        f = render_frame("drum", "204517", seed=60 + seed, roll=roll, glare=False)
        res = MeterReader(config_for(f, display="drum")).read_frames([f.image], T0)
        assert not res.accepted or res.digits == "204517", (roll, res.per_digit)
    # a thin 1 turning in under a 0 (the pair's ink box sits where a settled digit's
    # would), in a window of light drums and a dark last drum (mixed polarity)
    for digits, seed in (("000000", 700), ("047290", 710)):
        f = render_frame("drum", digits, seed=seed, roll=0.85)
        res = MeterReader(config_for(f, display="drum")).read_frames([f.image], T0)
        assert not res.accepted or res.digits == digits, (digits, res.per_digit)


def test_an_lcd_digit_the_decoder_cannot_see_rests_on_a_sure_model() -> None:
    """Real LCD photos often give the segment decoder no pattern (dot-matrix, thin italic
    digits): then the model's calibrated probability decides alone (capped at 0.9); an
    unsure model is still refused, a decoder
    that reads another digit still makes the engines disagree, and one that calls the
    cell "not a digit" still makes it another screen unless the model is that sure."""
    from meter_agent.engines import DigitGuess
    from meter_agent.reader import CLEAN, MODEL_OVERRIDES_VETO, combine_cell

    assert MODEL_OVERRIDES_VETO < CLEAN
    p = MODEL_OVERRIDES_VETO + 0.02
    sure = DigitGuess("1", p, "digit", value=1.0)
    unsure = DigitGuess("1", MODEL_OVERRIDES_VETO - 0.1, "digit", value=1.0)
    no_pattern = DigitGuess(None, 0.0, "unknown")
    not_a_digit = DigitGuess(None, 0.8, "other")
    seven = DigitGuess("7", 0.9, "digit", value=7.0)
    got = combine_cell({"cnn": sure, "seven_segment": no_pattern}, blank=False)
    assert got.char == "1" and got.confidence >= 0.8
    assert combine_cell({"cnn": unsure, "seven_segment": no_pattern}, False).confidence < 0.8
    assert combine_cell({"cnn": sure, "seven_segment": seven}, False).char is None
    assert combine_cell({"cnn": sure, "seven_segment": not_a_digit}, False).confidence <= 0.9
    assert combine_cell({"cnn": unsure, "seven_segment": not_a_digit}, False).kind == "other"


def test_display_auto_reads_real_single_digit_crops_without_a_wrong_one() -> None:
    """One-digit windows of real crops (held-out makers, with the model that never saw
    them), display auto: a drum digit the segment decoder mistakes for a segment pattern
    must not make the crop an LCD unless the model reads the same digit there."""
    from pathlib import Path

    import cv2
    from read_support import digit_rows, shared_digits

    from meter_agent.engines.digits import DigitsEngine

    model = Path(__file__).resolve().parents[2] / "bench" / "models" / "digits-heldout.npz"
    data = shared_digits()
    held = set(DigitsEngine(model).model.info["held_out_files"])
    rows = [
        r
        for r in digit_rows(data)
        if r["file"] in held and r["category"] == "clean" and not r["note"].startswith("blank")
    ]
    right = wrong = 0
    for r in rows:
        img = cv2.imread(str(data / r["file"]))
        cfg = AgentConfig()
        cfg.ocr.expected_digits = 1
        cfg.calibration.roi = [0, 0, img.shape[1], img.shape[0]]
        res = MeterReader(cfg, digit_model=model).read_frames([img], T0)
        right += int(res.accepted and res.digits == r["digit"])
        wrong += int(res.accepted and res.digits != r["digit"])
    assert wrong == 0
    # measured 21 % (58 of 273): a drum crop standing on its digit is a lone last drum
    # near a digit, refused (no neighbours to tell a settled 9 from 8.9 turned)
    assert right >= 0.15 * len(rows), (right, len(rows))


#: drum frames in printed faces the model never saw, whose figures the seven-segment
#: decoder read as clean segment patterns of the model's digits (``auto`` took them for
#: LCDs): (digits, style seed, nuisance seed, face, roll, window or None for the careful one)
PRINTED_AS_SEGMENTS = [
    ("265685", 218859848, 1376666358, "LiberationMono-Bold.ttf", 0.0, None),
    ("0383689", 2010569793, 245022948, "DejaVuSansCondensed.ttf", 0.0, None),
    ("70673", 1985215300, 35321960, "DejaVuSansCondensed.ttf", 0.0, None),
    ("568007", 659565403, 131635518, "DejaVuSansCondensed-Bold.ttf", 0.587, [566, 332, 471, 155]),
]


@pytest.mark.parametrize("seed", [3, 6, 7])
def test_a_drum_seen_turning_undoes_an_lcd_taken_before(seed: int) -> None:
    """Auto detection sticks on one clean LCD frame; a later frame with the last drum
    turning (here with no faces seen) is read as drums and undoes it: read as an LCD, a
    turning drum would be its nearest digit instead of the lower one. A last drum seen
    turning settles drums for the calibration in its place."""
    f = render_frame("drum", "407132", seed=seed, roll=0.6, glare=False)
    reader = MeterReader(config_for(f, n=6))  # display "auto"
    reader._detected = "lcd7"  # an earlier frame passed for an LCD
    res = reader.read_frames([f.image], T0)
    assert res.display == "drum"
    assert not res.accepted or res.digits == "407132"
    assert reader._detected == "drum"


def test_a_frame_runs_the_networks_once() -> None:
    """Display detection and the reading share the model's one pass over the cells (the
    detector ran the networks a second time on every frame of an undecided meter)."""
    f = render_frame("lcd7", "314159", seed=2, glare=False)
    reader = MeterReader(config_for(f, n=6))  # display "auto": the detector asks the model
    assert reader.cnn is not None
    model = reader.cnn.model
    calls = []
    real = model.read_all

    def counted(x: np.ndarray):  # the real networks, counted
        calls.append(len(x))
        return real(x)

    model.read_all = counted  # type: ignore[method-assign]
    try:
        res = reader.read_frames([f.image], T0)
    finally:
        del model.read_all  # the shared, cached model gets its own method back
    assert res.display == "lcd7" and res.accepted and res.digits == "314159"
    assert calls == [6]


def test_auto_takes_drum_faces_or_a_turning_drum_for_drums() -> None:
    """Drums whatever the segment decoder finds: cells cut between drum faces seen one per
    digit (an LCD's one glass shows none), or a cell the model places between two digits.
    These frames were taken for LCDs, whose rules know no turning last drum; an LCD taken
    before is undone by a frame showing faces."""
    for f, cfg in bench_drum_frames(PRINTED_AS_SEGMENTS):  # display "auto"
        reader = MeterReader(cfg)
        res = reader.read_frames([f.image], T0)
        assert res.display == "drum", f.digits
        assert not res.accepted or res.digits == f.digits, (f.digits, res.digits)
        if f.roll == 0.0:
            # the same reader after an LCD was detected in its window: undone by the faces
            reader._detected = "lcd7"
            assert reader.read_frames([f.image], T0 + timedelta(hours=1)).display == "drum"


def test_a_faint_drum_is_read_where_the_model_alone_would_be() -> None:
    """A drum cell too faint for the vision (held-out ``pp`` water meters: digits a dozen
    grey levels off their ground) is read when the model is as sure as it must be to
    decide alone over another engine (MODEL_OVERRIDES_VETO, 0.85; it was 0.95). The
    faint held-out crops of the tests' set, with the model that never saw their maker:
    5 of 12 read (4 at 0.95), none wrong."""
    import cv2

    from meter_agent import reader as reader_mod
    from meter_agent.engines.digits import DigitsEngine
    from meter_agent.vision import cell_from_crop

    assert reader_mod.FAINT_DRUM_SURE == reader_mod.MODEL_OVERRIDES_VETO
    data = shared_digits()
    model = Path(__file__).resolve().parents[2] / "bench" / "models" / "digits-heldout.npz"
    held = set(DigitsEngine(model).model.info["held_out_files"])
    cfg = AgentConfig()
    cfg.ocr.expected_digits = 1
    cfg.calibration.display = "drum"
    reader = MeterReader(cfg, digit_model=model)
    right = wrong = faint = 0
    for r in digit_rows(data):
        if r["file"] not in held or r["kind"] == "lcd" or r["note"].startswith("blank"):
            continue
        cell = cell_from_crop(cv2.imread(str(data / r["file"])))
        if not cell.blank:
            continue
        faint += 1
        got = reader.read_cells([cell], "drum", last_rolls=False)[0]
        sure = got.char is not None and got.confidence >= cfg.ocr.confidence_threshold
        right += int(sure and got.char == r["digit"])
        wrong += int(sure and got.char != r["digit"])
    assert faint >= 10 and wrong == 0
    assert right >= 5, (right, faint)


def test_a_faint_turning_last_drum_needs_more_than_a_faint_higher_drum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A faint last drum is read from its raw cell with no drum below to check it, so the
    model must be surer of it (FAINT_LAST_DRUM_SURE, 0.9) than of a faint higher drum
    (0.85). A held-out ``pp`` water drum labelled 3.9, blurred to a pale smudge, is
    placed at 2.2-2.4 by both networks at 0.86: it was accepted as 2."""
    import cv2

    from meter_agent import reader as reader_mod
    from meter_agent.engines.digits import DigitsEngine
    from meter_agent.vision import cell_from_crop

    data = shared_digits()
    crop = "../meter-digits-more/rollover/watermeter/3.9_pp_62d482fe9f.jpg"
    model = Path(__file__).resolve().parents[2] / "bench" / "models" / "digits-heldout.npz"
    assert crop in DigitsEngine(model).model.info["held_out_files"]
    cfg = AgentConfig()
    cfg.ocr.expected_digits = 1
    cfg.calibration.display = "drum"
    reader = MeterReader(cfg, digit_model=model)
    cell = cell_from_crop(cv2.imread(str(data / crop)))
    assert cell.blank
    got = reader.read_cells([cell], "drum", last_rolls=True)[0]
    p_top = reader._last_cnn[0][0].p_top if reader._last_cnn else None
    assert p_top is not None
    assert reader_mod.FAINT_DRUM_SURE <= p_top < reader_mod.FAINT_LAST_DRUM_SURE
    assert got.char is None or got.confidence < cfg.ocr.confidence_threshold, got
    # alone (a crop) the lone drum's bar refuses it too; without that bar, as in a window,
    # the faint last drum's bar refuses it
    monkeypatch.setattr(reader_mod, "LAST_DRUM_ALONE_SURE", reader_mod.FAINT_DRUM_SURE)
    windowed = reader.read_cells([cell], "drum", last_rolls=True)[0]
    assert windowed.char is None or windowed.confidence < cfg.ocr.confidence_threshold
    # with a faint higher drum's bar as well it was read, and wrong
    monkeypatch.setattr(reader_mod, "FAINT_LAST_DRUM_SURE", reader_mod.FAINT_DRUM_SURE)
    was = reader.read_cells([cell], "drum", last_rolls=True)[0]
    assert was.char == "2" and was.confidence >= cfg.ocr.confidence_threshold, was
