"""Measure how often the model's digit is right where the meter's own examples agree.

``python -m meter_agent.training.references_accuracy`` reads the real crops of the makers
``bench/ocr.py`` holds out, with the held-out model (which never saw them: the examples
matter on a meter the model does not know), and writes
``meter_agent/models/references-accuracy.json``. Per meter, each crop is read with the
meter's other clean crops learnt as examples, as a person setting the reading by hand
teaches the agent (:meth:`meter_agent.reader.MeterReader.learn_cells`). Counted are the
cells where the examples' digit is the one the model leans to (at least half its mass,
the only case where they may confirm it, see ``meter_agent.reader._confirmed``): a clean
crop's nearest digit, a turning drum's lower digit. A turning drum the model places near
a digit (a tenth under it to a tenth past) is counted apart and left out of the share:
there a drum a tenth under 9 looks like a settled 9 to the examples as much as to the
model, and the reader lets the drums' line or the history say which side it stands on,
never the examples (on the held-out meters they agreed with a wrong digit 36 times of
162 there, and never elsewhere).

The share the reader takes from the model's doubt is the lower end of the 95 % (Wilson)
interval of the share right, so a few hundred agreements without a wrong digit give
about 0.99, and one wrong among them lowers it. Needs the collection, not torch or
Tesseract; about 10 seconds on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from meter_agent.engines import DigitGuess
from meter_agent.engines.digits import DigitsEngine, ModelRead, fold_floor
from meter_agent.reader import NEAR_NEXT, SETTLED_BAND, learnable
from meter_agent.references import SHARE_PATH, ReferenceBank
from meter_agent.training.data import Sample, default_data_dirs, load_collection
from meter_agent.training.train_digits import HELDOUT_PATH as HELDOUT_MODEL
from meter_agent.vision import cell_from_crop

#: the model must lean to the digit (this much of its mass) for the examples to confirm it
LEANS = 0.5
#: the normal quantile of the interval's lower end (95 %, two-sided)
Z = 1.96


@dataclass
class Tally:
    agreed: int = 0
    right: int = 0

    def add(self, right: bool) -> None:
        self.agreed += 1
        self.right += int(right)


def wilson_lower(right: int, n: int, z: float = Z) -> float:
    """The lower end of the Wilson score interval of ``right`` of ``n``."""
    if n == 0:
        return 0.0
    p = right / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def meter_of(s: Sample) -> tuple[str, str]:
    """One meter per kind and maker (LCD crops without a maker: the file name's maker)."""
    maker = s.maker.strip() or s.file.rsplit("/", 1)[-1].split("_")[1]
    return s.kind, maker


def leaned_digit(g: DigitGuess, rolling: bool) -> tuple[int, float] | None:
    """The digit the reader would take from the model, and the model's mass on it: a
    settled cell's nearest digit, a turning drum's lower digit (its ten tenths)."""
    if g.char is None:
        return None
    if not rolling or g.positions is None:
        return int(g.char), float(g.p_top or g.confidence)
    mass = fold_floor(np.asarray(g.positions, np.float64))[:10]
    d = int(np.argmax(mass))
    return d, float(mass[d])


def measure_meter(
    samples: list[Sample], read: ModelRead, tallies: dict[str, Tally], fingerprint: str
) -> None:
    """Each crop of one meter read against examples learnt from the meter's other clean
    crops; an agreement counted in the tally of the crop's category."""
    drum = samples[0].kind != "lcd"
    settled = read.guesses(rolling=drum)
    for t, s in enumerate(samples):
        bank = ReferenceBank(fingerprint)
        for i, o in enumerate(samples):
            if i != t and o.category == "clean" and learnable(settled[i], str(o.digit)):
                bank.add(str(o.digit), read.embeddings[i])
        got = leaned_digit(settled[t], rolling=drum and s.category == "rollover")
        if got is None:
            continue
        digit, mass = got
        match = bank.match(read.embeddings[t], settled[t].char)
        if mass < LEANS or match.char != str(digit) or settled[t].char != str(digit):
            continue
        v = settled[t].value
        near = (
            s.category == "rollover" and v is not None and -NEAR_NEXT < v - round(v) < SETTLED_BAND
        )
        tallies["near" if near else s.category].add(digit == s.digit)


def fit(dirs: list[Path], model_path: Path = HELDOUT_MODEL) -> dict:
    engine = DigitsEngine(model_path)
    held = set(engine.model.info.get("held_out_files", []))
    meters: dict[tuple[str, str], list[Sample]] = {}
    for s in load_collection(dirs):
        if s.file in held and not s.blank:
            meters.setdefault(meter_of(s), []).append(s)
    tallies = {"clean": Tally(), "rollover": Tally(), "near": Tally()}
    for samples in meters.values():
        kept, cells = [], []
        for s in samples:
            img = cv2.imread(str(dirs[0] / s.file))
            if img is not None:
                kept.append(s)
                cells.append(cell_from_crop(img))
        read = engine.forward([c.raw if c.raw is not None else c.gray for c in cells])
        measure_meter(kept, read, tallies, engine.model.fingerprint)
    counted = (tallies["clean"], tallies["rollover"])
    agreed = sum(t.agreed for t in counted)
    right = sum(t.right for t in counted)
    return {
        "what": "how often the model's digit was right where the meter's own examples "
        "agreed with it (the model leaning to it with at least half its mass); share: the "
        "lower end of the 95 % Wilson interval",
        "measured_on": f"{sum(len(v) for v in meters.values())} crops of the {len(meters)} "
        "held-out meters (haverland/Tenth-of-step-of-a-meter-digit, Apache-2.0), read by "
        f"{model_path.name}, each with its meter's other clean crops learnt",
        "model": engine.model.fingerprint,
        "clean": {"agreed": tallies["clean"].agreed, "right": tallies["clean"].right},
        "rollover": {"agreed": tallies["rollover"].agreed, "right": tallies["rollover"].right},
        "near_a_digit_not_counted": {
            "agreed": tallies["near"].agreed,
            "right": tallies["near"].right,
        },
        "agreed": agreed,
        "right": right,
        "share": round(wilson_lower(right, agreed), 4),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=SHARE_PATH)
    ap.add_argument("--model", type=Path, default=HELDOUT_MODEL)
    args = ap.parse_args(argv)
    dirs = default_data_dirs()
    if not (dirs[0] / "labels.csv").is_file():
        print(f"the digit collection is not at {dirs[0]}", file=sys.stderr)
        return 1
    if not args.model.is_file():
        print(f"the held-out model {args.model} is missing", file=sys.stderr)
        return 1
    table = fit(dirs, args.model)
    args.out.write_text(json.dumps(table, indent=2) + "\n")
    for cat, label in (
        ("clean", "clean digits"),
        ("rollover", "turning drums"),
        ("near_a_digit_not_counted", "turning drums near a digit (not counted)"),
    ):
        t = table[cat]
        print(
            f"{label}: the examples agreed with the model {t['agreed']} times, right {t['right']}"
        )
    print(f"share of the doubt taken away: {table['share']}; written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
