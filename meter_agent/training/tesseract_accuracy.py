"""Measure how often Tesseract is right at each of its confidences, on real drum digits.

``python -m meter_agent.training.tesseract_accuracy`` reads every clean drum crop of the
makers the digit model trains on (the makers ``bench/ocr.py`` holds out are left out, so
the held-out figures stay honest) as the reader shows them to Tesseract, and writes
``meter_agent/models/tesseract-accuracy.json``: per band of Tesseract's own confidence,
the share of its digits that were right.

Why: Tesseract's confidence is not a probability. On these crops it is right about 60 %
of the time below 0.4 and about 92 % above 0.8. When Tesseract reads the model's digit,
the reader takes away as much of the model's doubt as Tesseract is right at that
confidence (:func:`meter_agent.engines.tesseract.accuracy`, used by
``meter_agent.reader``) instead of a fixed half. Needs Tesseract and the collection, not
torch; about 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import cv2

from meter_agent.engines.tesseract import (
    ACCURACY_PATH,
    BANDS,
    TesseractEngine,
    available,
    band,
)
from meter_agent.training.data import default_data_dirs, load_collection, split_by_maker
from meter_agent.vision import cell_from_crop

DRUM_KINDS = ("powermeter", "watermeter", "gasmeter")


def tesseract_version() -> str:
    out = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].strip() if first else "unknown"


def fit(dirs: list[Path]) -> dict:
    """Per confidence band: how many digits Tesseract gave, and how many were right."""
    samples = load_collection(dirs)
    held = split_by_maker(samples)
    crops = [
        s
        for s in samples
        if s.file not in held and s.category == "clean" and s.kind in DRUM_KINDS and not s.blank
    ]
    engine = TesseractEngine()
    said = [0] * len(BANDS)
    right = [0] * len(BANDS)
    silent = 0
    for s in crops:
        img = cv2.imread(str(dirs[0] / s.file))
        if img is None:
            continue
        cell = cell_from_crop(img)
        if cell.blank:
            continue
        g = engine.read([cell.binary])[0]
        if g.char is None:
            silent += 1
            continue
        b = band(g.confidence)
        said[b] += 1
        right[b] += int(g.char == str(s.digit))
    return {
        "what": "share of Tesseract's digits that were right, per band of its confidence",
        "measured_on": f"{len(crops)} clean drum crops of the makers the digit model trains "
        "on (haverland/Tenth-of-step-of-a-meter-digit, Apache-2.0), as the reader's vision "
        "cuts them; held-out makers left out",
        "tesseract": tesseract_version(),
        "bands": list(BANDS),
        "said": said,
        "right": right,
        "silent": silent,
        "accuracy": [round(r / n, 3) if n else 0.5 for r, n in zip(right, said, strict=True)],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ACCURACY_PATH)
    args = ap.parse_args(argv)
    if not available():
        print("tesseract is not installed (apt-get install tesseract-ocr)", file=sys.stderr)
        return 1
    dirs = default_data_dirs()
    if not (dirs[0] / "labels.csv").is_file():
        print(f"the digit collection is not at {dirs[0]}", file=sys.stderr)
        return 1
    table = fit(dirs)
    args.out.write_text(json.dumps(table, indent=2) + "\n")
    for top, n, r, a in zip(
        table["bands"], table["said"], table["right"], table["accuracy"], strict=True
    ):
        print(f"confidence < {top:.1f}: {r:4d} right of {n:4d} ({100 * a:.1f} %)")
    print(f"no digit: {table['silent']}; written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
