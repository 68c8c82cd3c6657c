"""This meter's own digit examples (meter_agent.references): learnt from real crops of a
meter the model never saw, they confirm digits it reads right but unsurely, never a
digit it does not read; learnt from a synthetic stream's accepted readings; kept on disk
atomically, and a damaged file costs nothing already read."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
from read_support import T0, config_for, digit_rows, shared_digits

from meter_agent.config import AgentConfig
from meter_agent.reader import MeterReader
from meter_agent.references import ReferenceBank
from meter_agent.synth import make_stream
from meter_agent.vision import cell_from_crop

HELD_OUT = Path(__file__).resolve().parents[2] / "bench" / "models" / "digits-heldout.npz"


def _meter_crops(kind: str, maker: str) -> dict[str, list[Path]]:
    """Clean held-out crops of one meter model, per digit."""
    from meter_agent.engines.digits import DigitsEngine

    data = shared_digits()
    held = set(DigitsEngine(HELD_OUT).model.info["held_out_files"])
    out: dict[str, list[Path]] = defaultdict(list)
    for r in digit_rows(data):
        if (
            r["file"] in held
            and r["category"] == "clean"
            and (r["kind"], r["maker"])
            == (
                kind,
                maker,
            )
        ):
            out[r["digit"]].append(data / r["file"])
    return out


def _taught(crops: dict[str, list[Path]]) -> tuple[MeterReader, MeterReader, str, list]:
    """A reader without examples, one taught the first photo of each digit (as a reading
    set by hand teaches it), the digits, and the second photos' cells to read."""
    digits = "".join(d for d, fs in sorted(crops.items()) if len(fs) >= 2)
    first = [cell_from_crop(cv2.imread(str(crops[d][0]))) for d in digits]
    second = [cell_from_crop(cv2.imread(str(crops[d][1]))) for d in digits]
    cfg = AgentConfig()
    cfg.ocr.expected_digits = len(digits)
    plain = MeterReader(cfg, digit_model=HELD_OUT)
    taught = MeterReader(cfg, digit_model=HELD_OUT)
    taught.references = ReferenceBank(taught.model_fingerprint or "")
    taught.learn_cells(first, digits, "drum")
    return plain, taught, digits, second


def _held_out_meters() -> list[tuple[str, str]]:
    """The unseen drum meters (kind, maker) with two photos of some digits."""
    from meter_agent.engines.digits import DigitsEngine

    held = set(DigitsEngine(HELD_OUT).model.info["held_out_files"])
    seen: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in digit_rows(shared_digits()):
        if r["file"] in held and r["category"] == "clean" and r["kind"] != "lcd" and r["maker"]:
            seen[(r["kind"], r["maker"])][r["digit"]] += 1
    return [m for m, per in seen.items() if sum(n >= 2 for n in per.values()) >= 2]


def test_examples_of_unseen_meters_confirm_unsure_digits_and_never_a_wrong_one() -> None:
    """On every unseen drum meter: with one example per digit from other photos of it,
    at least as many of its digits pass as without, more in all, and every one that
    passes is right."""
    meters = _held_out_meters()
    assert meters, "no held-out drum meters with two photos of a digit"
    before = after = 0
    confirmed = False
    for kind, maker in meters:
        crops = _meter_crops(kind, maker)
        if sum(len(fs) >= 2 for fs in crops.values()) < 2:
            continue  # its photos are in the larger folder only
        plain, taught, digits, second = _taught(crops)
        assert taught.references is not None
        if sum(len(e) > 0 for e in taught.references.by_digit.values()) < 2:
            continue  # the model read too few of its digits to learn them
        thr = plain.config.ocr.confidence_threshold
        counts = []
        for reader in (plain, taught):
            got = reader.read_cells(second, "drum", last_rolls=False)
            ok = [
                (c.char, t)
                for c, t in zip(got, digits, strict=True)
                if c.char is not None and c.confidence >= thr
            ]
            assert all(c == t for c, t in ok), (maker, ok)
            counts.append(len(ok))
            confirmed |= any("refs" in c.methods for c in got)
        assert counts[1] >= counts[0], maker
        before, after = before + counts[0], after + counts[1]
    assert confirmed
    assert after >= before


def test_examples_never_put_their_digit_in_place_of_the_models() -> None:
    """A drum the model reads as a 1 while the meter's examples say 7: the engines
    disagree, and neither 1 nor 7 is taken; examples agreeing with a model that leans
    elsewhere raise nothing either."""
    from meter_agent.engines import DigitGuess
    from meter_agent.engines.digits import N_BINS
    from meter_agent.reader import combine_cell, resolve_drums

    q = np.zeros(N_BINS)
    q[[9, 10, 11]] = [0.15, 0.7, 0.15]  # about 1.0
    cnn = DigitGuess("1", 0.85, "digit", value=1.0, p_top=0.85, positions=tuple(q))
    refs = DigitGuess("7", 0.95, "digit", value=7.0)
    cell = resolve_drums([combine_cell({"cnn": cnn, "refs": refs}, blank=False)], last_rolls=False)[
        0
    ]
    assert cell.char is None or cell.confidence < 0.8


def test_examples_do_not_say_on_which_side_of_its_digit_a_lone_drum_stands() -> None:
    """A lone last drum the model places just past 8 (8.05) is read 8 at no more than the
    model's own mass (under LAST_DRUM_ALONE_SURE, refused outright): examples of the
    meter's 8 match a drum a tenth under 8 as well as a settled one, so their vote cannot
    raise it over the bar. The distribution is a held-out red water drum's, labelled 7.9,
    which the examples used to carry to a wrong 8 at 0.83."""
    from meter_agent.engines import DigitGuess
    from meter_agent.engines.digits import N_BINS, position
    from meter_agent.reader import combine_cell, resolve_drums

    q = np.zeros(N_BINS)
    q[[80, 81, 82, 83, 20, 21, 0]] = [0.40, 0.22, 0.06, 0.01, 0.09, 0.06, 0.03]
    q[50] = 1.0 - q.sum()
    assert 8.05 < position(q) < 8.1
    r = q.reshape(10, 10).sum(axis=1)  # the floor masses
    cnn = DigitGuess("8", 0.7, "digit", value=position(q), p_top=0.7, positions=tuple(q))
    refs = DigitGuess("8", 0.96, "digit", value=8.0)
    alone = resolve_drums([combine_cell({"cnn": cnn}, blank=False)])[0]
    taught = resolve_drums([combine_cell({"cnn": cnn, "refs": refs}, blank=False)])[0]
    assert alone.char == taught.char == "8"
    assert alone.confidence <= r[8] < 0.8
    assert taught.confidence == pytest.approx(alone.confidence)


def test_a_stream_teaches_the_reader_and_its_readings_stay_right(tmp_path: Path) -> None:
    """Accepted readings of a synthetic drum stream (mid-roll drums, other screens) add
    the cells the model was sure of; the stream is read with them without a wrong value,
    and the bank survives a save and load."""
    frames = make_stream("drum", 20, seed=321)
    cfg = config_for(frames[0], display="drum")
    cfg.ocr.interval_s = 3600
    reader = MeterReader(cfg)
    reader.references = ReferenceBank(reader.model_fingerprint or "")
    from datetime import timedelta

    for i, f in enumerate(frames):
        res = reader.read_frames([f.image], T0 + timedelta(hours=i))
        assert not res.accepted or res.digits == f.digits, (i, res.digits, f.digits)
    bank = reader.references
    assert len(bank.known()) >= 3 and bank.changed
    path = tmp_path / "references.npz"
    bank.save(path)
    again = ReferenceBank.load(path, reader.model_fingerprint or "")
    assert again.known() == bank.known() and not bank.changed
    for d in bank.known():
        assert np.allclose(again.by_digit[d], bank.by_digit[d], atol=2e-3)
    # examples made with another model do not compare: a fresh bank
    assert ReferenceBank.load(path, "another-model").known() == ""


def test_near_duplicates_are_not_kept_and_the_oldest_go_first() -> None:
    from meter_agent.references import PER_DIGIT

    bank = ReferenceBank("m")
    rng = np.random.default_rng(0)
    e = rng.normal(size=16).astype(np.float32)
    e /= np.linalg.norm(e)
    assert bank.add("3", e) and not bank.add("3", e)
    for _ in range(PER_DIGIT + 3):
        v = rng.normal(size=16).astype(np.float32)
        bank.add("3", v / np.linalg.norm(v))
    assert len(bank.by_digit["3"]) == PER_DIGIT
    assert bank.match(e).char is None  # one digit known: "clearly closer" means nothing


@pytest.mark.parametrize("content", [b"", b"not a numpy file", b"PK\x03\x04broken"])
def test_a_damaged_bank_is_one_sentence(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "references.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError) as err:
        ReferenceBank.load(path, "m")
    msg = str(err.value)
    assert msg.endswith(".") and "\n" not in msg and "damaged" in msg


def test_the_agent_keeps_its_examples_and_sets_a_damaged_file_aside(tmp_path: Path) -> None:
    """A real MeterService on a synthetic LCD: accepted captures and a reading set by hand
    leave the examples on disk; a restart with a damaged file moves it aside (kept, not
    lost), says so in one line, and learns again; the readings are unaffected."""
    from service_support import synthetic_source, write_config

    from meter_agent.config import load_agent_config
    from meter_agent.service import MeterService

    cfg_path = write_config(tmp_path)
    cfg = load_agent_config(cfg_path)
    svc = MeterService(cfg, cfg_path, source=synthetic_source(cfg))
    try:
        assert svc.capture_once().accepted
        svc.set_reading("123456")
    finally:
        svc.close()
    path = tmp_path / "data" / "references.npz"
    bank = ReferenceBank.load(path, svc.reader.model_fingerprint or "")
    assert set("123456") <= set(bank.known())

    path.write_bytes(b"PK\x03\x04 torn by a power cut")
    cfg = load_agent_config(cfg_path)
    svc = MeterService(cfg, cfg_path, source=synthetic_source(cfg))
    try:
        assert svc.reader.references is not None and svc.reader.references.known() == ""
        assert (tmp_path / "data" / "references.npz.damaged").read_bytes().startswith(b"PK")
        assert svc.capture_once().digits == "123456"
        assert set("123456") <= set(svc.reader.references.known())
    finally:
        svc.close()
    assert ReferenceBank.load(path, svc.reader.model_fingerprint or "").known()


def test_examples_never_settle_a_nearly_turned_last_drum() -> None:
    """The meter's examples of the next digit match a last drum 0.85-0.97 turned as well
    as a settled one; they count only when it is level with the other drums, so it is
    read as the lower digit or refused, never as the next digit."""
    from meter_agent.synth import render_frame

    for k, roll in enumerate((0.85, 0.9, 0.93, 0.97)):
        seed = 60 + k
        base = render_frame("drum", "204517", seed=seed, roll=0.0, nuisance_seed=seed)
        reader = MeterReader(config_for(base, display="drum"))
        reader.references = ReferenceBank(reader.model_fingerprint or "")
        for digits in ("204517", "204518", "204519"):  # every last-drum digit involved
            f = render_frame("drum", digits, seed=seed, roll=0.0, nuisance_seed=seed)
            reader.learn_frame(f.image, digits)
        assert {"7", "8"} <= set(reader.references.known())
        turned = render_frame("drum", "204517", seed=seed, roll=roll, nuisance_seed=seed)
        res = reader.read_frames([turned.image], T0)
        assert not res.accepted or res.digits == "204517", (roll, res.per_digit)


def test_examples_do_not_gainsay_a_digit_they_have_never_seen() -> None:
    """The examples know only the digits the meter has shown: a drum stream's first 5,
    read by the model at 0.98, matched the learnt 3 and the engines disagreed (the cell
    was refused). A bank without a 5 abstains on a cell the model reads as 5."""
    frames = make_stream("drum", 8, seed=102)
    assert [f.digits for f in frames][-1] == "044315"
    cfg = config_for(frames[0], display="drum")
    cfg.ocr.interval_s = 3600
    # the model and the examples only: Tesseract reads this stream's bold 0 as 8 (0.57),
    # a doubt of its own that is not what this test is about
    cfg.ocr.engines = ["cnn"]
    reader = MeterReader(cfg)
    reader.references = ReferenceBank(reader.model_fingerprint or "")
    from datetime import timedelta

    for i, f in enumerate(frames[:-1]):
        res = reader.read_frames([f.image], T0 + timedelta(hours=i))
        assert not res.accepted or res.digits == f.digits
    assert "5" not in reader.references.known() and len(reader.references.known()) >= 3
    res = reader.read_frames([frames[-1].image], T0 + timedelta(hours=len(frames)))
    assert res.accepted and res.digits == "044315", (res.reason, res.per_digit)


def test_a_match_against_the_models_digit_needs_examples_of_it() -> None:
    """``match`` given the model's digit: a clear match to another digit stands only when
    the bank has examples of the model's digit too."""
    bank = ReferenceBank("m")
    a, b = np.eye(4, dtype=np.float32)[:2]
    bank.add("3", a)
    bank.add("1", b)
    assert bank.match(a).char == "3"
    assert bank.match(a, "3").char == "3"
    assert bank.match(a, "5").char is None  # no 5 kept: no opinion against it
    bank.add("5", np.eye(4, dtype=np.float32)[2])
    assert bank.match(a, "5").char == "3"  # now the engines may disagree


def test_the_examples_share_is_the_one_measured_for_the_held_out_model() -> None:
    """references-accuracy.json is what ``training.references_accuracy`` writes: its
    share is the lower end of the interval of its own counts, and it was measured with
    the held-out model as it is now (a retrained model needs the share measured again)."""
    import json

    from meter_agent.engines.digits import DigitModel
    from meter_agent.references import SHARE_PATH, examples_share
    from meter_agent.training.references_accuracy import HELDOUT_MODEL, wilson_lower

    data = json.loads(SHARE_PATH.read_text())
    assert data["agreed"] == data["clean"]["agreed"] + data["rollover"]["agreed"]
    assert data["right"] == data["clean"]["right"] + data["rollover"]["right"]
    assert (
        examples_share() == data["share"] == round(wilson_lower(data["right"], data["agreed"]), 4)
    )
    assert 0.9 < examples_share() < 1.0
    assert data["model"] == DigitModel.load(HELDOUT_MODEL).fingerprint
    # the interval's lower end: no wrong digit in 784 gives 0.995, one gives less
    assert wilson_lower(784, 784) == pytest.approx(0.9951, abs=1e-4)
    assert wilson_lower(783, 784) < wilson_lower(784, 784)
    assert wilson_lower(0, 0) == 0.0


def test_the_examples_agree_only_with_right_digits_on_the_tests_held_out_meters() -> None:
    """The measurement on the held-out meters of the tests' set (real crops, the real
    held-out model): the examples agree with the model on clean digits and on drums
    between two digits, and only ever on the right digit there; near a digit they are
    counted apart (a drum a tenth under a digit looks settled to them too)."""
    from meter_agent.training.references_accuracy import fit

    data = fit([shared_digits()])
    assert data["clean"]["agreed"] >= 100 and data["rollover"]["agreed"] >= 1
    assert data["right"] == data["agreed"]
    assert data["near_a_digit_not_counted"]["agreed"] > 0


def test_examples_do_not_make_a_faint_drum_readable() -> None:
    """A drum cell too faint for the vision is read on the model's own word only
    (FAINT_DRUM_SURE). A held-out ``pp`` water 6 the model gives 0.61 as an 8: the
    meter's other clean photos learnt, the examples agree with the 8 (they compare the
    model's view of the cell, as faint as the cell), and that read it as 8 at 0.99."""
    from meter_agent.engines.digits import DigitsEngine
    from meter_agent.training.data import default_data_dirs, load_collection

    data = shared_digits()
    crop = "../meter-digits-more/clean/watermeter/6.0_pp_b0c1e02491.jpg"
    held = set(DigitsEngine(HELD_OUT).model.info["held_out_files"])
    assert crop in held
    others = [
        s
        for s in load_collection(default_data_dirs())
        if s.file in held
        and s.file != crop
        and s.kind == "watermeter"
        and s.maker == "pp"
        and s.category == "clean"
        and not s.blank
    ]
    assert len(others) > 50
    cfg = AgentConfig()
    cfg.ocr.expected_digits = 1
    reader = MeterReader(cfg, digit_model=HELD_OUT)
    reader.references = ReferenceBank(reader.model_fingerprint or "")
    for s in others:
        reader.learn_cells([cell_from_crop(cv2.imread(str(data / s.file)))], str(s.digit), "drum")
    cell = cell_from_crop(cv2.imread(str(data / crop)))
    assert cell.blank
    got = reader.read_cells([cell], "drum", last_rolls=False)[0]
    guess = reader._last_cnn[0][0] if reader._last_cnn else None
    assert guess is not None and guess.char == "8" and (guess.p_top or 0.0) < 0.85
    emb = reader._last_cnn[1][0] if reader._last_cnn else None
    assert reader.references.match(emb, "8").char == "8"
    assert got.char is None or got.confidence < cfg.ocr.confidence_threshold, got
