"""Train the digit CNN and write both model files. Re-runnable, seeded.

    pip install -e '.[train]'      # torch, for training only; the runtime needs numpy
    python -m meter_agent.training.train_digits [--data ../shared/data/meter-digits]

Writes two models, from the same recipe and seeds:

* ``bench/models/digits-heldout.npz``: trained WITHOUT the held-out makers (a quarter of
  each kind, whole meter models never seen); its ``info`` carries the held-out file list
  and its report on them. ``python -m bench.ocr`` and the tests measure only with it.
* ``meter_agent/models/digits.npz``, the shipped model: trained on ALL the real crops
  (more meters seen = better for users). Figures on held-out makers cannot be measured
  for it, so its ``info`` carries those of the held-out model, and ``trained_on_all``.

Data: the real crops of haverland/Tenth-of-step-of-a-meter-digit (Apache-2.0) in the
shared data folder, plus synthetic LCD and drum cells cut by the real vision pipeline
from :mod:`meter_agent.synth` frames (so the model also knows the cells the reader
produces, and non-digits: blanks, letters, occluders → class N), plus drawn blanks and
cells cut across the gap between two digits (also N). Every epoch draws new augmented
variants (see :mod:`meter_agent.training.augment`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from meter_agent.engines.digits import MODEL_PATH, N_OUT, DigitModel, prepare, softmax
from meter_agent.training import augment as aug
from meter_agent.training.data import (
    Sample,
    calibration_error,
    default_data_dirs,
    evaluate,
    load_collection,
    meter_type,
    position_target,
    read_crop,
    split_by_maker,
    split_by_photo,
    synthetic_cells,
)

SEED = 20261125
HELDOUT_PATH = Path(__file__).resolve().parents[2] / "bench" / "models" / "digits-heldout.npz"
#: held out by photo (makers seen in training): ``--split photo``
HELDOUT_PHOTO_PATH = HELDOUT_PATH.with_name("digits-heldout-photo.npz")
NOTICE = (
    "This model was trained on digit images from "
    "https://github.com/haverland/Tenth-of-step-of-a-meter-digit (images/collected), "
    "licensed under the Apache License 2.0; keep this notice when redistributing it."
)
#: channels of the three conv blocks, and the hidden dense width
CHANNELS = (32, 64, 128)
HIDDEN = 256
#: networks trained from different seeds; their probabilities are averaged (five read the
#: held-out makers better but no synthetic frame better: docs/meter-reading.md)
MEMBERS = 2
#: passes over the data, each with fresh variants (the shipped models' recipe; 24 read the
#: held-out makers' clean drums better than 14 over two draws: docs/meter-reading.md)
EPOCHS = 24
#: meter types' weight per epoch (see Pool.epoch_order); 0 gives every crop once. 1000
#: (the same number of crops an epoch, rebalanced) read unseen meter types no better over
#: two draws of them, and made the same wrong values: docs/meter-reading.md
TYPE_BALANCE = 0


@dataclass
class Real:
    """One real crop ready for augmentation."""

    img: np.ndarray  # grey, original size
    target: np.ndarray
    sample: Sample

    @property
    def drum(self) -> bool:
        return self.sample.kind != "lcd"

    @property
    def group(self) -> tuple[str, str]:
        return (self.sample.kind, self.sample.maker.strip())


class Pool:
    """The real crops, indexed for picking neighbours (same meter model when it is
    known, else the same kind) and clean drum pairs d, d+1 of one meter (for rolls)."""

    def __init__(self, reals: list[Real]) -> None:
        self.reals = reals
        self.by_group: dict[tuple[str, str], list[int]] = {}
        self.by_kind: dict[str, list[int]] = {}
        self.clean_by_digit: dict[tuple[str, str, int], list[int]] = {}
        for i, r in enumerate(reals):
            if r.sample.blank:
                continue
            self.by_kind.setdefault(r.sample.kind, []).append(i)
            if r.group[1]:
                self.by_group.setdefault(r.group, []).append(i)
            if r.drum and r.sample.category == "clean" and r.group[1]:
                self.clean_by_digit.setdefault((*r.group, r.sample.digit), []).append(i)

        #: the crops of each meter type (per kind; LCD crops without a maker are one group)
        self.by_type: dict[tuple[str, str], list[int]] = {}
        for i, r in enumerate(reals):
            self.by_type.setdefault((r.sample.kind, meter_type(r.sample.maker)), []).append(i)

    def epoch_order(self, rng: np.random.Generator, balance: int) -> list[int]:
        """The real crops one epoch sees. ``balance`` 0: each once. Else each meter type
        contributes √(n · balance) crops however many (n) it has — a sample of a type
        with many, repeats of a type with few: one ISKRA type holds 2,760 crops and
        another meter 22, and a model that mostly sees a few types learns their faces
        rather than digits, which is what it must read on meters it never saw."""
        if balance <= 0:
            return list(range(len(self.reals)))
        out: list[int] = []
        for key in sorted(self.by_type):
            idx = self.by_type[key]
            k = int(round(np.sqrt(len(idx) * balance)))
            if k <= len(idx):
                out.extend(int(i) for i in rng.choice(idx, size=k, replace=False))
            else:
                out.extend(idx)
                out.extend(int(i) for i in rng.choice(idx, size=k - len(idx), replace=True))
        return out

    def neighbour(self, r: Real, rng: np.random.Generator) -> np.ndarray:
        cands = self.by_group.get(r.group) or self.by_kind[r.sample.kind]
        return self.reals[int(rng.choice(cands))].img

    def next_digit(self, r: Real, rng: np.random.Generator) -> np.ndarray | None:
        cands = self.clean_by_digit.get((*r.group, (r.sample.digit + 1) % 10))
        return self.reals[int(rng.choice(cands))].img if cands else None


def soft(d: int, frac: float) -> np.ndarray:
    return position_target(d + frac)


def not_a_digit() -> np.ndarray:
    return position_target(None)


def real_variant(r: Real, pool: Pool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One augmented variant of a real crop, and its (soft) target."""
    img, target = r.img, r.target
    u = rng.random()
    if not r.sample.blank and u < 0.04:
        img, target = aug.between_digits(img, pool.neighbour(r, rng), rng), not_a_digit()
    elif r.drum and r.sample.category == "clean" and u < 0.12:
        nxt = pool.next_digit(r, rng)
        if nxt is not None:
            # half of them nearly turned: there the next digit must not look settled
            frac = float(rng.uniform(0.75, 0.97) if rng.random() < 0.5 else rng.uniform(0.03, 0.75))
            img, target = aug.rolled(img, nxt, frac), soft(r.sample.digit, frac)
    if not r.sample.blank and rng.random() < 0.6:
        img = aug.with_neighbours(img, pool.neighbour(r, rng), pool.neighbour(r, rng), rng)
    if rng.random() < 0.9:
        img = aug.warp(img, rng, r.drum)
    return aug.degrade(aug.to_input_size(img), rng), target


def repeats(s: Sample) -> int:
    """Variants of one crop per copy: twice for the few and hard ones, real drums 7-9
    tenths on (the hardest to be modest about) and water and gas drums (a tenth of the
    crops, and the kinds unseen makers are read worst)."""
    late = s.category == "rollover" and s.tenth >= 7
    return 2 if late or s.kind in ("watermeter", "gasmeter") else 1


def make_epoch(
    pool: Pool,
    synth: tuple[list[np.ndarray], list[np.ndarray]],
    rng: np.random.Generator,
    copies: int,
    n_synth: int,
    n_blank: int,
    balance: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A fresh augmented training set: the real crops ``copies`` times (each meter type
    weighted by ``balance``, see :meth:`Pool.epoch_order`), a random draw of synthetic
    cells (lightly warped), and drawn blanks."""
    xs, ys = [], []
    for _ in range(copies):
        for i in pool.epoch_order(rng, balance):
            r = pool.reals[i]
            for _ in range(repeats(r.sample)):
                x, y = real_variant(r, pool, rng)
                xs.append(x)
                ys.append(y)
    simgs, stargets = synth
    for i in rng.choice(len(simgs), size=min(n_synth, len(simgs)), replace=False):
        g = simgs[i]
        if rng.random() < 0.5:
            g = aug.warp(g, rng, drum=True)
        xs.append(aug.degrade(aug.to_input_size(g), rng))
        ys.append(stargets[i])
    for _ in range(n_blank):
        xs.append(aug.blank_cell(rng))
        ys.append(not_a_digit())
    return np.stack([prepare(x) for x in xs]), np.stack(ys).astype(np.float32)


def build_net():  # -> torch.nn.Module (torch is imported lazily: training only)
    from torch import nn

    layers: list[nn.Module] = []
    c_in = 1
    for c in CHANNELS:
        layers += [
            nn.Conv2d(c_in, c, 3, padding=1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.MaxPool2d(2),
        ]
        c_in = c
    flat = CHANNELS[-1] * (32 // 8) * (20 // 8)
    layers += [
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(flat, HIDDEN),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Linear(HIDDEN, N_OUT),
    ]
    return nn.Sequential(*layers)


def train_member(
    pool: Pool,
    synth: tuple[list[np.ndarray], list[np.ndarray]],
    seed: int,
    args: argparse.Namespace,
):  # -> torch.nn.Module
    """Soft-label cross-entropy, AdamW, cosine learning rate, fresh variants per epoch."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = build_net()
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.epochs, pct_start=0.15
    )
    for ep in range(args.epochs):
        x, y = make_epoch(
            pool, synth, rng, args.copies, args.synthetic_per_epoch, args.blanks, args.type_balance
        )
        xt, yt = torch.from_numpy(x[:, None]), torch.from_numpy(y)
        net.train()
        order = torch.randperm(len(xt))
        total = 0.0
        for s in range(0, len(xt), 128):
            idx = order[s : s + 128]
            logp = torch.log_softmax(net(xt[idx]), dim=1)
            loss = -(yt[idx] * logp).sum(dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        if ep % 5 == 4 or ep == args.epochs - 1:
            print(f"    epoch {ep + 1}/{args.epochs}: loss {total / len(xt):.3f}", flush=True)
    return net.eval()


def export_member(net, k: int) -> dict[str, np.ndarray]:
    """Arrays of one network, batch-norm folded into the preceding convolution:
    w' = w·γ/σ, b' = β − μ·γ/σ. Weights as float16 (half the file, no loss that the
    held-out figures show), biases as float32."""
    from torch import nn

    out: dict[str, np.ndarray] = {}
    mods = list(net)
    convs = [m for m in mods if isinstance(m, nn.Conv2d)]
    # Any: torch types running statistics as optional, and torch may not be installed
    bns: list[Any] = [m for m in mods if isinstance(m, nn.BatchNorm2d)]
    for j, (cv, bn) in enumerate(zip(convs, bns, strict=True)):
        s = (bn.weight / (bn.running_var + bn.eps).sqrt()).detach().numpy()
        w = cv.weight.detach().numpy() * s[:, None, None, None]
        b = bn.bias.detach().numpy() - bn.running_mean.detach().numpy() * s
        out[f"m{k}_conv{j}_w"] = w.astype(np.float16)
        out[f"m{k}_conv{j}_b"] = b.astype(np.float32)
    for j, lin in enumerate(m for m in mods if isinstance(m, nn.Linear)):
        out[f"m{k}_dense{j}_w"] = lin.weight.detach().numpy().T.astype(np.float16)
        out[f"m{k}_dense{j}_b"] = lin.bias.detach().numpy().astype(np.float32)
    return out


def read_reals(data: Path, samples: list[Sample]) -> list[Real]:
    out = []
    for s in samples:
        img = cv2.imread(str(data / s.file), cv2.IMREAD_GRAYSCALE)
        if img is not None:
            out.append(Real(img, s.target(), s))
    return out


def train_model(
    reals: list[Real],
    synth: tuple[list[np.ndarray], list[np.ndarray]],
    args: argparse.Namespace,
    label: str,
) -> dict[str, np.ndarray]:
    """The ensemble's arrays, members trained one after another from seeds ``args.seed`` + k."""
    pool = Pool(reals)
    arrays: dict[str, np.ndarray] = {}
    for k in range(args.members):
        t = time.time()
        print(f"  {label}: member {k + 1}/{args.members}", flush=True)
        arrays.update(export_member(train_member(pool, synth, args.seed + k, args), k))
        print(f"  {label}: member {k + 1} took {time.time() - t:.0f} s", flush=True)
    return arrays


def _plain(o: object) -> object:
    """numpy scalars in the report as plain JSON numbers."""
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"{type(o).__name__} is not JSON")


def save(path: Path, arrays: dict[str, np.ndarray], info: dict) -> DigitModel:
    path.parent.mkdir(parents=True, exist_ok=True)
    # numpy's stub lets **arrays fill allow_pickle: bool; the keys are the members' array names
    np.savez_compressed(path, info=np.array(json.dumps(info, default=_plain)), **arrays)  # type: ignore[arg-type]
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
    return DigitModel.load(path)


def held_out_logits(model: DigitModel, data: Path, test: list[Sample]) -> np.ndarray:
    """Each member's raw logits on the held-out crops: members × N × 101."""
    x = np.stack([prepare(read_crop(data / s.file)) for s in test])
    return np.stack([m.logits(x) for m in model.members])


def ensemble(logits: np.ndarray, t: float) -> np.ndarray:
    """The ensemble's positions at temperature ``t``, as DigitModel computes them."""
    return np.mean([softmax(z / t) for z in logits], axis=0)


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The temperature minimising the cross-entropy against the targets (a grid: one
    parameter, and the curve is smooth)."""
    grid = np.exp(np.linspace(np.log(0.5), np.log(4.0), 61))
    nll = [float(-(targets * np.log(ensemble(logits, t) + 1e-9)).sum(axis=1).mean()) for t in grid]
    return float(grid[int(np.argmin(nll))])


def _decision_ece(q: np.ndarray, test: list[Sample]) -> float:
    """Calibration error of the confidences the reader decides on: the nearest digit for
    LCDs, the lower digit (last drum) for drums."""
    from meter_agent.engines.digits import fold_floor, fold_round

    conf, right = [], []
    for qi, s in zip(q, test, strict=True):
        if s.blank:
            continue
        f = fold_round(qi) if s.kind == "lcd" else fold_floor(qi)
        d = int(np.argmax(f[:10]))
        conf.append(float(f[d]))
        right.append(d == s.digit)
    return calibration_error(np.array(conf), np.array(right, dtype=float))


def calibrate(logits: np.ndarray, test: list[Sample]) -> dict:
    """Temperature scaling on the held-out makers. The calibration error is measured
    cross-fitted (the temperature fitted on half the makers, measured on the other half,
    and back), so the figure is not flattered by fitting and measuring on the same
    crops; the temperature kept is fitted on all of them."""
    targets = np.stack([s.target() for s in test])
    halves = [np.array([hash_half(s) == k for s in test]) for k in (0, 1)]
    before, after = [], []
    for fit, measure in ((halves[0], halves[1]), (halves[1], halves[0])):
        if fit.sum() == 0 or measure.sum() == 0:
            continue
        t = fit_temperature(logits[:, fit], targets[fit])
        sub = [s for s, m in zip(test, measure, strict=True) if m]
        before.append(_decision_ece(ensemble(logits[:, measure], 1.0), sub))
        after.append(_decision_ece(ensemble(logits[:, measure], t), sub))
    t_all = fit_temperature(logits, targets)
    return {
        "temperature": round(t_all, 4),
        "ece_before": round(float(np.mean(before)), 4) if before else None,
        "ece_after": round(float(np.mean(after)), 4) if after else None,
    }


def hash_half(s: Sample) -> int:
    """0 or 1, stable per maker (per file when the maker is unknown)."""
    import hashlib

    key = f"{s.kind}/{s.maker.strip() or s.file}"
    return hashlib.sha1(key.encode()).digest()[0] & 1


def extra_cells(n: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Digits rendered from the training fonts (meter_agent.training.fonts), when its
    fonts are installed: so a clean digit in a face no meter here uses is read."""
    try:
        fonts: Any = importlib.import_module("meter_agent.training.fonts")
    except ImportError:
        return [], []
    faces = fonts.TRAIN_FONTS if hasattr(fonts, "TRAIN_FONTS") else []
    present = [f for f in faces if Path(f).is_file()]
    if not present or n <= 0:
        print("  no training fonts installed: rendered digits left out", flush=True)
        return [], []
    imgs, pos = fonts.font_cells(n, seed, present)
    targets = [
        position_target(None if p < 0 else float(p), settled=float(p).is_integer()) for p in pos
    ]
    return list(imgs), targets


#: what makes a draw of the recipe, as the held-out model's info records it
DRAW_KEYS = ("seed", "epochs", "members", "type_balance")


def held_out_info(args: argparse.Namespace) -> dict[str, Any] | str:
    """The held-out model's ``info``, which ``--shipped-only`` takes as the shipped
    model's own, or why it cannot (the model cannot be loaded, or it is another draw)."""
    try:
        info = dict(DigitModel.load(args.heldout_out).info)
    except ValueError as exc:
        return f"{exc} --shipped-only needs the held-out model of the same recipe."
    return other_draw(info, args) or info


def other_draw(info: dict[str, Any], args: argparse.Namespace) -> str | None:
    """Why the shipped model must not be trained with these arguments, or None: it takes
    the held-out model's report (``info``) as its own, which only holds for the same
    recipe and draw (seed, epochs, networks, meter types' balance)."""
    differ = [k for k in DRAW_KEYS if k in info and info[k] != getattr(args, k)]
    if not differ:
        return None
    said = ", ".join(f"--{k.replace('_', '-')} {info[k]}" for k in differ)
    return (
        f"the held-out model {args.heldout_out} was trained with {said}; train the "
        "shipped model with the same, or train both models again."
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--data",
        type=Path,
        nargs="+",
        default=default_data_dirs(),
        help="labelled crop folders; the first is the tests' set (held-out paths are relative to it)",
    )
    ap.add_argument("--out", type=Path, default=MODEL_PATH, help="the shipped model")
    ap.add_argument("--heldout-out", type=Path, default=None, help="the held-out model")
    ap.add_argument(
        "--split",
        choices=("maker", "photo"),
        default="maker",
        help="hold out whole makers (unseen meters) or single photos (seen meters)",
    )
    ap.add_argument(
        "--makers-draw",
        type=int,
        default=0,
        help="which makers to hold out (0: the published split; others hold out other "
        "meter types, to measure the reader on more unseen meters): trains a held-out "
        "model only, to the --heldout-out given",
    )
    ap.add_argument(
        "--heldout-only", action="store_true", help="train only the held-out model (faster)"
    )
    ap.add_argument(
        "--shipped-only",
        action="store_true",
        help="train only the shipped model; the held-out model already at --heldout-out "
        "(same recipe) gives its info, temperature and report",
    )
    ap.add_argument("--synthetic-frames", type=int, default=600)
    ap.add_argument("--synthetic-per-epoch", type=int, default=1500)
    ap.add_argument("--font-cells", type=int, default=6000, help="rendered digits (pool)")
    ap.add_argument("--blanks", type=int, default=150, help="drawn blank cells per epoch")
    ap.add_argument("--copies", type=int, default=1, help="variants of each real crop per epoch")
    ap.add_argument(
        "--type-balance",
        type=int,
        default=TYPE_BALANCE,
        help="each meter type gives √(n·B) crops an epoch (0: every crop once)",
    )
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--members", type=int, default=MEMBERS)
    ap.add_argument(
        "--seed",
        type=int,
        default=SEED,
        help="the draw: networks, synthetic cells and variants; compare a recipe over several",
    )
    args = ap.parse_args(argv)
    data = args.data[0]
    if not (data / "labels.csv").exists():
        print(f"train_digits: no labels.csv in {data}.", file=sys.stderr)
        return 2
    by_photo = args.split == "photo"
    if args.makers_draw and (by_photo or args.shipped_only or args.heldout_out is None):
        print(
            "train_digits: --makers-draw trains a held-out model by maker only, and needs "
            "--heldout-out (the published held-out model is draw 0).",
            file=sys.stderr,
        )
        return 2
    if args.heldout_out is None:
        args.heldout_out = HELDOUT_PHOTO_PATH if by_photo else HELDOUT_PATH
    held_info = held_out_info(args) if args.shipped_only else {}
    if isinstance(held_info, str):
        print(f"train_digits: {held_info}", file=sys.stderr)
        return 2
    try:
        import torch
    except ImportError:
        print(
            "train_digits: torch is not installed; training needs the train extra: "
            "pip install -e '.[train]'",
            file=sys.stderr,
        )
        return 2

    torch.set_num_threads(2)
    t0 = time.time()
    samples = load_collection(args.data)
    test_files = (
        split_by_photo(samples) if by_photo else split_by_maker(samples, draw=args.makers_draw)
    )
    args.heldout_only = args.heldout_only or by_photo or bool(args.makers_draw)
    train = [s for s in samples if s.file not in test_files]
    test = [s for s in samples if s.file in test_files]
    simgs, stargets = synthetic_cells(args.synthetic_frames, args.seed + 1)
    fimgs, ftargets = extra_cells(args.font_cells, args.seed + 2)
    synth = (simgs + fimgs, stargets + ftargets)
    print(
        f"{len(train)} real crops to train on, {len(test)} held out, "
        f"{len(simgs)} synthetic cells, {len(fimgs)} rendered digits ({time.time() - t0:.0f} s)",
        flush=True,
    )
    info = {
        "trained_on": "haverland/Tenth-of-step-of-a-meter-digit (Apache-2.0) + synthetic cells"
        + (" + digits rendered from free fonts" if fimgs else ""),
        "notice": NOTICE,
        "model": f"CNN ensemble: {args.members} × conv{list(CHANNELS)} + dense {HIDDEN} → "
        f"{N_OUT} (drum positions 0.0-9.9 and not-a-digit)",
        "input": "grey 32×20, per-image mean/std",
        "outputs": "positions100+N",
        "seed": args.seed,
        "held_out_by": (
            "photo (a quarter of each kind and category; their makers are seen in training)"
            if by_photo
            else "maker (per kind; LCD crops without a maker: by file)"
            + (
                f", draw {args.makers_draw} (makers grouped by meter type)"
                if args.makers_draw
                else ""
            )
        ),
        "held_out_files": sorted(test_files),
        "n_train_real": len(train),
        "n_test_real": len(test),
        "n_rendered": len(fimgs),
        "members": args.members,
        "epochs": args.epochs,
        "copies": args.copies,
        "type_balance": args.type_balance,
        "trained_on_all": False,
    }
    if args.shipped_only:
        info = held_info
    else:
        arrays = train_model(read_reals(data, train), synth, args, "held-out model")
        model = save(args.heldout_out, arrays, info)
        logits = held_out_logits(model, data, test)
        cal = calibrate(logits, test)
        info.update(cal)
        q = ensemble(logits, cal["temperature"])
        info["held_out_report"] = evaluate(q, test)
        save(args.heldout_out, arrays, info)
        print(json.dumps({k: info[k] for k in ("temperature", "ece_before", "ece_after")}))
        print(json.dumps(info["held_out_report"], indent=2, default=_plain))
        print(f"held-out model done in {time.time() - t0:.0f} s", flush=True)
    if not args.heldout_only:
        arrays = train_model(read_reals(data, samples), synth, args, "shipped model")
        info["n_train_real"] = len(samples)
        info["trained_on_all"] = True
        info["held_out_report_of"] = "bench/models/digits-heldout.npz (same recipe and seeds)"
        save(args.out, arrays, info)
    print(f"done in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
