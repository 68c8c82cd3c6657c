"""The training data of the digit model: the real labelled crops, the held-out split by
maker, synthetic cells cut by the real pipeline, and the per-kind evaluation.

Shared by ``train_digits`` (which trains) and ``compare_models`` (which scores an old and
a new model on the very same held-out crops), so both always agree on what is held out.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import cv2
import numpy as np

from meter_agent.engines.digits import N_CLASS, N_CLASSES, drum_value


@dataclass
class Sample:
    file: str
    kind: str  # powermeter | lcd | watermeter | gasmeter
    category: str  # clean | rollover
    maker: str
    digit: int
    tenth: int
    note: str

    @property
    def blank(self) -> bool:
        return self.note.startswith("blank")

    def target(self) -> np.ndarray:
        t = np.zeros(N_CLASSES, np.float32)
        if self.blank:
            t[N_CLASS] = 1.0
        else:
            f = self.tenth / 10.0
            t[self.digit] += 1.0 - f
            t[(self.digit + 1) % 10] += f
        return t


def default_data_dir() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "meter-digits"


def load_samples(data: Path) -> list[Sample]:
    with open(data / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for r in rows:
        out.append(
            Sample(
                file=r["file"],
                kind=r["kind"],
                category=r["category"],
                maker=r["maker"],
                digit=int(r["digit"]),
                tenth=int(r["tenth"] or 0),
                note=r["note"],
            )
        )
    return out


def read_crop(path: Path) -> np.ndarray:
    """One labelled crop as OpenCV reads it (BGR); an error naming the file if it cannot."""
    img = cv2.imread(str(path))
    if img is None:
        raise FileNotFoundError(f"cannot read the image {path}")
    return img


def _h(s: str) -> str:
    return hashlib.sha1(s.encode()).hexdigest()


def split_by_maker(samples: list[Sample], share: float = 0.25) -> set[str]:
    """Files held out for testing: whole makers (a stable hash order), per kind."""
    test: set[str] = set()
    for kind in sorted({s.kind for s in samples}):
        ks = [s for s in samples if s.kind == kind]
        groups: dict[str, list[Sample]] = {}
        for s in ks:
            key = s.maker.strip() or ("file:" + s.file)
            groups.setdefault(key, []).append(s)
        n_test = 0
        for key in sorted(groups, key=_h):
            g = groups[key]
            if n_test >= share * len(ks):
                break
            if n_test + len(g) > 0.4 * len(ks):
                continue
            test.update(x.file for x in g)
            n_test += len(g)
    return test


def split_by_photo(samples: list[Sample], share: float = 0.25) -> set[str]:
    """Files held out for testing: single crops (a stable hash order), a ``share`` of each
    kind and category, so their makers *are* seen in training — the case of new photos
    of meters the model knows, as opposed to :func:`split_by_maker`'s unseen meters."""
    test: set[str] = set()
    for key in sorted({(s.kind, s.category) for s in samples}):
        group = sorted(
            (s for s in samples if (s.kind, s.category) == key), key=lambda s: _h(s.file)
        )
        test.update(s.file for s in group[: round(share * len(group))])
    return test


def synthetic_cells(n_frames: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Cells cut by the real pipeline from synthetic frames, with (soft) targets."""
    from meter_agent.config import CalibrationConfig, OcrConfig
    from meter_agent.synth import Kind, Screen, drum_positions, render_frame
    from meter_agent.vision import process_window

    rng = np.random.default_rng(seed)
    imgs: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    for i in range(n_frames):
        kind: Kind = "lcd7" if i % 3 == 0 else "drum"  # drums are the harder half
        n = int(rng.integers(4, 8))
        digits = "".join(str(int(d)) for d in rng.integers(0, 10, n))
        if kind == "drum" and rng.random() < 0.3:
            # make carries common: trailing nines
            k = int(rng.integers(1, n))
            digits = digits[: n - k] + "9" * k
        screen: Screen = "reading"
        occlude = None
        roll = 0.0
        if kind == "lcd7":
            # one of the Screen literals listed (str(): rng.choice gives a numpy str_)
            screen = cast(Screen, str(rng.choice(["reading"] * 6 + ["register", "blank", "date"])))
        elif rng.random() < 0.6:
            roll = float(rng.uniform(0.05, 0.95))
        if rng.random() < 0.35:
            occlude = int(rng.integers(0, n))
        f = render_frame(
            kind,
            digits,
            seed=int(rng.integers(0, 2**31)),
            screen=screen,
            roll=roll,
            decimals=int(rng.integers(0, 2)),
            occlude=occlude,
            frame_size=(800, 450),
            jitter_degrees=float(rng.uniform(-1.5, 1.5)),
        )
        win = process_window(
            f.image,
            CalibrationConfig(roi=f.roi, rotate_degrees=f.rotation),
            OcrConfig(expected_digits=n),
        )
        # what the cells really show (screens draw other characters than `digits`)
        if screen == "blank":
            shown = [" "] * n
        elif screen == "register":
            shown = ["X"] + list("?" * (n - 1))  # only the code cell is a known non-digit
        elif screen == "date":
            shown = ["?"] * n
        else:
            shown = list(digits)
        pos = drum_positions(digits, roll) if kind == "drum" else [(0, 0.0)] * n
        for j, cell in enumerate(win.cells):
            t = np.zeros(N_CLASSES, np.float32)
            ch = shown[j]
            if occlude == j or ch in (" ", "X"):
                t[N_CLASS] = 1.0
            elif ch == "?":
                continue
            elif kind == "drum":
                d, fr = pos[j]
                t[d] += 1 - fr
                t[(d + 1) % 10] += fr
            else:
                t[int(ch)] = 1.0
            assert cell.raw is not None  # process_window keeps every cell's camera grey
            imgs.append(cell.raw)
            targets.append(t)
    return imgs, targets


#: the reader accepts a model digit alone only when its top class is at least this sure
SURE = 0.95
KINDS = ("powermeter", "lcd", "watermeter", "gasmeter")


def _clean_report(probs: np.ndarray, samples: list[Sample], idx: list[int]) -> dict[str, float]:
    """Argmax accuracy, and what the reader's p >= SURE gate lets through: the share of
    crops accepted and right ("coverage") and the count accepted and wrong (want 0)."""
    ok = sure_right = sure_wrong = 0
    for i in idx:
        p = probs[i]
        c = int(np.argmax(p[:10]))
        right = c == samples[i].digit and p[N_CLASS] < 0.5
        ok += int(right)
        if p[c] >= SURE:
            sure_right += int(right)
            sure_wrong += int(not right)
    n = len(idx)
    return {"n": n, "accuracy": ok / n, "coverage": sure_right / n, "sure_wrong": sure_wrong}


def _rollover_report(probs: np.ndarray, samples: list[Sample], idx: list[int]) -> dict:
    """Drums caught mid-roll: the lower digit (floor of the drum position, as an odometer
    is read), the position error, and the two dangerous kinds of certainty: p >= SURE on
    a digit that is neither of the two shown, and, with the drum 8-9 tenths on, p >= SURE
    on the next digit (a reader taking it alone would jump a digit early; the reader
    refuses such a drum when its position is 0.05-0.5 under the next digit, so the rest,
    "settled", is what could get through)."""
    lower = sure_other = late = late_next_sure = late_settled = 0
    err = []
    for i in idx:
        p, s = probs[i], samples[i]
        val = drum_value(p)
        lower += int(int(np.floor(val)) % 10 == s.digit)
        err.append(abs((val - (s.digit + s.tenth / 10) + 5) % 10 - 5))
        c = int(np.argmax(p[:10]))
        nxt = (s.digit + 1) % 10
        sure_other += int(p[c] >= SURE and c not in (s.digit, nxt))
        if s.tenth >= 8:
            late += 1
            late_next_sure += int(c == nxt and p[c] >= SURE)
            # and not 0.05-0.5 under it, which the reader refuses: it would take it as settled
            below = (nxt - val) % 10
            late_settled += int(c == nxt and p[c] >= SURE and not 0.05 <= below < 0.5)
    return {
        "n": len(idx),
        "lower_digit_accuracy": lower / len(idx),
        "mean_abs_error_digits": float(np.mean(err)),
        "sure_on_neither_digit": sure_other,
        "n_tenth_8_9": late,
        "tenth_8_9_next_sure": late_next_sure,
        "tenth_8_9_next_settled": late_settled,
    }


def evaluate(probs: np.ndarray, samples: list[Sample]) -> dict[str, dict[str, float]]:
    """Per kind on clean digits, and on rollover drums; see the two helpers."""
    res: dict[str, dict] = {}
    for kind in KINDS:
        idx = [
            i
            for i, s in enumerate(samples)
            if s.kind == kind and s.category == "clean" and not s.blank
        ]
        if idx:
            res[f"clean/{kind}"] = _clean_report(probs, samples, idx)
    idx = [i for i, s in enumerate(samples) if s.category == "rollover"]
    if idx:
        res["rollover"] = _rollover_report(probs, samples, idx)
    return res
