"""Score the previous digit model (3 MLPs on HOG features) and the CNN side by side on
the held-out makers, with the figures that matter to the reader. Read-only.

    python -m meter_agent.training.compare_models [--old OLD.npz] [--new NEW.npz]

``--old`` defaults to the MLP ensemble as committed in 2cdd4a3 (taken out of git);
``--new`` to ``bench/models/digits-heldout.npz``. Both were trained without the held-out
makers, and both are scored on the same crops (the split is recomputed and must match
the one stored in each model).

Why these figures: the reader takes a model digit alone only when its top class has
p ≥ 0.95, so the share of crops read right at that level ("coverage") and the number
read WRONG at that level (want 0) matter more than argmax accuracy. On drums caught
mid-roll, a p ≥ 0.95 on the next digit while the drum is only 8–9 tenths on would make
the reader jump a digit early.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from meter_agent.engines.digits import MODEL_PATH, DigitModel, prepare
from meter_agent.training.data import (
    KINDS,
    SURE,
    Sample,
    default_data_dir,
    evaluate,
    load_samples,
    read_crop,
    split_by_maker,
)
from meter_agent.training.legacy_mlp import MlpModel, mlp_probabilities
from meter_agent.training.train_digits import HELDOUT_PATH

OLD_COMMIT = "2cdd4a3"
REPO = Path(__file__).resolve().parents[2]


def old_model_file(arg: Path | None) -> Path:
    """The MLP model: the given file, or the one committed in OLD_COMMIT."""
    if arg is not None:
        return arg
    blob = subprocess.run(
        ["git", "show", f"{OLD_COMMIT}:meter_agent/models/digits.npz"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    out = Path(tempfile.mkdtemp()) / "digits-mlp.npz"
    out.write_bytes(blob)
    return out


def ms_per_batch(fn, imgs: list[np.ndarray], repeats: int = 5, loops: int = 40) -> float:
    """Median over ``repeats`` of the mean time of one call on a batch (ms): the median
    keeps a moment of CPU contention (someone else's job) from deciding the figure."""
    fn(imgs)
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(loops):
            fn(imgs)
        runs.append((time.perf_counter() - t) / loops * 1000)
    return float(np.median(runs))


def row(name: str, r: dict) -> str:
    return (
        f"{name:<6}{100 * r['accuracy']:>7.1f} %{100 * r['coverage']:>9.1f} %{r['sure_wrong']:>8}"
    )


def print_report(reports: dict[str, dict], n_by: dict[str, int]) -> None:
    print(f"clean digits, held-out makers (coverage = read right with p >= {SURE})")
    print(f"{'kind':<12}{'n':>4}  {'model':<6}{'argmax':>9}{'coverage':>11}{'wrong':>8}")
    for kind in KINDS:
        key = f"clean/{kind}"
        for j, (name, rep) in enumerate(reports.items()):
            lead = f"{kind:<12}{n_by[key]:>4}  " if j == 0 else " " * 18
            print(lead + row(name, rep[key]))
    print("rollover drums, held-out makers")
    print(
        f"{'model':<6}{'n':>5}{'lower digit':>13}{'mean |err|':>12}"
        f"{'sure, neither':>15}{'tenth 8-9: next sure':>22}{'(settled)':>11}"
    )
    for name, rep in reports.items():
        r = rep["rollover"]
        print(
            f"{name:<6}{r['n']:>5}{100 * r['lower_digit_accuracy']:>11.1f} %"
            f"{r['mean_abs_error_digits']:>12.2f}{r['sure_on_neither_digit']:>15}"
            f"{r['tenth_8_9_next_sure']:>14} of {r['n_tenth_8_9']}"
            f"{r['tenth_8_9_next_settled']:>11}"
        )


def sure_mistakes(probs: np.ndarray, test: list[Sample]) -> list[str]:
    """The clean crops read wrong with p >= SURE, to look at."""
    out = []
    for p, s in zip(probs, test, strict=True):
        c = int(np.argmax(p[:10]))
        if s.category == "clean" and not s.blank and p[c] >= SURE and c != s.digit:
            out.append(f"  {s.file}: {s.digit} read as {c} (p {p[c]:.3f})")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--old", type=Path, default=None)
    ap.add_argument("--new", type=Path, default=HELDOUT_PATH)
    args = ap.parse_args(argv)
    samples = load_samples(args.data)
    test_files = split_by_maker(samples)
    test = [s for s in samples if s.file in test_files]
    old = MlpModel.load(old_model_file(args.old))
    new = DigitModel.load(args.new)
    for name, info in (("old", old.info), ("new", new.info)):
        if set(info.get("held_out_files", [])) != test_files:
            print(f"compare_models: the {name} model was held out on other files.", file=sys.stderr)
            return 2
    imgs = [read_crop(args.data / s.file) for s in test]
    probs = {
        "old": mlp_probabilities(old, imgs),
        "new": new.probabilities(np.stack([prepare(im) for im in imgs])),
    }
    reports = {k: evaluate(p, test) for k, p in probs.items()}
    n_by = {k: int(v["n"]) for k, v in reports["old"].items()}
    print(f"old: 3-MLP ensemble ({OLD_COMMIT}); new: {new.info.get('model', args.new)}")
    print_report(reports, n_by)
    for name, p in probs.items():
        bad = sure_mistakes(p, test)
        print(f"{name}: {len(bad)} clean crops read wrong with p >= {SURE}")
        print("\n".join(bad[:12]))
    batch = imgs[:8]
    t_old = ms_per_batch(lambda b: mlp_probabilities(old, b), batch)
    t_new = ms_per_batch(lambda b: new.probabilities(np.stack([prepare(im) for im in b])), batch)
    print(
        f"inference, batch of 8 crops (incl. preprocessing; median of 5): old {t_old:.2f} ms "
        f"({t_old / 8:.2f} ms/digit), new {t_new:.2f} ms ({t_new / 8:.2f} ms/digit)"
    )
    for path in (args.new, MODEL_PATH):
        if path.is_file():
            print(f"model file: {path} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
